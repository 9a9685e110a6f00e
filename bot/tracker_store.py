"""Rasa's Redis tracker store, made cheap for long conversations. Two layers:

`LinearMergeRedisTrackerStore`: stock `RedisTrackerStore` keys and JSON with a save-time merge
that is O(n) instead of O(n²) (below). `WindowedRedisTrackerStore` (what endpoints.yml
names): on top of it, Rasa is handed a bounded window of the latest session (a snapshot of
the state plus the recent events) and a save appends only the new events, so turn 200 costs
what turn 10 does; every event stays stored in the same JSON, so tools that read the stored
conversations (`rasa export`, Rasa's tracker API, the content team's `mine`) see everything.

Why: on every save Rasa 3.6 reads the stored tracker back and merges it with the live one
(`_merge_trackers`), because `retrieve` hands the processor only the latest session. Its
quick check ("are the stored events what the live tracker had at that time?") fails for
every conversation of ours: the first message carries metadata (the customer's token),
Rasa stores it as `SlotSet(session_started_metadata)` with an earlier timestamp than the
`action_session_start` it follows. The fallback then compares every live event with every
stored one through `as_dict()`: O(n²), about 2.4 million comparisons per save at 1,100
events, 3 s per turn at turn 200 (docs/performance.md).

This merge gives the same result (the stored events in their order, then each live event
whose `as_dict()` is not already among them, in live order) using a set of canonical JSON
keys: O(n).

It also keeps less: the customer's token (`metadata.customer_token`, which the channels put
on every message so that the actions of *that* turn can call core banking as the customer)
is never written to Redis, neither in the message nor in `session_started_metadata`. The
stored conversation keeps the verified `customer_id` and the `channel`; a token read from
Redis could be replayed until it expires. Events are compared without their tokens, so a
live event and its stored copy are the same event.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from pydantic import BaseModel

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.events import ActionExecuted, ActiveLoop, ConversationPaused, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker


# Metadata that proves who the customer is: used during the turn, never stored.
SECRET_METADATA_KEYS = frozenset({"customer_token"})
SESSION_METADATA_SLOT = "session_started_metadata"


def _without_secrets(metadata: Any) -> Any:
    if not isinstance(metadata, dict) or not SECRET_METADATA_KEYS & metadata.keys():
        return metadata
    return {k: v for k, v in metadata.items() if k not in SECRET_METADATA_KEYS}


def stored_form(event: Dict[str, Any]) -> Dict[str, Any]:
    """An event as it is stored: without the customer's token."""
    if event.get("event") == "user":
        if "metadata" in event:
            event = {**event, "metadata": _without_secrets(event["metadata"])}
        if isinstance(event.get("parse_data"), dict) and "metadata" in event["parse_data"]:
            event["parse_data"] = {**event["parse_data"], "metadata": _without_secrets(event["parse_data"]["metadata"])}
        return event
    if event.get("event") == "slot" and event.get("name") == SESSION_METADATA_SLOT:
        return {**event, "value": _without_secrets(event.get("value"))}
    return event


def stored_key(stored_event: Dict[str, Any]) -> str:
    """A canonical text form of an event as stored: equal dicts give equal keys."""
    return json.dumps(stored_event, sort_keys=True, ensure_ascii=False, default=str)


def event_key(event: Event) -> str:
    return stored_key(stored_form(event.as_dict()))


def new_events(stored: List[Event], live: List[Event]) -> List[Event]:
    """The live events that are not among the stored ones, in live order, each once."""
    seen = {event_key(event) for event in stored}
    fresh = []
    for event in live:
        key = event_key(event)
        if key not in seen:
            seen.add(key)
            fresh.append(event)
    return fresh


