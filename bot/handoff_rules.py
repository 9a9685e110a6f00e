"""When the assistant should stop trying and hand the conversation to a person.

Pure functions over a conversation's user turns, shared by the Rasa policy that triggers
the handoff (`bot/policies.py`) and the action that performs it (`actions/handoff.py`),
so both agree on the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import yaml

from bot.nlu.normalizer import default_normalizer

EMOTION_LEXICON = Path(__file__).resolve().parents[1] / "data" / "lexicon" / "emotion.yml"
WORDING = Path(__file__).resolve().parents[1] / "data" / "knowledge" / "wording.yml"
FALLBACK_INTENT = "nlu_fallback"
LOW_CONFIDENCE = 0.55


class HandoffReason(str, Enum):
    """Why a conversation went to a person. Values are stored with the handoff."""

    REQUESTED = "requested"
    REPEATED_FALLBACK = "repeated_fallback"
    LOW_CONFIDENCE = "low_confidence"
    EMOTIONAL_COMPLAINT = "emotional_complaint"
    OVERSEAS_LIMIT = "overseas_limit"
    CORE_BANKING_UNAVAILABLE = "core_banking_unavailable"

    @property
    def label(self) -> str:
        """How agents read the reason: data/knowledge/wording.yml `labels.handoff_reason`."""
        return reason_labels().get(self.value, self.value)

    @property
    def priority(self) -> int:
        """Higher is served first by the agent desk."""
        return 2 if self in (HandoffReason.EMOTIONAL_COMPLAINT,) else 1


@lru_cache(maxsize=None)
def reason_labels(wording: Path = WORDING) -> Dict[str, str]:
    """reason value -> its Chinese wording (content; `make check` reports a reason without one).

    Read here rather than through actions/knowledge.py: this module also runs inside the Rasa
    server (bot/policies.py), which does not load the actions' tables."""
    data = yaml.safe_load(wording.read_text(encoding="utf-8")) or {}
    table = (data.get("labels") or {}).get("handoff_reason") or {}
    return {str(reason): str(text) for reason, text in table.items()}


@dataclass(frozen=True)
class UserTurn:
    text: str
    intent: Optional[str]
    confidence: float


EXTERNAL_PREFIX = "EXTERNAL: "  # how Rasa writes intents the system triggers (e.g. handoff_closed)


def is_poorly_understood(turn: UserTurn, low_confidence: float = LOW_CONFIDENCE) -> bool:
    if turn.text.startswith("/") or turn.text.startswith(EXTERNAL_PREFIX):
        return False  # a button press or a system event is understood by definition
    return turn.intent == FALLBACK_INTENT or turn.confidence < low_confidence


def automatic_reason(turns: Sequence[UserTurn], low_confidence: float = LOW_CONFIDENCE,
                     emotion_words: Optional[Iterable[str]] = None) -> Optional[HandoffReason]:
    """The reason to hand over right after the latest user turn, or None to carry on.

    - two fallbacks among the last three turns, the latest being one (the two-stage
      fallback's own "did you mean" button press may sit between them);
    - the last two turns both understood with low confidence;
    - a complaint in strong words.
    """
    if not turns:
        return None
    latest = turns[-1]
    recent = [t for t in turns[-3:] if not t.text.startswith("/")]
    if latest.intent == FALLBACK_INTENT and sum(t.intent == FALLBACK_INTENT for t in recent) >= 2:
        return HandoffReason.REPEATED_FALLBACK
    if len(turns) >= 2 and all(is_poorly_understood(t, low_confidence) for t in turns[-2:]):
        return HandoffReason.LOW_CONFIDENCE
    if latest.intent == "complain" and shows_strong_emotion(latest.text, emotion_words):
        return HandoffReason.EMOTIONAL_COMPLAINT
    return None


def shows_strong_emotion(text: str, emotion_words: Optional[Iterable[str]] = None) -> bool:
    normalized = default_normalizer()(text)
    words = emotion_words if emotion_words is not None else strong_emotion_words()
    return any(word in normalized or word in text for word in words)


@lru_cache(maxsize=1)
def strong_emotion_words() -> List[str]:
    data = yaml.safe_load(EMOTION_LEXICON.read_text(encoding="utf-8")) or {}
    normalize = default_normalizer()
    return sorted({normalize(str(w)) for w in data.get("strong_emotion") or [] if str(w).strip()})


def turn_from_parse_data(text: str, parse_data: dict) -> UserTurn:
    intent = (parse_data or {}).get("intent") or {}
    return UserTurn(text=text or "", intent=intent.get("name"), confidence=float(intent.get("confidence") or 0.0))
