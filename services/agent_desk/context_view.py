"""The handoff's context in the agent's language: the same labels the bot's summary uses.

Labels come from the content tables (data/knowledge/context_labels.yml and intents.yml via
actions/context_labels.py). A table the desk cannot read does not take the desk down: the
raw names are shown and the problem is logged once. What the desk calls a customer who is not
logged in is wording.yml's `desk_anonymous_name` (services/agent_desk/wording.py, same rule).
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Callable, Dict, List, Mapping, Optional

from services.agent_desk.wording import fragment

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _labels() -> Optional[Any]:
    try:
        from actions import context_labels
    except Exception as exc:  # a broken content table (KnowledgeError) or a missing file
        log.error("context labels unavailable, showing raw slot and intent names: %s", exc)
        return None
    return context_labels


def collected(slots: Mapping[str, Any]) -> List[Dict[str, str]]:
    labels = _labels()
    if labels is None:
        return [{"name": k, "label": k, "value": str(v)} for k, v in slots.items() if v not in (None, "")]
    return [shown._asdict() for shown in labels.shown_slots(slots)]


def intent_label(intent: str) -> str:
    labels = _labels()
    label: Callable[[str], str] = labels.intent_label if labels is not None else str
    return label(intent) if intent else ""


def customer_name(customer_id: Optional[str], display_name: str) -> str:
    """What the desk calls the customer: their masked name, or `desk_anonymous_name` when not logged in."""
    return display_name if customer_id else fragment("desk_anonymous_name")
