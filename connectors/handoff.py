"""The handoff connector: routes a conversation to the agent desk and back.

Customer -> desk: every customer-facing channel (REST, app, WeChat) wraps Rasa's
`on_new_message` with `with_handoff_routing()`. While the conversation is with a person
(bot/handoff_route.py), the customer's words are forwarded to the desk together with up to
three replies the assistant would give (bot/suggestions.py), for the agent to send, edit or
ignore; they still go on to Rasa, which records them in the tracker (the conversation is
paused, so the bot does not answer).

Desk -> customer: the desk calls this channel (Bearer AGENT_DESK_SERVICE_TOKEN):
  POST /webhooks/handoff/agent_message {handoff_id, conversation_id, channel, text, agent}
       the agent's reply goes out through the customer's own channel (app push, WeChat
       customer-service API, REST outbox) and is recorded in the tracker as a bot turn
       with metadata {"agent": ..., "handoff_id": ...};
  POST /webhooks/handoff/closed {handoff_id, conversation_id, channel, back_to_bot, resolution, then}
       the route is removed and the bot resumes doing what the agent chose (`then`): ask for a
       rating (the `handoff_closed` intent), or, through the `handed_back` intent and
       action_hand_back, continue the form the customer was in, start the limit-raise form,
       or nothing more; the customer is told in one sentence (see data/rules/handoff.yml).
"""
from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Optional, Text

from pydantic import BaseModel, ValidationError, constr
from redis.exceptions import RedisError
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed, SlotSet
from sanic import Blueprint, response
from sanic.request import Request

from bot.handoff_route import decode, route_key
from bot.intents import HANDED_BACK, HANDOFF_CLOSED
from bot.masking import mask_text
from bot.settings import get_settings
from bot.suggestions import server_agent, suggest_replies
from connectors.common import bearer_token, http_session, redis_client
from connectors.outbox import OutboxOutput

logger = logging.getLogger(__name__)

HAND_BACK_ENTITY = "hand_back_to"
PAUSED_FORM_SLOT = "paused_form"
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class AgentMessage(BaseModel):
    handoff_id: constr(min_length=1, max_length=64)
    conversation_id: constr(min_length=1, max_length=128)
    channel: constr(min_length=1, max_length=32)
    text: constr(min_length=1, max_length=4000)
    agent: constr(max_length=64) = ""


class HandoffClosed(BaseModel):
    handoff_id: constr(min_length=1, max_length=64)
    conversation_id: constr(min_length=1, max_length=128)
    channel: constr(min_length=1, max_length=32)
    back_to_bot: bool = True
    resolution: constr(max_length=2000) = ""
    # what the bot does next; absent (an older desk): a rating when back_to_bot, else nothing said
    then: Optional[constr(regex=r"^(rating|continue_form|limit_raise|nothing)$")] = None


# -- customer -> desk -------------------------------------------------------------------
async def forward_if_with_agent(message: UserMessage) -> bool:
    """Forwards the customer's message, with suggested replies, to the desk if a person has
    the conversation."""
    sender_id, text = message.sender_id, message.text
    try:
        route = decode(await redis_client().get(route_key(sender_id)))
    except RedisError as exc:  # the bot still answers; the tracker store reports its own trouble
        logger.error("handoff route of %s unreadable (%s); the message goes to the bot", sender_id, exc)
        return False
    if route is None or not text:
        return False
    settings = get_settings()
    url = f"{settings.agent_desk_url}/internal/handoffs/{route.handoff_id}/customer-messages"
    agent = server_agent()
    suggested = await suggest_replies(agent, message) if agent is not None else []
    body = {"text": mask_text(text), "suggestions": [s.as_json() for s in suggested]}
    try:
        async with http_session().post(url, json=body,
                                       headers={"Authorization": f"Bearer {settings.agent_desk_service_token}"}) as r:
            if r.status >= 300:
                logger.error("desk refused a customer message for handoff %s: HTTP %s", route.handoff_id, r.status)
    except Exception as exc:  # the tracker still records it; the agent sees it in the transcript
        logger.error("could not forward a customer message to the desk: %s", exc)
    return True


