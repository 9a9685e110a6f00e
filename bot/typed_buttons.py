"""A button's title typed instead of tapped means the button.

Customers, elderly ones and WeChat users especially, type what a button says ("确认冻结",
"接着办", "帮我申请") instead of tapping it. When the text of a message is the title of a
button the bot has just shown (or most of exactly one title), the message is understood as
that button's payload: the payload's intent and entities, with the customer's own words kept
as the text. A bare number means the one button whose title starts with it ("5" for
"5 非常满意"). Only the buttons of the bot's last turn count, so an old menu never decides.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered

logger = logging.getLogger(__name__)

# Part of a title counts when it is at least this share of it ("帮我申请" of "帮我申请提额").
MIN_SHARE_OF_TITLE = 0.6
MIN_PARTIAL_CHARS = 3
_NOISE = re.compile(r"[\s,，.。!！?？~～、]+")
_NUMBER = re.compile(r"\d+")
_LEADING_NUMBER = re.compile(r"\s*(\d+)(?!\d)")


def _clean(text: str) -> str:
    return _NOISE.sub("", text or "").lower()


def last_buttons(events: List[Any]) -> List[Dict[str, Any]]:
    """The buttons of the bot's messages since the customer last spoke (before this message)."""
    buttons: List[Dict[str, Any]] = []
    for event in reversed(events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            buttons = list((event.data or {}).get("buttons") or []) + buttons
    return buttons


def typed_payload(text: str, buttons: List[Dict[str, Any]]) -> Optional[str]:
    said = _clean(text)
    if not said or said.startswith("/"):
        return None
    titled = [(b, _clean(str(b.get("title") or ""))) for b in buttons if b.get("payload")]
    exact = [b for b, title in titled if title == said]
    if exact:
        return str(exact[0]["payload"])
    if _NUMBER.fullmatch(said):
        numbered = [b for b in buttons if b.get("payload") and _leading_number(str(b.get("title") or "")) == said]
        return str(numbered[0]["payload"]) if len(numbered) == 1 else None
    partial = [b for b, title in titled
               if len(said) >= MIN_PARTIAL_CHARS and said in title and len(said) >= MIN_SHARE_OF_TITLE * len(title)]
    return str(partial[0]["payload"]) if len(partial) == 1 else None


def _leading_number(title: str) -> Optional[str]:
    match = _LEADING_NUMBER.match(title)
    return match.group(1) if match else None


def install() -> None:
    """Wraps MessageProcessor.parse_message (it gets the conversation's tracker)."""
    if getattr(MessageProcessor.parse_message, "_bank_typed_buttons", False):
        return
    original = MessageProcessor.parse_message

    async def parse_message(self: MessageProcessor, message: UserMessage, tracker=None, *args: Any, **kwargs: Any):
        payload = typed_payload(message.text or "", last_buttons(list(tracker.events))) if tracker else None
        if payload is None or payload == message.text:
            return await original(self, message, tracker, *args, **kwargs)
        logger.debug("%s typed a button's title: %r means %r", message.sender_id, message.text, payload)
        as_tapped = UserMessage(payload, message.output_channel, message.sender_id, metadata=message.metadata,
                                input_channel=message.input_channel, message_id=message.message_id)
        parsed = await original(self, as_tapped, tracker, *args, **kwargs)
        return {**parsed, "text": message.text}

    parse_message._bank_typed_buttons = True  # type: ignore[attr-defined]
    MessageProcessor.parse_message = parse_message
