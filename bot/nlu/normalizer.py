"""Text normalisation applied to every message before tokenisation.

Customers type Traditional characters, full-width digits, Chinese numerals, typos, emoji
and long rambling sentences. The classifier and the entity rules are written for one
canonical form, so we map everything to it first:

1. Unicode NFKC (full-width letters/digits/punctuation -> half-width), drop zero-width
   characters and emoji, collapse whitespace.
2. Traditional -> Simplified Chinese (OpenCC `t2s`).
3. Known misspellings -> correct form (`data/lexicon/typos.yml`, editable by content teams).
4. Amounts: Chinese numerals to digits (cn2an), then digit + magnitude (2万, 1.5千) to a number.
5. Pleasantries and preamble at the start ("你好", "不好意思打扰了", "我老伴让我问问") are
   dropped when a question follows (`data/lexicon/filler.yml`): long, polite messages from
   elderly customers then read like the questions the classifier was trained on.

The functions are pure so they can be unit-tested without Rasa.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Dict, Mapping, Optional, Pattern, Tuple

import cn2an
import yaml
from opencc import OpenCC

DEFAULT_TYPOS_PATH = Path(__file__).resolve().parents[2] / "data" / "lexicon" / "typos.yml"
DEFAULT_LATIN_WORDS_PATH = Path(__file__).resolve().parents[2] / "data" / "lexicon" / "latin_words.yml"
DEFAULT_FILLER_PATH = Path(__file__).resolve().parents[2] / "data" / "lexicon" / "filler.yml"
# Pleasantries are dropped only when at least this many characters of question follow.
MIN_REST_AFTER_FILLER = 4
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Rasa's button payload: "/intent" or "/intent{...}" (a "/" before anything else is text: "/０").
_INTENT_PAYLOAD = re.compile(r"/[A-Za-z_][\w-]*(?:\{.*\})?$", re.DOTALL)
_CLAUSE_GAP = re.compile(r"^[\s,，.。!！?？~～、;；:：]+")

# Longer texts are cut here: the intent of a rambling message is almost always stated
# in its first few hundred characters, and DIET's cost grows with length.
MAX_NLU_CHARS = 500

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F900-\U0001F9FF\uFE0F\u20E3]+"
)
_WHITESPACE = re.compile(r"\s+")
# Between two CJK characters, a space is just noise ("我 想 转账").
_SPACE_BETWEEN_CJK = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")

_CN_DIGITS = "零〇一二两三四五六七八九"
_CN_MAGNITUDES = "十百千万亿"
_CN_NUMERAL = f"[{_CN_DIGITS}{_CN_MAGNITUDES}]"
# A run of Chinese numerals; 点 is a decimal point only when a numeral follows (一点五万).
_CN_NUMBER_RUN = re.compile(f"{_CN_NUMERAL}(?:{_CN_NUMERAL}|点(?={_CN_NUMERAL}))*")
_CURRENCY_AFTER = re.compile(r"块|元|圆")  # used with .match(text, pos)
# Numeral runs that are words, not numbers (十分感谢 = "very grateful").
_WORDS_NOT_NUMBERS = re.compile(r"十分")
_DIGIT_MAGNITUDE = re.compile(r"(\d+(?:\.\d+)?)(万|千|百|亿)")
_MAGNITUDE_VALUE = {"百": 100, "千": 1000, "万": 10000, "亿": 100000000}


@dataclass(frozen=True)
class Normalizer:
    """Maps customer text to the canonical form the NLU model was trained on."""

    corrections: Mapping[str, str] = field(default_factory=dict)
    max_chars: int = MAX_NLU_CHARS
    filler: Tuple[Pattern[str], ...] = ()

    def __call__(self, text: str) -> str:
        if not text:
            return ""
        if _INTENT_PAYLOAD.match(text):
            # `/intent{...}` payloads from buttons are structured, not natural language.
            return text
        text = clean_characters(text)
        text = to_simplified(text)
        text = apply_corrections(text, self.corrections)
        text = numerals_to_digits(text)
        text = drop_leading_filler(text, self.filler)
        return text[: self.max_chars]


def clean_characters(text: str) -> str:
    """Full-width -> half-width (NFKC), without zero-width chars, emoji, lone surrogates (JSON
    lets a client send "\\ud800"; OpenCC cannot encode it, found by tests/unit/test_fuzzing.py)
    or extra spaces."""
    text = _LONE_SURROGATE.sub("", text)
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    text = _EMOJI.sub(" ", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return _SPACE_BETWEEN_CJK.sub("", text)


@lru_cache(maxsize=1)
def _opencc() -> OpenCC:
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _opencc().convert(text)


def apply_corrections(text: str, corrections: Mapping[str, str]) -> str:
    # Longest first, so "转人功" wins over "人功".
    for wrong in sorted(corrections, key=len, reverse=True):
        text = text.replace(wrong, corrections[wrong])
    return text


def drop_leading_filler(text: str, filler: Tuple[Pattern[str], ...]) -> str:
    """"我老伴让我问问 手机上转账在哪" -> "手机上转账在哪"; "你好" stays "你好"."""
    changed = True
    while changed and filler:
        changed = False
        for pattern in filler:
            found = pattern.match(text)
            if not found:
                continue
            rest = _CLAUSE_GAP.sub("", text[found.end():])
            if len(rest) >= MIN_REST_AFTER_FILLER:
                text, changed = rest, True
                break
    return text


def is_only_filler(text: str, filler: Tuple[Pattern[str], ...]) -> bool:
    """"我孙子让我问一下" alone: nothing but the lead-in to a question (several_questions.py)."""
    rest, changed = _CLAUSE_GAP.sub("", text), True
    while rest and changed:
        changed = False
        for pattern in filler:
            found = pattern.match(rest)
            if found and found.end() > 0:
                rest, changed = _CLAUSE_GAP.sub("", rest[found.end():]), True
                break
    return not rest and bool(text.strip())


def numerals_to_digits(text: str) -> str:
    """五千块 -> 5000块, 两万五 -> 25000, 2万 -> 20000, 1.5万元 -> 15000元."""
    text = _CN_NUMBER_RUN.sub(lambda m: _convert_cn_run(m, text), text)
    return _DIGIT_MAGNITUDE.sub(_expand_magnitude, text)


def _convert_cn_run(match: re.Match, text: str) -> str:
    run = match.group(0)
    if _WORDS_NOT_NUMBERS.match(text, match.start()):
        return run
    if run[0] in "百千万亿":
        return run  # 千万别, 万一, 百分之 ...
    has_magnitude = any(ch in _CN_MAGNITUDES for ch in run)
    followed_by_currency = bool(_CURRENCY_AFTER.match(text, match.end()))
    if len(run) == 1 and not (has_magnitude or followed_by_currency):
        return run  # a lone 一/两 is usually a word (一张卡, 两个人), not an amount
    value = _parse_cn_number(run)
    return run if value is None else _format_number(value)


def _parse_cn_number(run: str) -> Optional[Decimal]:
    try:
        return Decimal(str(cn2an.cn2an(run, "smart")))
    except (ValueError, KeyError, IndexError):
        pass
    # cn2an rejects a decimal before a magnitude (一点五万): parse "一点五" and scale it.
    if len(run) > 1 and run[-1] in _MAGNITUDE_VALUE:
        head = _parse_cn_number(run[:-1])
        if head is not None:
            return head * _MAGNITUDE_VALUE[run[-1]]
    return None


def _expand_magnitude(match: re.Match) -> str:
    try:
        value = Decimal(match.group(1)) * _MAGNITUDE_VALUE[match.group(2)]
    except InvalidOperation:
        return match.group(0)
    return _format_number(value)


def _format_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def load_corrections(path: Path = DEFAULT_TYPOS_PATH) -> Dict[str, str]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    corrections = data.get("corrections") or {}
    return {str(k): str(v) for k, v in corrections.items()}


def load_filler(path: Path = DEFAULT_FILLER_PATH) -> Tuple[Pattern[str], ...]:
    if not path.exists():
        return ()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(re.compile(str(pattern)) for pattern in data.get("leading") or [])


@lru_cache(maxsize=1)
def default_normalizer() -> Normalizer:
    return Normalizer(corrections=load_corrections(), filler=load_filler())


_CJK_OR_DIGIT = re.compile(r"[\u4e00-\u9fff\d]")
_LATIN_WORD = re.compile(r"[a-z]+")


def load_latin_words(path: Path = DEFAULT_LATIN_WORDS_PATH) -> frozenset:
    if not path.exists():
        return frozenset()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return frozenset(str(word).lower() for word in data.get("words") or [])


def is_unreadable(text: str, known_words: frozenset) -> bool:
    """Letters only (no Chinese, no digits) and none of them a known word: "asdfgh", "qwerty"."""
    if not text or _CJK_OR_DIGIT.search(text) or text.startswith("/"):
        return False
    words = _LATIN_WORD.findall(text.lower())
    return bool(words) and not any(word in known_words for word in words)
