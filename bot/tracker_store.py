"""Rasa's Redis tracker store with a save that stays linear in the conversation's length.

endpoints.yml names it (`tracker_store: type: bot.tracker_store.LinearMergeRedisTrackerStore`);
keys, values and every other method are stock `RedisTrackerStore`, so the stored
conversations are the same JSON as before and tools that read them (`rasa export`, the
content team's `mine`) are unaffected.

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
from typing import Any, Dict, List

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.events import Event
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


def event_key(event: Event) -> str:
    """A canonical text form of the stored `event.as_dict()`: equal dicts give equal keys."""
    return json.dumps(stored_form(event.as_dict()), sort_keys=True, ensure_ascii=False, default=str)


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
        dialogue["events"] = [stored_form(event) for event in dialogue.get("events") or []]
        return json.dumps(dialogue)
