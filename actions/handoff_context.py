"""The context package an agent receives: built from the tracker, with numbers masked.

Transcript (customer, bot and earlier agent turns), what the NLU understood on every
customer turn, the slots collected so far, why the bot handed over, and a one-paragraph
summary, so the agent asks the customer nothing they already said.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional

from actions.agent_desk_client import CustomerContext, HandoffRequest, NluEntry, TranscriptEntry
from actions.context_labels import intent_label, shown_slots
from actions.knowledge import fragment, joined
from bot.handoff_rules import HandoffReason
from bot.masking import mask_text

MAX_TRANSCRIPT_ENTRIES = 200
# Slots that describe the bot's own bookkeeping, not the customer's case.
INTERNAL_SLOTS = frozenset({"requested_slot", "handoff_id", "handoff_reason", "session_started_metadata",
                            "csat_rating"})


def current_session(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index + 1:]
    return events


def _timestamp(event: Mapping[str, Any]) -> Optional[datetime]:
    ts = event.get("timestamp")
    return datetime.fromtimestamp(ts, tz=timezone.utc) if isinstance(ts, (int, float)) else None


def transcript(events: Iterable[Mapping[str, Any]]) -> List[TranscriptEntry]:
    entries = []
    for event in events:
        if event.get("event") == "user" and event.get("text"):
            entries.append(TranscriptEntry(role="customer", text=mask_text(event["text"]), ts=_timestamp(event)))
        elif event.get("event") == "bot" and event.get("text"):
            role = "agent" if (event.get("metadata") or {}).get("agent") else "bot"
            entries.append(TranscriptEntry(role=role, text=mask_text(event["text"]), ts=_timestamp(event)))
    return entries[-MAX_TRANSCRIPT_ENTRIES:]


def nlu_trail(events: Iterable[Mapping[str, Any]]) -> List[NluEntry]:
    trail = []
    for event in events:
        if event.get("event") != "user" or not event.get("text"):
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        trail.append(NluEntry(text=mask_text(event["text"]), intent=intent.get("name") or "",
                              confidence=round(float(intent.get("confidence") or 0.0), 4)))
    return trail[-100:]


def case_slots(slots: Mapping[str, Any]) -> Dict[str, Any]:
    return {name: mask_text(value) if isinstance(value, str) else value
            for name, value in slots.items()
            if name not in INTERNAL_SLOTS and value not in (None, "", [], {})}


def summarize(nlu: List[NluEntry], slots: Mapping[str, Any], reason: HandoffReason,
              customer: CustomerContext) -> str:
    topics: List[str] = []
    for entry in nlu:
        label = intent_label(entry.intent) if entry.intent else ""
        if label and label != entry.intent and entry.intent not in ("greet", "affirm", "deny", "thank", "nlu_fallback") and label not in topics:
            topics.append(label)
    who = fragment("desk_summary_who_with_segment", segment=customer.segment) if customer.segment \
        else fragment("desk_summary_who")
    parts = [fragment("desk_summary_topics", who=who,
                      topics=joined(topics) if topics else fragment("desk_summary_no_topic"))]
    shown = shown_slots(slots)
    if shown:
        collected = joined((fragment("desk_summary_slot", label=s.label, value=s.value) for s in shown),
                           "desk_summary_slot_separator")
        parts.append(fragment("desk_summary_collected", slots=collected))
    parts.append(fragment("desk_summary_reason", reason=reason.label))
    return "".join(parts)


def build_handoff_request(*, conversation_id: str, channel: str, events: List[Dict[str, Any]],
                          slots: Mapping[str, Any], reason: HandoffReason,
                          customer: CustomerContext) -> HandoffRequest:
    session = current_session(events)
    nlu = nlu_trail(session)
    collected = case_slots(slots)
    return HandoffRequest(
        conversation_id=conversation_id,
        channel=channel,
        reason=reason.label,
        priority=reason.priority,
        customer=customer,
        transcript=transcript(session),
        nlu=nlu,
        slots=collected,
        summary=summarize(nlu, collected, reason, customer),
    )
