"""Masking of personal numbers in replies, logs and transcripts.

- bank card numbers (16-19 digits, optionally grouped by spaces or dashes): last 4 only
  -> `**** **** **** 1234`
- mainland ID numbers (18 characters with a birth date inside, last may be X): first 3 and
  last 2 -> `110*************34`
- mobile numbers (11 digits starting with 1): first 3 and last 4 -> `138****5678`
- names (`mask_name`, for fields that hold a name): 张丽 -> 张*, 王建明 -> 王*明,
  杭州明远贸易有限公司 -> 杭州******公司

The one masking module of the project: core banking, the actions, the agent desk and the
content tools (`make mine`) all mask with these rules.
"""
from __future__ import annotations

import re

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