class LinearMergeRedisTrackerStore(RedisTrackerStore):
    """`RedisTrackerStore` whose save-time merge is O(n) instead of O(n²)."""

    @staticmethod
    def _merge_trackers(prior_tracker: DialogueStateTracker,
                        tracker: DialogueStateTracker) -> DialogueStateTracker:
        stored = list(prior_tracker.events)
        if not stored:
            return tracker
        live = list(tracker.events)
        # Quick check, cheaper than Rasa's replay: the live tracker already starts with
        # exactly what is stored (one session, nothing saved by anyone else meanwhile).
        if len(live) >= len(stored) and all(stored_form(a.as_dict()) == stored_form(b.as_dict())
                                            for a, b in zip(stored, live)):
            return tracker
        merged = tracker.init_copy()
        merged.update_with_events(stored + new_events(stored, live), override_timestamp=False, domain=None)
        return merged

    @staticmethod
    def serialise_tracker(tracker: DialogueStateTracker) -> str:
        dialogue = tracker.as_dialogue().as_dict()
        # Rasa's JSON; "events" last, so new events can be appended in place (WindowedRedisTrackerStore).
        return json.dumps({"name": dialogue.get("name"),
                           "events": [stored_form(event) for event in dialogue.get("events") or []]})


# -- long conversations: Rasa works on a window, Redis keeps everything -----------------------
# A 200-turn conversation is ~1,300 events. Rasa reads, replays, featurises, sends to the action
# server and writes the whole session on every turn, so turn 200 cost ×7 turn 1
# (docs/performance.md). The windowed store hands Rasa the session's recent events behind a
# snapshot of the state before them (slots, an active form, a pause) and appends only the new
# events to the stored conversation, which stays complete and in Rasa's own format.
WINDOW_MIN_EVENTS = 24    # what Rasa always gets at least (about 4 turns: what the policies look at)
WINDOW_MAX_EVENTS = 48    # past this the window moves on, to WINDOW_MIN_EVENTS
SESSION_START = "action_session_start"
LISTEN = "action_listen"
# These actions get the whole session (the handoff package carries the full transcript).
FULL_HISTORY_ACTIONS = frozenset({"action_handoff_to_human", "action_handoff_overseas_limit"})


