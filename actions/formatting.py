"""How amounts, dates and statuses read in replies (plain Chinese, no jargon).

The words are content: the `amount_*` and `date*` fragments of data/knowledge/wording.yml.
Only the digits are written here (thousands separators, two decimals, the local time)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional, Union
from zoneinfo import ZoneInfo

from actions.knowledge import fragment

BANK_TIMEZONE = ZoneInfo("Asia/Shanghai")
Number = Union[Decimal, int, float]


def yuan(amount: Optional[Number]) -> str:
    """5000 -> '5,000 元', 12345.6 -> '12,345.60 元', 50000 -> '5 万元', None -> '不设上限'."""
    if amount is None:
        return fragment("amount_unlimited")
    value = Decimal(str(amount))
    if value >= 10000 and value % 10000 == 0:
        return fragment("amount_wan", wan=int(value // 10000))
    if value == value.to_integral_value():
        return fragment("amount_yuan", yuan=f"{int(value):,}")
    return fragment("amount_yuan", yuan=f"{value:,.2f}")


def when(moment: Optional[Union[datetime, date]]) -> str:
    """'3月5日 14:30' for a moment, '3月5日' for a date, '—' for none."""
    if moment is None:
        return fragment("date_unknown")
    if isinstance(moment, datetime):
        local = moment.astimezone(BANK_TIMEZONE) if moment.tzinfo else moment
        return fragment("date_time", month=local.month, day=local.day, time=f"{local:%H:%M}")
    return fragment("date", month=moment.month, day=moment.day)


def last4(masked_number: str) -> str:
    digits = [ch for ch in masked_number if ch.isdigit()]
    return "".join(digits[-4:])