def with_handoff_routing(on_new_message: OnNewMessage) -> OnNewMessage:
    """Wraps a channel's on_new_message so conversations with a person reach the desk."""

    async def routed(message: UserMessage) -> Any:
        if message.sender_id:
            await forward_if_with_agent(message)
        return await on_new_message(message)

    return routed


# -- desk -> customer -------------------------------------------------------------------
def _authorized(request: Request) -> bool:
    expected = get_settings().agent_desk_service_token
    given = bearer_token(request.headers.get("Authorization")) or ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def output_channel_for(request: Request, channel: str) -> OutputChannel:
    """The customer's own channel's output; the REST outbox when that channel cannot push."""
    for input_channel in getattr(request.app.ctx, "input_channels", []) or []:
        if input_channel.name() == channel:
            output = input_channel.get_output_channel()
            if output is not None:
                return output
    return OutboxOutput()


class HandoffInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "handoff"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = Blueprint("handoff_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/agent_message", methods=["POST"])
        async def agent_message(request: Request) -> response.HTTPResponse:
            if not _authorized(request):
                return response.json({"error": "unauthorized"}, status=401)
            body = _parse(AgentMessage, request)
            if isinstance(body, response.HTTPResponse):
                return body
            output = output_channel_for(request, body.channel)
            try:
                await output.send_text_message(body.conversation_id, body.text)
            except Exception as exc:  # the desk retries and shows the delivery state
                logger.error("agent reply for %s not delivered on %s: %s", body.conversation_id, body.channel, exc)
                return response.json({"error": "delivery failed"}, status=502)
            await _record_agent_turn(request, body)
            return response.json({"delivered": True})

        @blueprint.route("/closed", methods=["POST"])
        async def closed(request: Request) -> response.HTTPResponse:
            if not _authorized(request):
                return response.json({"error": "unauthorized"}, status=401)
            body = _parse(HandoffClosed, request)
            if isinstance(body, response.HTTPResponse):
                return body
            await redis_client().delete(route_key(body.conversation_id))
            await _resume(request, body)
            return response.json({"resumed": True, "then": _then(body)})

        return blueprint


def _parse(model, request: Request):
    try:
        return model.parse_obj(request.json or {})
    except (ValidationError, Exception) as exc:
        return response.json({"error": f"invalid body: {exc}"}, status=400)


async def _record_agent_turn(request: Request, body: AgentMessage) -> None:
    agent = request.app.ctx.agent
    async with agent.lock_store.lock(body.conversation_id):
        tracker = await agent.processor.get_tracker(body.conversation_id)
        tracker.update(BotUttered(mask_text(body.text), metadata={"agent": body.agent, "handoff_id": body.handoff_id}))
        await agent.processor.save_tracker(tracker)


async def _resume(request: Request, body: HandoffClosed) -> None:
    agent = request.app.ctx.agent
    output = output_channel_for(request, body.channel)
    async with agent.lock_store.lock(body.conversation_id):
        tracker = await agent.processor.get_tracker(body.conversation_id)
        tracker.update(ConversationResumed())
        # While paused, Rasa records user turns without `action_listen`; add it so the
        # next turn looks like any other (the rules match "listen -> handoff_closed").
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        then = _then(body)
        if then != "continue_form":  # the form the customer left for a person is over
            tracker.update(SlotSet(PAUSED_FORM_SLOT, None))
        if then == "rating":
            await agent.processor.trigger_external_user_uttered(HANDOFF_CLOSED, None, tracker, output)
        elif then is not None:
            await agent.processor.trigger_external_user_uttered(
                HANDED_BACK, [{"entity": HAND_BACK_ENTITY, "value": then}], tracker, output)
        else:
            await agent.processor.save_tracker(tracker)


def _then(body: HandoffClosed) -> Optional[str]:
    if body.then is not None:
        return body.then
    return "rating" if body.back_to_bot else None
