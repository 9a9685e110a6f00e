"""action_hand_back: what the bot does after the agent hands the conversation back."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandBack


def hand_back(then: Optional[str], paused_form: Optional[str] = None) -> tuple:
    entities = [{"entity": "hand_back_to", "value": then}] if then else []
    latest = {"intent": {"name": "handed_back", "confidence": 1.0}, "entities": entities, "text": None}
    tracker = Tracker("c-1", {"paused_form": paused_form}, latest, [], False, None, None, "action_listen")
    dispatcher = CollectingDispatcher()
    events: List[Dict[str, Any]] = asyncio.run(ActionHandBack().run(dispatcher, tracker, {}))
    return [m.get("response") for m in dispatcher.messages], dispatcher.messages, events


def test_continue_form_resumes_the_form_the_customer_left():
    responses, messages, events = hand_back("continue_form", paused_form="complaint_form")
    assert responses == ["utter_handed_back_to_form"] and messages[0]["form_label"] == "投诉登记"
    assert {"event": "followup", "name": "complaint_form", "timestamp": None} in events
    assert {"event": "slot", "name": "paused_form", "value": None, "timestamp": None} in events


def test_continue_form_without_a_form_just_says_the_bot_is_back():
    responses, _, events = hand_back("continue_form", paused_form=None)
    assert responses == ["utter_handed_back"] and not [e for e in events if e["event"] == "followup"]


def test_limit_raise_starts_the_form_and_drops_any_paused_one():
    responses, _, events = hand_back("limit_raise", paused_form="complaint_form")
    assert responses == ["utter_handed_back_to_limit_raise"]
    assert [e["name"] for e in events if e["event"] == "followup"] == ["limit_raise_form"]
    assert {"event": "slot", "name": "paused_form", "value": None, "timestamp": None} in events


def test_nothing_or_an_unknown_choice_says_one_sentence():
    for then in ("nothing", None, "something-else"):
        responses, _, events = hand_back(then, paused_form="card_lost_form")
        assert responses == ["utter_handed_back"], then
        assert [e["event"] for e in events] == ["slot"]
