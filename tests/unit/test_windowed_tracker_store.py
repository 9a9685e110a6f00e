"""The windowed tracker store (bot/tracker_store.py) against a real Redis: Rasa gets a bounded
window in the state a full replay gives, and every event stays stored exactly once."""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Iterator, List
from urllib.parse import urlparse

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActiveLoop, BotUttered, ConversationPaused, Event,
                                     SessionStarted, SlotSet, UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import WINDOW_MAX_EVENTS, WindowedRedisTrackerStore, stored_form, window_of
from tests.services.agent_desk.harness import RedisForTests

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WindowedRedisTrackerStore]:
    redis = RedisForTests(tmp_path_factory.mktemp("redis"))
    url = urlparse(redis.url)
    prefix = "csbottest" + uuid.uuid4().hex[:10]
    found = WindowedRedisTrackerStore(Domain.load(str(ROOT / "domain.yml")), host=url.hostname, port=url.port,
                                      db=0, key_prefix=prefix)
    yield found
    for key in found.red.keys(prefix + "*"):
        found.red.delete(key)
    redis.stop()


def session_start(at: float) -> List[Event]:
    return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at + 0.001),
            SlotSet("session_started_metadata", {"channel": "app", "customer_token": "secret"}, timestamp=at + 0.002),
            ActionExecuted("action_listen", timestamp=at + 0.003)]


def turn(i: int) -> List[Event]:
    at = T0 + 10 + i
    events: List[Event] = [UserUttered(f"第{i}句", {"name": "ask_transfer_limit", "confidence": 0.9},
                                       metadata={"customer_token": "secret", "customer_id": "C1001"}, timestamp=at),
                           SlotSet("topic", f"topic{i % 7}", timestamp=at + 0.01)]
    if i == 40:
        events += [ActiveLoop("complaint_form", timestamp=at + 0.02), SlotSet("requested_slot", "complaint_description",
                                                                              timestamp=at + 0.03)]
    if i == 90:
        events += [SlotSet("complaint_description", "排队两个小时", timestamp=at + 0.02)]
    if i == 250:
        events += [ConversationPaused(timestamp=at + 0.02)]
    events += [ActionExecuted("action_answer_topic", timestamp=at + 0.04), BotUttered(f"答{i}", timestamp=at + 0.05),
               ActionExecuted("action_listen", timestamp=at + 0.06)]
    return events


run = asyncio.run


def _stored(event: Event) -> dict:
    return stored_form(event.as_dict())


def test_a_long_session_is_handed_to_rasa_as_a_window_in_the_state_a_full_replay_gives(store):
    sender = "long-" + uuid.uuid4().hex[:8]
    first = DialogueStateTracker.from_events(sender, session_start(T0), store.domain.slots)
    run(store.save(first))  # a new conversation: no window yet, the ordinary save
    everything: List[Event] = session_start(T0)
    handed_sizes = []
    for i in range(300):
        tracker = run(store.retrieve(sender))
        handed_sizes.append(len(tracker.events))
        new = turn(i)
        for event in new:
            tracker.update(event, store.domain)
        everything += new
        run(store.save(tracker))

    assert max(handed_sizes) <= WINDOW_MAX_EVENTS + 40 and handed_sizes[-1] < len(everything) / 4
    full = run(store.retrieve_full_tracker(sender))
    assert [e.as_dict() for e in full.events] == [_stored(e) for e in everything]  # all, once, in order
    assert "secret" not in store.red.get(store.key_prefix + sender)
    assert "secret" not in (store.red.get(store._window_key(sender)) or "")

    windowed = run(store.retrieve(sender))
    reference = DialogueStateTracker.from_events(sender, list(full.events), store.domain.slots)
    assert windowed.current_slot_values() == reference.current_slot_values()
    assert windowed.current_slot_values()["complaint_description"] == "排队两个小时"  # set 210 turns ago
    assert windowed.active_loop_name == "complaint_form" and windowed.is_paused()
    assert windowed.latest_message.text == "第299句"

    whole = run(window_of(windowed).full_session(windowed))  # what the handoff actions get
    assert [e.as_dict() for e in whole.events] == [e.as_dict() for e in full.events]


def test_a_tracker_saved_meanwhile_by_someone_else_loses_nothing_and_doubles_nothing(store):
    sender = "race-" + uuid.uuid4().hex[:8]
    run(store.save(DialogueStateTracker.from_events(sender, session_start(T0), store.domain.slots)))
    for i in range(30):  # long enough for the window to have moved: the trackers hold a snapshot
        tracker = run(store.retrieve(sender))
        for event in turn(i):
            tracker.update(event)
        run(store.save(tracker))
    one, other = run(store.retrieve(sender)), run(store.retrieve(sender))
    assert any(isinstance(e, SessionStarted) for e in list(one.events)[:3])  # the snapshot
    for event in turn(30):
        one.update(event)
    run(store.save(one))
    for event in turn(30) + turn(31):  # the same turn again, and a turn of its own
        other.update(event)
    run(store.save(other))
    full = run(store.retrieve_full_tracker(sender)).events
    texts = [e.text for e in full if isinstance(e, UserUttered)]
    assert texts == [f"第{i}句" for i in range(32)]  # nothing twice, nothing lost
    assert sum(isinstance(e, SessionStarted) for e in full) == 1  # no snapshot event stored
    assert run(store.retrieve(sender)).latest_message.text == "第31句"


def test_a_new_session_starts_a_new_window(store):
    sender = "sessions-" + uuid.uuid4().hex[:8]
    run(store.save(DialogueStateTracker.from_events(sender, session_start(T0), store.domain.slots)))
    for i in range(80):
        tracker = run(store.retrieve(sender))
        for event in turn(i):
            tracker.update(event)
        run(store.save(tracker))
    tracker = run(store.retrieve(sender))
    for event in session_start(T0 + 5000) + turn(500):
        tracker.update(event)
    run(store.save(tracker))
    latest = run(store.retrieve(sender))
    assert [e.text for e in latest.events if isinstance(e, UserUttered)] == ["第500句"]  # only the new session
    assert len(run(store.retrieve_full_tracker(sender)).events) == 4 + 80 * 5 + 2 + 4 + 5  # nothing lost


def test_a_window_that_is_not_one_is_rebuilt_from_the_stored_conversation(store):
    """The window is read with a shape check, not pydantic's validation: text that is not a
    window (broken JSON, a wrong shape) is rebuilt from the conversation, nothing is lost."""
    sender = "broken-" + uuid.uuid4().hex[:8]
    run(store.save(DialogueStateTracker.from_events(sender, session_start(T0), store.domain.slots)))
    for i in range(3):
        tracker = run(store.retrieve(sender))
        for event in turn(i):
            tracker.update(event)
        run(store.save(tracker))
    for broken in ('{"count": 7, "events": [', '{"count": "7", "events": []}', '{"count": 7, "events": [1]}', "[]"):
        store.red.set(store._window_key(sender), broken)
        tracker = run(store.retrieve(sender))
        assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["第0句", "第1句", "第2句"]
    for event in turn(3):
        tracker.update(event)
    run(store.save(tracker))
    texts = [e.text for e in run(store.retrieve_full_tracker(sender)).events if isinstance(e, UserUttered)]
    assert texts == [f"第{i}句" for i in range(4)]
