"""The same reply is never sent twice in a row.

When the first message the bot is about to send in a turn is word for word the last message
it sent in the previous turn (the same clarifying question, the same long answer to the same
words), the customer did not get what they needed: instead they are told so and offered a
person (`utter_offer_human_after_repeat`). Works for every action and response, so no rule or
story has to foresee it.
"""
from __future__ import annotations

import logging
from typing import Any, List, Optional

from rasa.core.actions.action import create_bot_utterance
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, Event, UserUttered

logger = logging.getLogger(__name__)

REPEAT_RESPONSE = "utter_offer_human_after_repeat"
REPEAT_KEY = "instead_of_repeating"


def previous_turn_reply(events: List[Event]) -> Optional[str]:
    """The text of the bot's last message before the latest user message; None if the bot
    already spoke in this turn (only a turn's first message is compared)."""
    seen_user = False
    for event in reversed(events):
        if isinstance(event, UserUttered):
            if seen_user:
                return None
            seen_user = True
        elif isinstance(event, BotUttered):
            if not seen_user:
                return None
            return event.text
    return None


def repeats(new_events: List[Event], tracker_events: List[Event]) -> bool:
    first = next((e for e in new_events if isinstance(e, BotUttered)), None)
    if first is None or not first.text:
        return False
    return first.text == previous_turn_reply(tracker_events)


class _NoRepeat:
    def __init__(self, action: Any) -> None:
        self._action = action

    def __getattr__(self, name: str) -> Any:
        return getattr(self._action, name)

    async def run(self, output_channel, nlg, tracker, domain) -> List[Event]:
        events = await self._action.run(output_channel, nlg, tracker, domain)
        if not repeats(events, list(tracker.events)):
            return events
        draft = await nlg.generate(REPEAT_RESPONSE, tracker, output_channel.name())
        if not draft:
            return events
        logger.info("%s would have repeated itself for %s; offering a person instead",
                    self._action.name(), tracker.sender_id)
        draft["utter_action"] = REPEAT_RESPONSE
        draft[REPEAT_KEY] = self._action.name()
        others = [e for e in events if not isinstance(e, BotUttered)]
        return [create_bot_utterance(draft)] + others


def install() -> None:
    if getattr(MessageProcessor._run_action, "_bank_no_repeat", False):
        return
    original = MessageProcessor._run_action

    async def _run_action(self, action, tracker, output_channel, nlg, prediction):
        return await original(self, _NoRepeat(action), tracker, output_channel, nlg, prediction)

    _run_action._bank_no_repeat = True  # type: ignore[attr-defined]
    MessageProcessor._run_action = _run_action
