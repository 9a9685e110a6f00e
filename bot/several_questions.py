"""Several questions in one message ("查下余额 顺便问下转账手续费") become several turns.

Rasa classifies a message as one intent. A message made of clauses that each ask for
something different is therefore handled as one turn per question, in the order asked:

1. The message is cut into clauses at punctuation, spaces and joining words (顺便, 另外, 对了 ...).
2. Each clause is classified by the loaded model. A clause is a question when its intent asks
   for business (not a greeting, thanks, yes/no or a bare parameter) with confidence >= 0.6.
3. Clauses that are not questions stay with the question next to them ("我的卡丢了，是信用卡":
   one question). Fewer than two different questions: the message is handled as it is.
4. Otherwise each question (with its clauses) is handled as its own user turn, under the
   conversation's lock. A question that asks back (a form starts, a person is called) goes
   last, so the question on the customer's screen is the last thing they read and their next
   words answer it.

The whole message is kept: each turn's metadata carries `several_questions` {"of", "part",
"message"}; the agent desk shows the turns as the customer's words.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

logger = logging.getLogger(__name__)

QUESTION_CONFIDENCE = 0.6
MAX_QUESTIONS = 4
METADATA_KEY = "several_questions"
# Intents that are not a request of their own.
NOT_QUESTIONS = frozenset({
    "greet", "goodbye", "thank", "affirm", "deny", "inform", "give_rating", "out_of_scope", "nlu_fallback",
    "bot_challenge", "help", "ask_next_step", "stop_form", "resume_form", "logged_in", "handoff_closed",
})
# Requests that ask the customer something back: handled last.
ASKS_BACK = frozenset({"report_card_lost", "complain", "adjust_overseas_limit", "start_limit_raise", "request_human"})
_CLAUSE_BREAK = re.compile(r"[，,。.！!？?；;\n]+|\s+|(?=顺便|另外|对了|再问一下|再问下|以及)")


def clauses(text: str) -> List[str]:
    return [part for part in (p.strip() for p in _CLAUSE_BREAK.split(text or "")) if part]


@dataclass
class Question:
    intent: str
    clauses: List[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "，".join(self.clauses)


def group_questions(parsed: List[Dict[str, Any]]) -> List[Question]:
    """Clauses with their parse -> questions, each with the clauses that belong to it."""
    questions: List[Question] = []
    leading: List[str] = []
    for clause in parsed:
        intent = clause["intent"] or {}
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        is_question = name not in NOT_QUESTIONS and confidence >= QUESTION_CONFIDENCE
        if is_question and not (questions and questions[-1].intent == name):
            questions.append(Question(name, leading + [clause["text"]]))
            leading = []
        elif questions:
            questions[-1].clauses.append(clause["text"])
        else:
            leading.append(clause["text"])
    return questions


def in_answer_order(questions: List[Question]) -> List[Question]:
    """As asked, except that the ones asking back go last."""
    return [q for q in questions if q.intent not in ASKS_BACK] + [q for q in questions if q.intent in ASKS_BACK]


async def plan(processor: MessageProcessor, message: UserMessage) -> Optional[List[Question]]:
    """The questions to handle one by one, or None to handle the message as it is."""
    text = message.text or ""
    parts = clauses(text)
    if text.startswith("/") or len(parts) < 2 or (message.metadata or {}).get(METADATA_KEY):
        return None
    parsed = []
    for part in parts[: MAX_QUESTIONS * 3]:
        parse = await processor.parse_message(UserMessage(part, sender_id=message.sender_id))
        parsed.append({"text": part, "intent": parse.get("intent")})
    questions = group_questions(parsed)
    if len({q.intent for q in questions}) < 2:
        return None
    return in_answer_order(questions)[:MAX_QUESTIONS]


def turn_message(message: UserMessage, question: Question, part: int, of: int) -> UserMessage:
    metadata = dict(message.metadata or {})
    metadata[METADATA_KEY] = {"part": part, "of": of, "message": message.text}
    message_id = f"{message.message_id}-{part}" if message.message_id else None
    return UserMessage(question.text, message.output_channel, message.sender_id, metadata=metadata,
                       input_channel=message.input_channel, message_id=message_id)


def install() -> None:
    """Wraps MessageProcessor.handle_message (the agent calls it under the conversation's lock)."""
    if getattr(MessageProcessor.handle_message, "_bank_guarded", False):
        return
    original = MessageProcessor.handle_message

    async def handle_message(self: MessageProcessor, message: UserMessage):
        questions = await plan(self, message)
        if not questions:
            return await original(self, message)
        if (await self.get_tracker(message.sender_id)).is_paused():
            return await original(self, message)  # a person has the conversation: it is their call
        logger.info("message of %s holds %d questions: %s", message.sender_id, len(questions),
                    [q.intent for q in questions])
        result = None
        for part, question in enumerate(questions, start=1):
            result = await original(self, turn_message(message, question, part, len(questions)))
        return result

    handle_message._bank_guarded = True  # type: ignore[attr-defined]
    MessageProcessor.handle_message = handle_message
