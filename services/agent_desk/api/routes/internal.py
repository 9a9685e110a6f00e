"""Internal API for the bot side (Rasa handoff action / handoff connector), service token only."""
from __future__ import annotations

from fastapi import APIRouter, Response

from services.agent_desk import errors
from services.agent_desk.api.deps import BotService, DeskDep
from services.agent_desk.models import Agent
from services.agent_desk.schemas import (AckOut, ActiveHandoffOut, CustomerMessageIn, HandoffCreatedOut, HandoffIn,
                                         RatingIn)

router = APIRouter(prefix="/internal", tags=["internal"])


@router.post("/handoffs", response_model=HandoffCreatedOut, status_code=201,
             responses={200: {"model": HandoffCreatedOut, "description": "an open handoff already existed"}})
def register_handoff(body: HandoffIn, desk: DeskDep, bot: BotService, response: Response):
    r = desk.register(body)
    if not r.created:
        response.status_code = 200
    return HandoffCreatedOut(id=r.handoff.id, created=r.created, status=r.handoff.status, queue=r.handoff.queue,
                             queue_position=r.queue_position, estimated_wait_seconds=r.estimated_wait_seconds,
                             within_service_hours=r.within_service_hours, next_service_start=r.next_service_start,
                             message=r.message)


@router.post("/handoffs/{handoff_id}/customer-messages", response_model=AckOut, status_code=201,
             responses=errors.error_responses(409))
def customer_message(handoff_id: str, body: CustomerMessageIn, desk: DeskDep, bot: BotService):
    handoff = desk.customer_message(handoff_id, body.text, body.ts, body.suggestions)
    return AckOut(handoff_id=handoff.id, status=handoff.status)


@router.post("/handoffs/{handoff_id}/rating", response_model=AckOut)
def rating(handoff_id: str, body: RatingIn, desk: DeskDep, bot: BotService):
    handoff = desk.rate(handoff_id, body.rating, body.comment)
    return AckOut(handoff_id=handoff.id, status=handoff.status)


@router.get("/conversations/{conversation_id}/active-handoff", response_model=ActiveHandoffOut)
def active_handoff(conversation_id: str, desk: DeskDep, bot: BotService):
    handoff = desk.open_for_conversation(conversation_id)
    if handoff is None:
        raise errors.HandoffNotFound("该会话没有进行中的人工服务", code="no_active_handoff")
    position = desk.positions([handoff]).get(handoff.id)
    agent_name = None
    if handoff.claimed_by:
        agent = desk.session.query(Agent).filter(Agent.username == handoff.claimed_by).one_or_none()
        agent_name = agent.display_name if agent else None
    return ActiveHandoffOut(
        id=handoff.id, conversation_id=handoff.conversation_id, channel=handoff.channel, status=handoff.status,
        queue=handoff.queue, queue_position=position,
        estimated_wait_seconds=desk.estimated_wait(position) if handoff.status == "waiting" else None,
        claimed_by=handoff.claimed_by, agent_display_name=agent_name, created_at=handoff.created_at)
