"""Agent API: the queue, one conversation, and what an agent does with it."""
from __future__ import annotations

from typing import List, Optional

from fastapi import APIRouter, Path, Query

from services.agent_desk.api.deps import CurrentAgent, DeskDep, Supervisor
from services.agent_desk.context_view import collected, intent_label
from services.agent_desk.models import Suggestion
from services.agent_desk.schemas import (AuditEventOut, CloseIn, CustomerPanelOut, DeliveryOut, HandoffDetailOut,
                                         HandoffSummaryOut, MessageIn, SuggestionOut, TranscriptEntryOut,
                                         TransferIn)
from services.agent_desk.service import Actor, HandoffDesk, to_summary

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"])


def detail_of(desk: HandoffDesk, handoff_id: str, viewer: Optional[Actor] = None) -> HandoffDetailOut:
    handoff = desk.get(handoff_id, viewer)
    now = desk.clock()
    position = desk.positions([handoff]).get(handoff.id)
    last = handoff.messages[-1].text if handoff.messages else None
    return HandoffDetailOut(
        **to_summary(handoff, now, position, last),
        transcript=[TranscriptEntryOut.from_orm(m) for m in handoff.messages],
        nlu=[dict(n, intent_label=intent_label(n.get("intent", ""))) for n in handoff.nlu or []],
        slots=handoff.slots or {}, collected=collected(handoff.slots or {}), summary=handoff.summary,
        rating=handoff.rating,
        resolution=handoff.resolution, back_to_bot=handoff.back_to_bot, closed_by=handoff.closed_by,
        estimated_wait_seconds=desk.estimated_wait(position) if handoff.status == "waiting" else None,
        deliveries=[DeliveryOut.from_orm(d) for d in desk.close_deliveries(handoff.id)],
        disposition=handoff.wrap_up.disposition if handoff.wrap_up else None,
        suggestions=[suggestion_out(s) for s in desk.pending_suggestions(handoff.id)]
        if handoff.status == "active" else [])


def suggestion_out(suggestion: Suggestion) -> SuggestionOut:
    return SuggestionOut(id=suggestion.id, message_id=suggestion.message_id, rank=suggestion.rank,
                         intent=suggestion.intent, intent_label=intent_label(suggestion.intent),
                         confidence=suggestion.confidence, text=suggestion.text, outcome=suggestion.outcome)


@router.get("", response_model=List[HandoffSummaryOut])
def list_handoffs(desk: DeskDep, agent: CurrentAgent,
                  status: str = Query("waiting", regex="^(waiting|active|closed)$"),
                  queue: Optional[str] = Query(None, max_length=32),
                  mine: bool = Query(False, description="only handoffs claimed by me (status=active)")):
    handoffs = desk.list(status, queue)
    viewer = Actor.of(agent)
    if mine:
        handoffs = [h for h in handoffs if h.claimed_by == agent.username]
    handoffs = desk.readable(handoffs, viewer)  # other queues, others' conversations: supervisors only
    positions = desk.positions(handoffs)
    last = desk.last_messages([h.id for h in handoffs])
    now = desk.clock()
    items = [HandoffSummaryOut(**to_summary(h, now, positions.get(h.id), last.get(h.id))) for h in handoffs]
    if status == "waiting":  # the Redis order (priority, then waiting time) per queue
        items.sort(key=lambda i: (i.queue_position or 10 ** 9, -i.priority, i.waiting_since))
    return items


@router.get("/{handoff_id}", response_model=HandoffDetailOut)
def get_handoff(handoff_id: str, desk: DeskDep, agent: CurrentAgent):
    return detail_of(desk, handoff_id, Actor.of(agent))


@router.get("/{handoff_id}/customer", response_model=CustomerPanelOut)
def customer_panel(handoff_id: str, desk: DeskDep, agent: CurrentAgent):
    """The handoff's customer from core banking (read-only, masked, audited); nothing for anonymous ones."""
    return desk.customer_panel(handoff_id, Actor.of(agent))


@router.post("/{handoff_id}/claim", response_model=HandoffDetailOut)
def claim(handoff_id: str, desk: DeskDep, agent: CurrentAgent):
    desk.claim(handoff_id, Actor.of(agent))
    return detail_of(desk, handoff_id)


@router.post("/{handoff_id}/messages", response_model=TranscriptEntryOut, status_code=201)
def reply(handoff_id: str, body: MessageIn, desk: DeskDep, agent: CurrentAgent):
    return TranscriptEntryOut.from_orm(desk.reply(handoff_id, Actor.of(agent), body.text, body.suggestion_id))


@router.post("/{handoff_id}/close", response_model=HandoffDetailOut)
def close(handoff_id: str, body: CloseIn, desk: DeskDep, agent: CurrentAgent):
    desk.close(handoff_id, Actor.of(agent), body.resolution, body.back_to_bot, body.then, wrap_up=body)
    return detail_of(desk, handoff_id)


@router.post("/{handoff_id}/transfer", response_model=HandoffDetailOut)
def transfer(handoff_id: str, body: TransferIn, desk: DeskDep, agent: CurrentAgent):
    desk.transfer(handoff_id, Actor.of(agent), body.queue, body.note)
    return detail_of(desk, handoff_id)


@router.post("/{handoff_id}/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
def retry_delivery(handoff_id: str, desk: DeskDep, agent: CurrentAgent,
                   delivery_id: int = Path(..., ge=1, le=2 ** 31 - 1)):
    """Sends a failed callback (reply or close event) to the bot side again."""
    return DeliveryOut.from_orm(desk.retry_delivery(handoff_id, delivery_id, Actor.of(agent)))


@router.get("/{handoff_id}/audit", response_model=List[AuditEventOut])
def audit(handoff_id: str, desk: DeskDep, supervisor: Supervisor):
    return [AuditEventOut.from_orm(e) for e in desk.audit_log(handoff_id)]
