"""The custom actions that only read: safe to run for a suggested reply.

While a person has a conversation, the assistant works out what it would answer each
customer message (bot/suggestions.py) by running its own next actions on a copy of the
tracker that is never saved. Responses (`utter_*`) only render text. A custom action may
run for a suggestion only if it is listed here: it reads core banking or content tables and
changes nothing outside the tracker it returns events for. Freezing a card, filing a
complaint or a limit raise, handing off, storing a rating and the forms are never run.

The action server applies the same list a second time (actions/registry.py), because the
dialogue actions run other actions by the names in data/knowledge/topics.yml.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

READ_ONLY_ACTIONS = frozenset({
    "action_answer_topic",
    "action_follow_up",
    "action_next_step",
    "action_answer_raise_limit",
    "action_my_transfer_limits",
    "action_check_balance",
    "action_check_transfer_status",
    "action_loan_materials",
    "action_check_loan_status",
    "action_check_complaint_status",
})
RESPONSE_PREFIX = "utter_"
# Set in the metadata of the customer message a suggestion is worked out for.
PREVIEW_METADATA_KEY = "suggestion_preview"


def may_run_for_suggestion(action_name: str) -> bool:
    return action_name.startswith(RESPONSE_PREFIX) or action_name in READ_ONLY_ACTIONS


def is_preview(latest_message: Optional[Mapping[str, Any]]) -> bool:
    """Whether the message being answered is a suggestion's copy (rasa_sdk's latest_message)."""
    metadata = (latest_message or {}).get("metadata") or {}
    return bool(metadata.get(PREVIEW_METADATA_KEY))
