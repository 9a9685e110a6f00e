"""Masking of personal numbers in replies, logs and transcripts.

- bank card numbers (16-19 digits, optionally grouped by spaces or dashes): last 4 only
  -> `**** **** **** 1234`
- mainland ID numbers (18 characters with a birth date inside, last may be X): first 3 and
  last 2 -> `110*************34`
- mobile numbers (11 digits starting with 1): first 3 and last 4 -> `138****5678`
- names (`mask_name`, for fields that hold a name): 张丽 -> 张*, 王建明 -> 王*明,
  杭州明远贸易有限公司 -> 杭州******公司
- names said in free text (`mask_personal`, for what the content team reads: `make mine`, the
  content reports): a common surname and one or two more characters after a cue ("我叫",
  "户名") or before a form of address ("女士"); the rules are content, in
  data/lexicon/names.yml. Transcripts at the agent desk keep names (agents address the customer).

The one masking module of the project: core banking, the actions, the agent desk and the
content tools (`make mine`) all mask with these rules.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

NAMES_PATH = Path(__file__).resolve().parents[1] / "data" / "lexicon" / "names.yml"

_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")
# region (6) + birth date YYYYMMDD + sequence (3) + check digit; the date tells it from a card.
_ID_NUMBER = re.compile(
    r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
)
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_card(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return f"**** **** **** {digits[-4:]}"


def mask_id_number(number: str) -> str:
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def mask_mobile(number: str) -> str:
    return number[:3] + "****" + number[-4:]


def mask_name(name: str) -> str:
    """First character (first two of a long, company-like name) and last; a masked name stays."""
    name = mask_text((name or "").strip())
    if len(name) <= 1 or "*" in name:
        return name
    if len(name) == 2:
        return name[0] + "*"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name[:2] + "*" * (len(name) - 4) + name[-2:]


def mask_text(text: str) -> str:
    """Masks every card, ID and mobile number found in free text.

    ID numbers are checked before cards: an 18-digit ID would otherwise look like a card.
    """
    if not text:
        return text
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _CARD.sub(lambda m: mask_card(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_mobile(m.group(0)), text)


def mask_personal(text: str) -> str:
    """mask_text, and the names said in the text too: what people outside the desk may read."""
    if not text:
        return text
    return _name_pattern().sub(_mask_found_name, mask_text(text))


def _mask_found_name(match: "re.Match[str]") -> str:
    if match.group("after_cue"):
        return match.group("cue") + mask_name(match.group("after_cue"))
    return mask_name(match.group("addressed"))


@functools.lru_cache(maxsize=None)
def _name_pattern(path: Path = NAMES_PATH) -> "re.Pattern[str]":
    """A surname and one or two given-name characters, after a cue or before a form of address."""
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))
    surnames = "|".join(sorted(map(re.escape, rules["surnames"].split()), key=len, reverse=True))
    cues = "|".join(sorted(map(re.escape, rules["before_name"]), key=len, reverse=True))
    address = "|".join(map(re.escape, rules["after_name"]))
    given = rf"(?:(?!{address})(?![{re.escape(rules['never_in_name'])}])[\u4e00-\u9fff])"
    name = rf"(?:{surnames}){given}{{1,2}}"
    return re.compile(rf"(?P<cue>(?:{cues})[\s:：]*)(?P<after_cue>{name})|(?P<addressed>{name})(?={address})")
