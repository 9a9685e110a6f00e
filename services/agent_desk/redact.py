"""Defence in depth: everything the desk stores goes through bot.masking first."""
from __future__ import annotations

import re
from typing import Any

from bot.masking import mask_text

_LONG_NUMBER = re.compile(r"^\d{11,19}$")


def mask(text: str) -> str:
    return mask_text(text or "")


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
