"""How amounts, dates and statuses read in replies (plain Chinese, no jargon)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional, Union
from zoneinfo import ZoneInfo

BANK_TIMEZONE = ZoneInfo("Asia/Shanghai")
Number = Union[Decimal, int, float]


def yuan(amount: Optional[Number]) -> str:
    """5000 -> '5,000 元', 12345.6 -> '12,345.60 元', 50000 -> '5 万元'."""
    if amount is None:
        return "不设上限"
    value = Decimal(str(amount))
    if value >= 10000 and value % 10000 == 0:
        return f"{int(value // 10000)} 万元"
    if value == value.to_integral_value():
        return f"{int(value):,} 元"
    return f"{value:,.2f} 元"


def when(moment: Optional[Union[datetime, date]]) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        local = moment.astimezone(BANK_TIMEZONE) if moment.tzinfo else moment
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return f"{moment.month}月{moment.day}日"


def last4(masked_number: str) -> str:
    digits = [ch for ch in masked_number if ch.isdigit()]
    return "".join(digits[-4:])
