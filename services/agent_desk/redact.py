"""Defence in depth: everything the desk stores goes through bot.masking first."""
from __future__ import annotations

import re
from typing import Any

from bot.masking import mask_text

_LONG_NUMBER = re.compile(r"^\d{11,19}$")


def mask(text: str) -> str:
    return mask_text(text or "")


def mask_name(name: str) -> str:
    """Keeps the surname only: 张三丰 -> 张**; names that already contain * are kept as they are."""
    name = mask(name or "").strip()
    if not name or "*" in name or len(name) == 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_value(value: Any, depth: int = 0) -> Any:
    """Masks strings (and long integers: card/phone numbers sent as numbers) in nested slot values."""
    if depth > 10:
        return None
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return mask(str(value)) if _LONG_NUMBER.match(str(abs(value))) else value
    if isinstance(value, dict):
        return {str(mask(str(k))): mask_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v, depth + 1) for v in value]
    return mask(str(value))
