"""Call the real action server the way Rasa does: a tracker state built from real events."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, List, Optional

import requests

from bot.settings import PROJECT_ROOT


@lru_cache(maxsize=1)
def domain():
    from rasa.shared.core.domain import Domain

    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def user_event(text: str, intent: str, token: Optional[str] = None, entities: Optional[List[dict]] = None,
               confidence: float = 0.98):
    from rasa.shared.core.events import UserUttered

    metadata = {"customer_token": token, "channel": "app"} if token else {}
    return UserUttered(text, {"name": intent, "confidence": confidence}, entities or [],
                       {"intent": {"name": intent, "confidence": confidence}, "entities": entities or [],
                        "text": text}, metadata=metadata)


def tracker_state(sender_id: str, events: List[Any], slots: Optional[Dict[str, Any]] = None) -> dict:
    from rasa.shared.core.events import ActionExecuted, SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    all_events = [ActionExecuted("action_listen")] + list(events) + [SlotSet(k, v) for k, v in (slots or {}).items()]
    tracker = DialogueStateTracker.from_events(sender_id, all_events, slots=domain().slots)
    return tracker.current_state(EventVerbosity.AFTER_RESTART)


def call_action(actions_url: str, name: str, sender_id: str, events: List[Any],
                slots: Optional[Dict[str, Any]] = None, timeout: float = 15) -> dict:
    body = {"next_action": name, "sender_id": sender_id, "tracker": tracker_state(sender_id, events, slots),
            "domain": domain().as_dict(), "version": "3.6.21"}
    response = requests.post(f"{actions_url}/webhook", json=body, timeout=timeout)
    response.raise_for_status()
    return response.json()


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def rendered(response: dict) -> str:
    """What the customer reads: a plain text, or a domain response filled with the values the
    action passed (as Rasa's NLG fills them), so tests check facts, not template names."""
    if response.get("text"):
        return response["text"]
    name = response.get("response") or response.get("template")
    if not name:
        return ""
    variants = domain().responses.get(name) or [{}]
    template = variants[0].get("text") or ""
    return _PLACEHOLDER.sub(lambda m: str(response.get(m.group(1), m.group(0))), template)


def texts(result: dict) -> str:
    return "\n".join(rendered(r) for r in result.get("responses", []))


def templates(result: dict) -> List[str]:
    return [r.get("response") or r.get("template") for r in result.get("responses", []) if r.get("response") or r.get("template")]


def slot_events(result: dict) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in result.get("events", []) if e.get("event") == "slot"}
