"""Suggested replies for the agent: what the assistant would answer a customer message while
a person has the conversation.

For the message's intent ranking (best first) the assistant's own dialogue runs on a copy of
the conversation as if the message had that intent: the same rules and policies, the same
answers from content, and the custom actions with the customer's own token, so "我这笔转账
什么时候到" is answered with *this* customer's transfer. The copy is never saved and nothing
is sent to the customer: the replies go to the agent desk with the message
(connectors/handoff.py), and the agent sends one as it is, edits it, or ignores it.

Only what reads may run (bot/read_only_actions.py): an intent whose next action would change
something (a form, freezing a card, a handoff) gives no suggestion. Working suggestions out
has a time limit; past it, or on any failure, the message reaches the desk without them.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic
from sanic.exceptions import SanicException

from bot.masking import mask_text
from bot.no_repeat import REPEAT_KEY
from bot.rasa_server import FAILED_ACTION_KEY
from bot.read_only_actions import PREVIEW_METADATA_KEY, may_run_for_suggestion

logger = logging.getLogger(__name__)

MAX_SUGGESTIONS = 3
# Intents of the ranking tried; the rest are too unlikely to help the agent.
MAX_CANDIDATES = 5
MIN_CONFIDENCE = 0.05  # below it only the first intent is tried
MAX_ACTIONS_PER_REPLY = 4
TIME_LIMIT_SECONDS = 3.0  # under the WeChat channel's 4 s reply deadline
# Intents whose answer is about the bot itself or the handoff, not the customer's question.
NOT_SUGGESTED = frozenset({
    "nlu_fallback", "request_human", "handoff_closed", "handed_back", "give_rating", "logged_in",
    "stop_form", "resume_form", "bot_challenge", "out_of_scope",
})
RASA_APP_NAMES = ("rasa_server", "rasa_core_no_api")  # rasa.server / rasa.core.run


@dataclass(frozen=True)
class Suggestion:
    intent: str
    confidence: float
    text: str

    def as_json(self) -> Dict[str, Any]:
        return {"intent": self.intent, "confidence": round(self.confidence, 4), "text": self.text}


def server_agent() -> Optional[Any]:
    """The Rasa agent of this server process (None outside a running Rasa server)."""
    for name in RASA_APP_NAMES:
        try:
            agent = getattr(Sanic.get_app(name).ctx, "agent", None)
        except SanicException:
            continue
        if agent is not None and getattr(agent, "processor", None) is not None:
            return agent
    return None


async def suggest_replies(agent: Any, message: UserMessage) -> List[Suggestion]:
    """Up to three replies for `message`, best first; [] past the time limit or on a failure."""
    try:
        return await asyncio.wait_for(_suggest(agent, message), TIME_LIMIT_SECONDS)
    except asyncio.TimeoutError:
        logger.warning("suggested replies for %s took longer than %.1f s; the agent gets none",
                       message.sender_id, TIME_LIMIT_SECONDS)
    except Exception:  # the customer's message must reach the desk whatever happens here
        logger.exception("could not work out suggested replies for %s", message.sender_id)
    return []


async def _suggest(agent: Any, message: UserMessage) -> List[Suggestion]:
    processor = agent.processor
    tracker = await processor.get_tracker(message.sender_id)
    parse = await processor.parse_message(message, tracker)
    # Rasa records the message next (connectors/handoff.py): with its parse, not a second one.
    message.parse_data = parse
    candidates = list(_candidates(parse))
    replies = await asyncio.gather(*(_reply_as(processor, tracker, message, parse, intent) for intent, _ in candidates))
    found: List[Suggestion] = []
    for (intent, confidence), text in zip(candidates, replies):
        if text and all(text != s.text for s in found):
            found.append(Suggestion(intent, confidence, text))
    return found[:MAX_SUGGESTIONS]


def _candidates(parse: Dict[str, Any]) -> Iterable[tuple]:
    ranking = parse.get("intent_ranking") or [parse.get("intent") or {}]
    tried = 0
    for entry in ranking:
        name, confidence = entry.get("name"), float(entry.get("confidence") or 0.0)
        if not name or name in NOT_SUGGESTED:
            continue
        if tried and confidence < MIN_CONFIDENCE:
            break
        yield name, confidence
        tried += 1
        if tried == MAX_CANDIDATES:
            break


async def _reply_as(processor: Any, tracker: DialogueStateTracker, message: UserMessage,
                    parse: Dict[str, Any], intent: str) -> str:
    """What the assistant would say if the message had this intent (the copy is thrown away)."""
    copy = _copy_with_message(processor, tracker, message, parse, intent)
    events_before = len(copy.events)
    output = CollectingOutputChannel()
    copy = await processor.run_action_extract_slots(output, copy)
    for _ in range(MAX_ACTIONS_PER_REPLY):
        action, prediction = processor.predict_next_with_tracker_if_should(copy)
        if action.name() == ACTION_LISTEN_NAME or not may_run_for_suggestion(action.name()):
            break
        if not await processor._run_action(action, copy, output, processor.nlg, prediction):
            break
    return _said(list(copy.events)[events_before:])


def _copy_with_message(processor: Any, tracker: DialogueStateTracker, message: UserMessage,
                       parse: Dict[str, Any], intent: str) -> DialogueStateTracker:
    events = list(tracker.events)
    if tracker.is_paused():
        events.append(ConversationResumed())
    # A paused conversation records the customer's turns without listening first.
    if tracker.latest_action_name != ACTION_LISTEN_NAME:
        events.append(ActionExecuted(ACTION_LISTEN_NAME))
    chosen = {"name": intent, "confidence": 1.0}  # "if it were this intent": no low-confidence handoff
    parse_data = dict(parse, intent=chosen)
    events.append(UserUttered(message.text, chosen, parse.get("entities") or [], parse_data,
                              input_channel=message.input_channel, message_id=message.message_id,
                              metadata=dict(message.metadata or {}, **{PREVIEW_METADATA_KEY: True})))
    # Built from events, not tracker.copy(): it carries no tracker-store window, so nothing
    # could ever save it as this conversation.
    return DialogueStateTracker.from_events(tracker.sender_id, events, processor.domain.slots)


def _said(events: List[Any]) -> str:
    """The text of the bot turns among these events, masked. No suggestion when an action
    failed (the kind "unavailable" message) or the answer would repeat what the customer was
    just told (bot/no_repeat.py): neither helps the agent."""
    said = [event for event in events if isinstance(event, BotUttered)]
    if any(FAILED_ACTION_KEY in (e.metadata or {}) or REPEAT_KEY in (e.metadata or {}) for e in said):
        return ""
    return mask_text("\n".join(e.text for e in said if e.text)).strip()
