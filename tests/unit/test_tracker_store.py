"""The linear tracker merge gives exactly what Rasa's own O(n²) merge gives."""
from __future__ import annotations

from typing import List

import pytest
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import LinearMergeRedisTrackerStore, new_events

T0 = 1_700_000_000.0


def session_start(at: float, token: str = "tok") -> List[Event]:
    """What Rasa writes when a message with metadata opens a session: the SlotSet is
    stamped before the action_session_start it follows (the cause of the slow merge)."""
    return [
        ActionExecuted("action_session_start", timestamp=at + 0.002),
        SessionStarted(timestamp=at + 0.003),
        SlotSet("session_started_metadata", {"customer_token": token}, timestamp=at + 0.001),
        ActionExecuted("action_listen", timestamp=at + 0.004),
    ]


def turn(at: float, text: str) -> List[Event]:
    return [
        UserUttered(text, {"name": "check_balance", "confidence": 0.9}, timestamp=at),
        ActionExecuted("action_check_balance", timestamp=at + 0.01),
        BotUttered(f"答：{text}", timestamp=at + 0.02),
        ActionExecuted("action_listen", timestamp=at + 0.03),
    ]


def tracker(events: List[Event]) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("c1", events, slots=[])


def dicts(result: DialogueStateTracker) -> List[dict]:
    return [event.as_dict() for event in result.events]


def both_merges(stored: List[Event], live: List[Event]):
    rasa = RedisTrackerStore._merge_trackers(tracker(stored), tracker(live))
    ours = LinearMergeRedisTrackerStore._merge_trackers(tracker(stored), tracker(live))
    return dicts(rasa), dicts(ours)


def conversation(turns: int, start: float = T0) -> List[Event]:
    events = session_start(start)
    for i in range(turns):
        events += turn(start + 1 + i, f"第{i}句")
    return events


CASES = {
    # the live tracker is the stored one plus a turn
    "appended turn": (conversation(3), conversation(4)),
    # stored order differs from live order (session_started_metadata), plus new turns
    "reordered session start": (
        conversation(2),
        [conversation(2)[i] for i in (0, 2, 1, 3)] + conversation(2)[4:] + turn(T0 + 10, "新的一句"),
    ),
    # retrieve() gave only the latest session: earlier sessions must survive the save
    "earlier session kept": (
        conversation(2, T0) + conversation(1, T0 + 100),
        conversation(1, T0 + 100) + turn(T0 + 200, "再问一句"),
    ),
    # someone else saved a turn meanwhile (e.g. an event posted through the HTTP API)
    "concurrent writer": (
        conversation(2) + turn(T0 + 50, "另一处写入"),
        conversation(2) + turn(T0 + 60, "本次的话"),
    ),
    "nothing stored yet": ([], conversation(1)),
    "nothing new": (conversation(2), conversation(2)),
}


@pytest.mark.parametrize("stored, live", CASES.values(), ids=list(CASES))
def test_linear_merge_equals_rasas_merge(stored, live):
    rasa, ours = both_merges(stored, live)
    assert ours == rasa


def test_earlier_sessions_and_new_turns_are_all_kept():
    stored = conversation(2, T0) + conversation(1, T0 + 100)
    live = conversation(1, T0 + 100) + turn(T0 + 200, "再问一句")
    merged = dicts(LinearMergeRedisTrackerStore._merge_trackers(tracker(stored), tracker(live)))
    texts = [e.get("text") for e in merged if e["event"] == "user"]
    assert texts == ["第0句", "第1句", "第0句", "再问一句"]
    assert len(merged) == len(stored) + 4


def test_new_events_keeps_live_order_and_drops_repeats():
    stored = turn(T0, "一")
    repeated = turn(T0 + 5, "二")
    assert new_events(stored, stored + repeated + repeated) == repeated


def test_the_customer_token_is_never_stored():
    """The token proves who the customer is during the turn; Redis keeps only the verified id."""
    live = session_start(T0, token="secret.jwt.value") + [
        UserUttered("查余额", {"name": "check_balance", "confidence": 0.9}, timestamp=T0 + 1,
                    metadata={"customer_token": "secret.jwt.value", "customer_id": "C1003", "channel": "rest"})]
    stored_text = LinearMergeRedisTrackerStore.serialise_tracker(tracker(live))
    assert "secret.jwt.value" not in stored_text and "customer_token" not in stored_text
    assert '"customer_id": "C1003"' in stored_text
    stored = LinearMergeRedisTrackerStore(domain=None).deserialise_tracker("c1", stored_text)
    # The next turn's live tracker (stored events + a new message with its token) merges
    # without duplicating the stored events.
    next_live = list(stored.events) + turn(T0 + 5, "再问一句")
    merged = LinearMergeRedisTrackerStore._merge_trackers(stored, tracker(list(live) + turn(T0 + 5, "再问一句")))
    assert len(merged.events) == len(next_live)
