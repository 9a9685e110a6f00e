"""Several questions in one message ("查下余额 顺便问下转账手续费") become several turns.

Rasa classifies a message as one intent. A message made of clauses that each ask for
something different is therefore handled as one turn per question, in the order asked:

1. The message is cut into clauses. A clause after a sentence end (。？！；) or starting with a
   joining word (顺便, 另外, 还有, 对了 ... data/lexicon/cues.yml) may start a new question; a
   clause after a comma or a space only when it is itself a question or a request
   ("怎么开户，网点几点上班", "你好 我想查下余额"),
   so a story told with commas stays one ("我要投诉 昨天在人民路支行排队两个小时都没人管").
2. Each clause that may start a question is classified by the loaded model (joining words
   dropped). It starts one when its intent asks for business (not a greeting, thanks, yes/no
   or a bare parameter) with confidence >= 0.5 (>= 0.8 after a comma).
   A clause that is nothing but a lead-in ("我孙子让我问一下", data/lexicon/filler.yml) is never
   a question of its own.
3. The other clauses stay with the question before them ("我的卡丢了，是信用卡": one question),
   and so does a clause whose question the one before already answers (cues.yml `covers`:
   "转了钱还没收到 一般要多久才能到" is one question about the transfer).
   Fewer than two different questions: the message is handled as it is, except that one
   clear question (>= 0.8) in a long message the NLU cannot place as a whole ("我们老两口想把
   存款转到另一个银行去 要不要手续费啊 多了我们就去柜台办", "我要投诉 上周在人民路支行被多收了
   手续费") is answered as that question, with the whole message as its words.
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
from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

from bot import question_cues
from bot.nlu.normalizer import is_only_filler, load_filler

logger = logging.getLogger(__name__)

# A clause after a sentence end or a joiner: a business intent the NLU would not fall back on.
QUESTION_CONFIDENCE = 0.5
# After a comma or a space a clause must be a question this sure to be a question of its own.
WEAK_QUESTION_CONFIDENCE = 0.8
MAX_QUESTIONS = 4
FALLBACK_INTENT = "nlu_fallback"
METADATA_KEY = "several_questions"
# Intents that are not a request of their own.
NOT_QUESTIONS = frozenset({
    "greet", "goodbye", "thank", "affirm", "deny", "inform", "give_rating", "out_of_scope", "nlu_fallback",
    "bot_challenge", "help", "ask_next_step", "stop_form", "resume_form", "logged_in", "handoff_closed",
    "handed_back",
})
# Requests that ask the customer something back: handled last.
ASKS_BACK = frozenset({"report_card_lost", "complain", "adjust_overseas_limit", "start_limit_raise", "request_human"})
# A full stop between digits is a decimal point (1.5万), not the end of a sentence.
_SENTENCE_END = re.compile(r"[。！!？?；;\n]+|(?<!\d)\.(?!\d)")
_WEAK_BREAK = re.compile(r"[，,、]+|\s+")


@dataclass
class Clause:
    text: str
    #: after a sentence end or a joining word: may start a question without being one itself
    strong: bool

    @property
    def may_start_question(self) -> bool:
        if is_only_filler(self.text, _filler()):  # "我孙子让我问一下，…": the lead-in, not a question
            return False
        return self.strong or question_cues.looks_like_request(self.text)


@lru_cache(maxsize=1)
def _filler():
    return load_filler()


def _split_at_joiners(sentence: str) -> List[str]:
    """"卡丢了 还有我的转账到了没" -> ["卡丢了 ", "还有我的转账到了没"]."""
    parts, start = [], 0
    for i in range(1, len(sentence)):
        if question_cues.starts_with_joiner(sentence[i:]) and not question_cues.starts_with_joiner(sentence[i - 1:]):
            parts.append(sentence[start:i])
            start = i
    parts.append(sentence[start:])
    return parts


def clauses(text: str) -> List[Clause]:
    found: List[Clause] = []
    for sentence in _SENTENCE_END.split(text or ""):
        for part in _split_at_joiners(sentence):
            pieces = [p.strip() for p in _WEAK_BREAK.split(part) if p.strip()]
            found += [Clause(piece, strong=(i == 0)) for i, piece in enumerate(pieces)]
    return found


@dataclass
class Question:
    intent: str
    confidence: float
    clauses: List[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "，".join(self.clauses)


def starts_question(clause: Clause, intent: Dict[str, Any]) -> bool:
    name, sure = intent.get("name"), float(intent.get("confidence") or 0.0)
    needed = QUESTION_CONFIDENCE if clause.strong else WEAK_QUESTION_CONFIDENCE
    return name not in NOT_QUESTIONS and sure >= needed


def group_questions(parsed: List[Dict[str, Any]]) -> List[Question]:
    """Clauses with their parse (None: not a candidate) -> questions, each with its clauses."""
    questions: List[Question] = []
    leading: List[str] = []
    for item in parsed:
        clause, intent = item["clause"], item["intent"]
        text = question_cues.strip_joiner(clause.text)
        if intent is not None and starts_question(clause, intent) and \
                not (questions and _answered_by(questions[-1], intent.get("name"))):
            questions.append(Question(intent["name"], float(intent.get("confidence") or 0.0), leading + [text]))
            leading = []
        elif questions:
            questions[-1].clauses.append(text)
        else:
            leading.append(text)
    return questions


def _answered_by(previous: Question, intent: str) -> bool:
    """The same question again, or one the previous answer covers (cues.yml `covers`)."""
    return previous.intent == intent or question_cues.covered_by(previous.intent, intent)


def in_answer_order(questions: List[Question]) -> List[Question]:
    """As asked, except that the ones asking back go last."""
    return [q for q in questions if q.intent not in ASKS_BACK] + [q for q in questions if q.intent in ASKS_BACK]


async def plan(processor: MessageProcessor, message: UserMessage) -> Optional[List[Question]]:
    """The questions to handle one by one, or None to handle the message as it is."""
    text = message.text or ""
    if text.startswith("/") or (message.metadata or {}).get(METADATA_KEY):
        return None
    parts = clauses(text)[: MAX_QUESTIONS * 4]
    candidates = sum(part.may_start_question for part in parts)
    if candidates == 0 or (candidates == 1 and len(parts) == 1):
        return None
    # One asking clause among others matters only if the NLU cannot place the whole (step 3);
    # asked first, as most such messages are placed and then cost one parse more, not two.
    if candidates == 1 and not await falls_back(processor, message):
        return None
    parsed = []
    for part in parts:
        intent = None
        if part.may_start_question:
            parse = await processor.parse_message(UserMessage(question_cues.strip_joiner(part.text),
                                                              sender_id=message.sender_id))
            intent = parse.get("intent") or {}
        parsed.append({"clause": part, "intent": intent})
    questions = group_questions(parsed)
    if len(questions) == 1 and questions[0].confidence >= WEAK_QUESTION_CONFIDENCE:
        return questions if candidates == 1 or await falls_back(processor, message) else None
    if len({q.intent for q in questions}) < 2:
        return None
    return in_answer_order(questions)[:MAX_QUESTIONS]


async def falls_back(processor: MessageProcessor, message: UserMessage) -> bool:
    whole = await processor.parse_message(UserMessage(message.text, sender_id=message.sender_id))
    return (whole.get("intent") or {}).get("name") == FALLBACK_INTENT


def turn_message(message: UserMessage, question: Question, part: int, of: int) -> UserMessage:
    metadata = dict(message.metadata or {})
    metadata[METADATA_KEY] = {"part": part, "of": of, "message": message.text,
                              "intent": question.intent, "confidence": question.confidence}
    message_id = f"{message.message_id}-{part}" if message.message_id else None
    return UserMessage(question.text, message.output_channel, message.sender_id, metadata=metadata,
                       input_channel=message.input_channel, message_id=message_id)


def pinned_intent(parse_data: Dict[str, Any], metadata: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A turn cut out of a longer message keeps the intent its asking clause was given: the
    clauses that tell the story ("我要投诉，昨天在网点排队两个小时") can blur the whole."""
    asked = (metadata or {}).get(METADATA_KEY) or {}
    intent = asked.get("intent")
    if not intent or (parse_data.get("intent") or {}).get("name") == intent:
        return parse_data
    pinned = {"name": intent, "confidence": float(asked.get("confidence") or 0.0)}
    ranking = [r for r in parse_data.get("intent_ranking") or [] if r.get("name") != intent]
    return {**parse_data, "intent": pinned, "intent_ranking": [pinned] + ranking}


def install() -> None:
    """Wraps MessageProcessor.handle_message (the agent calls it under the conversation's lock)
    and parse_message (a turn of a longer message keeps its clause's intent)."""
    if getattr(MessageProcessor.handle_message, "_bank_guarded", False):
        return
    original = MessageProcessor.handle_message
    original_parse = MessageProcessor.parse_message

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

    async def parse_message(self: MessageProcessor, message: UserMessage, *args: Any, **kwargs: Any):
        return pinned_intent(await original_parse(self, message, *args, **kwargs), message.metadata)

    handle_message._bank_guarded = True  # type: ignore[attr-defined]
    MessageProcessor.handle_message = handle_message
    MessageProcessor.parse_message = parse_message
