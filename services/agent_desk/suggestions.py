"""Suggested replies: what the assistant would answer a customer message while a person has
the conversation, and what the agent did with each (used as it was, edited, ignored).

The bot side (bot/suggestions.py) sends them with the customer's message; the desk keeps
them beside the message, shows the ones of the newest unanswered message, and decides their
outcome when the agent replies (with or without one of them) or closes the handoff. The
outcome is per customer message: one used or edited suggestion makes the message "used" /
"edited"; a message answered otherwise is "ignored" (report.py counts them).
"""
from __future__ import annotations

from datetime import datetime
from typing import List, Optional, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.agent_desk import errors
from services.agent_desk.models import Message, Suggestion
from services.agent_desk.redact import mask
from services.agent_desk.schemas import SuggestionIn

SHOWN, USED, EDITED, IGNORED = "shown", "used", "edited", "ignored"


def record(session: Session, message: Message, suggestions: Sequence[SuggestionIn]) -> List[Suggestion]:
    """Stores a new customer message's suggestions; the older undecided ones are ignored now."""
    settle_pending(session, message.handoff_id, message.ts)
    rows = [Suggestion(handoff_id=message.handoff_id, message_id=message.id, rank=rank, intent=s.intent,
                       confidence=round(s.confidence, 4), text=mask(s.text), outcome=SHOWN)
            for rank, s in enumerate(suggestions, start=1)]
    session.add_all(rows)
    return rows


def pending(session: Session, handoff_id: str) -> List[Suggestion]:
    """The suggestions the agent has not acted on: those of the newest customer message."""
    return list(session.execute(
        select(Suggestion).where(Suggestion.handoff_id == handoff_id, Suggestion.outcome == SHOWN)
        .order_by(Suggestion.message_id.desc(), Suggestion.rank)).scalars())


def decide(session: Session, handoff_id: str, suggestion_id: Optional[int], sent_text: str,
           reply: Message) -> Optional[str]:
    """The agent replied: with a suggestion (used / edited) or with their own words."""
    if suggestion_id is None:
        settle_pending(session, handoff_id, reply.ts, reply.id)
        return None
    chosen = session.get(Suggestion, suggestion_id)
    if chosen is None or chosen.handoff_id != handoff_id:
        raise errors.SuggestionNotFound()
    outcome = USED if _same(sent_text, chosen.text) else EDITED
    if chosen.outcome in (SHOWN, IGNORED):  # sent after a newer message came: still used
        chosen.outcome, chosen.decided_at, chosen.reply_message_id = outcome, reply.ts, reply.id
    # The other suggestions for the same message were not chosen.
    session.execute(update(Suggestion).where(
        Suggestion.message_id == chosen.message_id, Suggestion.id != chosen.id, Suggestion.outcome == SHOWN)
        .values(outcome=IGNORED, decided_at=reply.ts).execution_options(synchronize_session=False))
    return outcome


def settle_pending(session: Session, handoff_id: str, at: datetime, reply_id: Optional[int] = None) -> None:
    """Every undecided suggestion of the handoff is ignored (a reply of the agent's own, a newer
    customer message, the handoff closing)."""
    session.execute(update(Suggestion).where(Suggestion.handoff_id == handoff_id, Suggestion.outcome == SHOWN)
                    .values(outcome=IGNORED, decided_at=at, reply_message_id=reply_id)
                    .execution_options(synchronize_session=False))


def _same(sent: str, suggested: str) -> bool:
    return " ".join(sent.split()) == " ".join(suggested.split())
