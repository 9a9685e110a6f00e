"""A message the NLU is unsure of, read in the conversation's context.

"那要是输错好几次被锁了呢" after the password answer, "那在哪下载最新的" after a mobile-banking
answer: on their own the classifier falls back (below the FallbackClassifier's threshold), yet
its best guess is the very topic the conversation is about. A good agent hears them as about
that topic. So when the parse is `nlu_fallback` and its best real intent is one of the current
topic's intents (the `topic` slot, data/knowledge/topics.yml) with at least
`MIN_IN_CONTEXT_CONFIDENCE`, that intent is taken, and the parse records why
(`in_context: <topic>`). A fallback that names one of the current topic's parameters
("那在哪下载最新的": 下载 is a mobile-banking issue) is a follow-up (`inform`). Anything else
falls back as before: a guess about another topic is still only a guess.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional

import yaml
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

logger = logging.getLogger(__name__)

TOPICS_PATH = Path(__file__).resolve().parents[1] / "data" / "knowledge" / "topics.yml"
FALLBACK_INTENT = "nlu_fallback"
FOLLOW_UP_INTENT = "inform"
TOPIC_SLOT = "topic"
# Below the fallback threshold (0.45), but clearly the classifier's first choice of a real intent.
MIN_IN_CONTEXT_CONFIDENCE = 0.25


@lru_cache(maxsize=1)
def topic_intents() -> Dict[str, FrozenSet[str]]:
    data = yaml.safe_load(TOPICS_PATH.read_text(encoding="utf-8")) or {}
    return {name: frozenset(topic.get("intents") or []) for name, topic in (data.get("topics") or {}).items()}


@lru_cache(maxsize=1)
def topic_parameters() -> Dict[str, FrozenSet[str]]:
    data = yaml.safe_load(TOPICS_PATH.read_text(encoding="utf-8")) or {}
    return {name: frozenset(topic.get("parameters") or []) for name, topic in (data.get("topics") or {}).items()}


def in_context(parse_data: Dict[str, Any], topic: Optional[str]) -> Dict[str, Any]:
    """The parse, with a fallback resolved to the current topic when that is the guess, or to a
    follow-up (`inform`) when the message names one of the topic's parameters ("那在哪下载")."""
    if not topic or (parse_data.get("intent") or {}).get("name") != FALLBACK_INTENT:
        return parse_data
    guesses = [r for r in parse_data.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    named = {e.get("entity") for e in parse_data.get("entities") or []}
    if named & topic_parameters().get(topic, frozenset()):
        follow_up = {"name": FOLLOW_UP_INTENT, "confidence": float((parse_data.get("intent") or {}).get("confidence") or 0)}
        return {**parse_data, "intent": follow_up, "intent_ranking": [follow_up] + guesses, "in_context": topic}
    if not guesses:
        return parse_data
    best = guesses[0]
    if best.get("name") not in topic_intents().get(topic, frozenset()) or \
            float(best.get("confidence") or 0.0) < MIN_IN_CONTEXT_CONFIDENCE:
        return parse_data
    return {**parse_data, "intent": dict(best), "intent_ranking": guesses, "in_context": topic}


def install() -> None:
    """Wraps MessageProcessor.parse_message (it gets the conversation's tracker)."""
    if getattr(MessageProcessor.parse_message, "_bank_in_context", False):
        return
    original = MessageProcessor.parse_message

    async def parse_message(self: MessageProcessor, message: UserMessage, tracker=None, *args: Any, **kwargs: Any):
        parsed = await original(self, message, tracker, *args, **kwargs)
        topic = tracker.get_slot(TOPIC_SLOT) if tracker is not None else None
        resolved = in_context(parsed, topic)
        if resolved is not parsed:
            logger.debug("%s: unsure %r read as %s, the current topic", message.sender_id, message.text, topic)
        return resolved

    parse_message._bank_in_context = True  # type: ignore[attr-defined]
    MessageProcessor.parse_message = parse_message