class Window:
    """What a windowed tracker was built from, so its save appends exactly what is new.

    `stored`: the window's text in Redis when it was handed out (or written by this tracker's
    last save); a save that finds another text knows someone else saved meanwhile."""

    def __init__(self, store: "WindowedRedisTrackerStore", state: "WindowState", handed_out: int,
                 stored: str) -> None:
        self.store, self.state, self.handed_out, self.stored = store, state, handed_out, stored

    async def full_session(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker with the whole session instead of the window (for FULL_HISTORY_ACTIONS)."""
        return await self.store.full_session(tracker, self)


class StoredEnd(NamedTuple):
    """The last three characters and the length of a stored conversation's text (read in the
    same round trip as the window), where new events are appended."""

    tail: str
    length: int


def window_of(tracker: Any) -> Optional[Window]:
    return getattr(tracker, "_bank_window", None)


def _is_action(event: Dict[str, Any], name: str) -> bool:
    return event.get("event") == "action" and event.get("name") == name


def _latest_session_start(events: List[Dict[str, Any]]) -> Optional[int]:
    for index in range(len(events) - 1, -1, -1):
        if _is_action(events[index], SESSION_START):
            return index
    return None


def _session_start(events: List[Dict[str, Any]]) -> int:
    """Where the latest session begins (0 for a conversation without a session start)."""
    found = _latest_session_start(events)
    return 0 if found is None else found


def _turn_boundary(events: List[Dict[str, Any]], at_least: int) -> Optional[int]:
    """The first `action_listen` at or after `at_least`: a window starts where a turn does."""
    for index in range(max(at_least, 0), len(events)):
        if _is_action(events[index], LISTEN):
            return index
    return None


def _fresh(tracker: DialogueStateTracker, window: "Window") -> List[Dict[str, Any]]:
    """The events added to a handed-out tracker since, as they are stored."""
    return [stored_form(event.as_dict()) for event in list(tracker.events)[window.handed_out:]]


class WindowState(BaseModel):
    """`<prefix>:tracker-window:<id>`: the latest session as Rasa is handed it.

    `count`: events stored in the conversation when this was written; `prefix`: events that put
    a tracker in the state it had before `events` (the window: the session's latest events, a
    turn at least).

    Read and written on every turn, so the events (Rasa's own event dicts) go through `json`
    as they are: pydantic's validation and `.json()` copied every dict of the window and were
    half of a save's CPU in the live profile (docs/performance.md). The shape is still checked
    on every read."""

    count: int
    prefix: List[Dict[str, Any]] = []
    events: List[Dict[str, Any]] = []

    @classmethod
    def of(cls, count: int, events: List[Dict[str, Any]],
           prefix: Optional[List[Dict[str, Any]]] = None) -> "WindowState":
        """A state from lists this module made (event dicts from Rasa or from Redis, checked as
        read): not validated again, which copied every dict of the window on every save (2 %
        of Rasa's time in process, bench/turn_cpu.py under py-spy)."""
        return cls.construct(count=count, prefix=prefix or [], events=events)

    def to_redis(self) -> str:
        return json.dumps({"count": self.count, "prefix": self.prefix, "events": self.events})

    @classmethod
    def from_redis(cls, raw: str) -> Optional["WindowState"]:
        """The state, or None when the text is not a window (then it is rebuilt)."""
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("count"), int):
            return None
        lists = [data.get("prefix", []), data.get("events", [])]
        if not all(isinstance(items, list) and all(isinstance(e, dict) for e in items) for items in lists):
            return None
        return cls.construct(count=data["count"], prefix=lists[0], events=lists[1])


class WindowedRedisTrackerStore(LinearMergeRedisTrackerStore):
    """`LinearMergeRedisTrackerStore` that hands Rasa a bounded window of the latest session.

    Stored: the conversation as before (`<prefix>:tracker:<id>`, every event, Rasa's JSON with
    "events" last) and `<prefix>:tracker-window:<id>` (WindowState). `retrieve` reads only the
    window; `save` of a windowed tracker appends the new events to the stored conversation in
    place (SETRANGE: nothing already stored is read or written again) and moves the window on
    once it holds more than WINDOW_MAX_EVENTS. `retrieve_full_tracker` (Rasa's API, exports,
    the content team's mining) still returns every stored event. A tracker from anywhere else
    is saved with the linear merge, as before, and the window is rebuilt from it.
    """

    def _window_key(self, sender_id: str) -> str:
        return self.key_prefix.rstrip(":") + "-window:" + sender_id

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        raw = self.red.get(self._window_key(sender_id))
        state = WindowState.from_redis(raw) if raw else None
        if state is None:
            state, raw = self._rebuild_window(sender_id)
        if state is None:
            return None
        handed = state.prefix + state.events
        tracker = DialogueStateTracker.from_dict(sender_id, handed, self._slots())
        tracker._bank_window = Window(self, state, len(handed), raw)  # type: ignore[attr-defined]
        return tracker

    def _slots(self) -> Any:
        return self.domain.slots if self.domain else None

    def _rebuild_window(self, sender_id: str) -> Tuple[Optional[WindowState], str]:
        """The window from the stored conversation (written by something else, or never
        windowed), and its text as written."""
        stored = self.red.get(self.key_prefix + sender_id)
        if stored is None:
            return None, ""
        events: List[Dict[str, Any]] = json.loads(stored).get("events") or []
        start = _session_start(events)
        state = self._moved(sender_id, WindowState.of(len(events), events[start:]))
        return state, self._write(sender_id, state, [], StoredEnd(stored[-3:], len(stored.encode("utf-8"))), self.record_exp)

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        window = window_of(tracker)
        if window is None or window.store is not self:  # not handed out by this store: the merge
            await super().save(tracker, timeout)
            self.red.delete(self._window_key(tracker.sender_id))
            return
        # One round trip: the window as it is now, and the end of the stored conversation.
        key = self.key_prefix + tracker.sender_id
        pipe = self.red.pipeline(transaction=False)
        pipe.get(self._window_key(tracker.sender_id)).getrange(key, -3, -1).strlen(key)
        current, tail, length = pipe.execute()
        if current != window.stored:  # someone else saved this conversation since it was handed out
            self._save_after_another(tracker, window, timeout or self.record_exp)
            return
        await self.stream_events(tracker)
        fresh = _fresh(tracker, window)
        state = window.state
        if fresh:
            prefix, events = state.prefix, state.events + fresh
            new_session = _latest_session_start(fresh)
            if new_session is not None:  # the window starts with the new session
                prefix, events = [], fresh[new_session:]
            state = self._moved(tracker.sender_id,
                                WindowState.of(state.count + len(fresh), events, prefix))
        written = self._write(tracker.sender_id, state, fresh, StoredEnd(tail, length), timeout or self.record_exp)
        window.state, window.handed_out, window.stored = state, len(tracker.events), written

    def _save_after_another(self, tracker: DialogueStateTracker, window: Window, timeout: Optional[float]) -> None:
        """Someone else saved this conversation after it was handed out: its new events are
        appended unless already stored since (never twice), and the window is rebuilt."""
        key = self.key_prefix + tracker.sender_id
        stored = self.red.get(key)
        dialogue = json.loads(stored) if stored else {"name": tracker.sender_id, "events": []}
        events: List[Dict[str, Any]] = dialogue.get("events") or []
        since = {stored_key(e) for e in events[window.state.count:]}
        events += [e for e in _fresh(tracker, window) if stored_key(e) not in since]
        self.red.set(key, json.dumps({"name": dialogue.get("name"), "events": events}), ex=timeout)
        self.red.delete(self._window_key(tracker.sender_id))
        tracker._bank_window = None  # type: ignore[attr-defined]  # a second save merges

    def _write(self, sender_id: str, state: WindowState, fresh: List[Dict[str, Any]], end: "StoredEnd",
               timeout: Optional[float]) -> str:
        """Appends `fresh` to the stored conversation and writes the window (one transaction);
        returns the window's text."""
        key = self.key_prefix + sender_id
        written = state.to_redis()
        pipe = self.red.pipeline(transaction=True)
        if fresh:
            self._append(pipe, key, fresh, end)
        pipe.set(self._window_key(sender_id), written, ex=timeout)
        if timeout:
            pipe.expire(key, int(timeout))
        pipe.execute()
        return written

    def _append(self, pipe: Any, key: str, fresh: List[Dict[str, Any]], end: "StoredEnd") -> None:
        """Appends events to the stored `{..., "events": [...]}` without reading it back."""
        body = ", ".join(json.dumps(event) for event in fresh)
        if end.tail.endswith("]}"):
            separator = "" if end.tail == "[]}" else ", "
            pipe.setrange(key, end.length - 2, separator + body + "]}")
        else:  # not written by this store (events not last): rewritten once in its order
            dialogue = json.loads(self.red.get(key) or '{"events": []}')
            events = (dialogue.get("events") or []) + fresh
            pipe.set(key, json.dumps({"name": dialogue.get("name"), "events": events}))

    def _moved(self, sender_id: str, state: WindowState) -> WindowState:
        """The window moved on to WINDOW_MIN_EVENTS when it holds more than WINDOW_MAX_EVENTS."""
        if len(state.events) <= WINDOW_MAX_EVENTS:
            return state
        cut = _turn_boundary(state.events, len(state.events) - WINDOW_MIN_EVENTS)
        if not cut:
            return state
        before = DialogueStateTracker.from_dict(sender_id, state.prefix + state.events[:cut], self._slots())
        prefix = [event.as_dict() for event in self._snapshot(before, state.events[cut - 1].get("timestamp"))]
        return WindowState.of(state.count, state.events[cut:], prefix)

    @staticmethod
    def _snapshot(tracker: DialogueStateTracker, timestamp: Optional[float]) -> List[Event]:
        """Events that put a new tracker in the state `tracker` is in: the session start, the
        slots that differ from their initial values, an active form, a pause."""
        events: List[Event] = [ActionExecuted(SESSION_START, timestamp=timestamp), SessionStarted(timestamp=timestamp)]
        for name, slot in tracker.slots.items():
            if slot.value != slot.initial_value:
                events.append(SlotSet(name, slot.value, timestamp=timestamp))
        if tracker.active_loop_name:
            events.append(ActiveLoop(tracker.active_loop_name, timestamp=timestamp))
        if tracker.is_paused():
            events.append(ConversationPaused(timestamp=timestamp))
        return events

    async def full_session(self, tracker: DialogueStateTracker, window: Window) -> DialogueStateTracker:
        stored = self.red.get(self.key_prefix + tracker.sender_id)
        events: List[Dict[str, Any]] = (json.loads(stored).get("events") or []) if stored else []
        events = events[:window.state.count]
        unsaved = [event.as_dict() for event in list(tracker.events)[window.handed_out:]]
        return DialogueStateTracker.from_dict(tracker.sender_id, events[_session_start(events):] + unsaved,
                                              self._slots())
