"""Rasa's REST channel, aware of human handoff (channel name `rest`).

Same request and answer as Rasa's own (`POST /webhooks/rest/webhook {sender, message,
metadata}` -> list of messages), plus:
- while a person has the conversation, the customer's messages also go to the agent desk;
- the agent's replies (REST cannot push) wait in the outbox and come first in the answer to
  the customer's next message, or from `GET /webhooks/rest/messages?sender=<id>`.
The REST channel is for development, tests and trusted back ends: it does not authenticate
the sender. Customers use the app or WeChat channels.
"""
from __future__ import annotations

from typing import Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from connectors import outbox
from connectors.handoff import OnNewMessage, with_handoff_routing


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

        @blueprint.route("/messages", methods=["GET"])
        async def waiting_messages(request: Request) -> response.HTTPResponse:
            sender = request.args.get("sender")
            if not sender:
                return response.json({"error": "query parameter 'sender' is required"}, status=400)
            return response.json(await outbox.drain(sender))

        return blueprint
