"""Rasa's REST channel, aware of human handoff and of whose conversation it is (channel `rest`).

Same request and answer as Rasa's own (`POST /webhooks/rest/webhook {sender, message,
metadata}` -> list of messages), plus:
- while a person has the conversation, the customer's messages also go to the agent desk;
- the agent's replies (REST cannot push) wait in the outbox and come first in the answer to
  the customer's next message, or from `GET /webhooks/rest/messages?sender=<id>`.

The REST channel is for development, tests and trusted back ends; customers use the app or
WeChat channels, and the deployment files leave it out (deploy/credentials.yml). Who may ask:
- with `REST_CHANNEL_TOKEN` set, every request needs `Authorization: Bearer <that token>`;
- sender ids of the authenticated channels (`app-`, `wechat-`) are refused: those
  conversations are reachable only through their own channel;
- a customer token (`metadata.customer_token` on POST, header `X-Customer-Token` on GET) must
  be valid (else 401), and binds the conversation to its customer
  (connectors/conversation_owner.py): later requests for that sender without that customer's
  token are refused (401/403) before anything reaches the bot, the tracker or the desk.
Refusals are JSON: `{"error": "..."}`.
"""
from __future__ import annotations

import hmac
import logging
from typing import Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request

from bot.rasa_server import store_unavailable_response
from bot.settings import get_settings
from connectors import outbox
from bot.identity import InvalidCustomerToken, verify_customer_token
from connectors.common import bearer_token
from connectors.conversation_owner import check_owner
from connectors.handoff import OnNewMessage, with_handoff_routing

logger = logging.getLogger(__name__)

# Conversations of the authenticated channels; their sender ids come from a verified identity.
RESERVED_SENDER_PREFIXES = ("app-", "wechat-")
CUSTOMER_TOKEN_HEADER = "X-Customer-Token"


def _refuse(status: int, error: str) -> response.HTTPResponse:
    return response.json({"error": error}, status=status)


def _sender_and_token(request: Request) -> "tuple[Optional[str], Optional[str]]":
    """The sender id and customer token a request is for (POST body or GET query/header)."""
    if request.method == "GET":
        return request.args.get("sender"), request.headers.get(CUSTOMER_TOKEN_HEADER)
    body = request.json if isinstance(request.json, dict) else {}
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    sender = body.get("sender")
    return (str(sender) if sender is not None else None), metadata.get("customer_token")


async def who_may_not_ask(request: Request) -> Optional[response.HTTPResponse]:
    """The refusal for a request that may not use the conversation it names, else None."""
    service_token = get_settings().rest_channel_token
    if service_token and not hmac.compare_digest(bearer_token(request.headers.get("Authorization")) or "",
                                                 service_token):
        return _refuse(401, "the REST channel needs its service token (Authorization: Bearer ...)")
    try:
        sender, token = _sender_and_token(request)
    except Exception:  # malformed JSON: Rasa's own handler answers it
        return None
    if not sender:
        return None  # Rasa's handler (POST) or the route (GET) answers a missing sender
    if sender.startswith(RESERVED_SENDER_PREFIXES):
        return _refuse(403, "sender ids starting with 'app-' or 'wechat-' belong to the app and WeChat "
                            "channels; use that channel")
    customer_id = None
    if token:
        try:
            customer_id = verify_customer_token(token).customer_id
        except InvalidCustomerToken as exc:
            return _refuse(401, f"the customer token is not valid ({exc}); log in again")
    try:
        refusal = await check_owner(sender, customer_id)
    except RedisError as exc:  # who owns the conversation is unknown: handle nothing, say so
        logger.error("REST request for %s refused: conversation owners unreadable (%s)", sender, exc)
        return store_unavailable_response()
    if refusal:
        return _refuse(refusal.status, refusal.error)
    if request.method == "POST":
        # What the stored conversation keeps instead of the token (bot/tracker_store.py); a
        # customer_id the client wrote itself is never kept (actions trust the stored one).
        metadata = request.json.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("customer_id", None)
        if customer_id:
            request.json.setdefault("metadata", {}).update({"customer_id": customer_id, "channel": "rest"})
    return None


class HandoffAwareRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        async def deliver_waiting_then_handle(message: UserMessage):
            for waiting in await outbox.drain(message.sender_id):
                text = waiting.get("text", "")
                if waiting.get("buttons"):
                    await message.output_channel.send_text_with_buttons(message.sender_id, text, waiting["buttons"])
                else:
                    await message.output_channel.send_text_message(message.sender_id, text)
            return await on_new_message(message)

        blueprint = super().blueprint(with_handoff_routing(deliver_waiting_then_handle))

        @blueprint.middleware("request")
        async def only_the_conversations_own_customer(request: Request) -> Optional[response.HTTPResponse]:
            if request.method in ("POST", "GET") and request.path.rstrip("/").endswith(("/webhook", "/messages")):
                return await who_may_not_ask(request)
            return None

        @blueprint.route("/messages", methods=["GET"])
        async def waiting_messages(request: Request) -> response.HTTPResponse:
            sender = request.args.get("sender")
            if not sender:
                return response.json({"error": "query parameter 'sender' is required"}, status=400)
            return response.json(await outbox.drain(sender))

        return blueprint
