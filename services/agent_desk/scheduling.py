"""Service hours and the estimated wait.

Estimated wait (seconds) = queue_position x average handling time / max(1, agents online),
where the average handling time is the mean claim-to-close duration of the last
HANDLING_SAMPLES closed handoffs (AGENT_DESK_DEFAULT_HANDLING_SECONDS when there are none).
Outside service hours the time until the next opening is added.

What the customer is told (customer_message) is wording, not code: the `handoff_wait_next`,
`handoff_wait_ahead` and `handoff_after_hours` fragments of data/knowledge/wording.yml (the
next opening written as its `date_time`), read through services/agent_desk/wording.py.
"""
from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from typing import Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from services.agent_desk.wording import fragment

HANDLING_SAMPLES = 20


class ServiceHours:
    """A daily window in a time zone, e.g. 08:00-22:00 Asia/Shanghai ("00:00-24:00" = always open)."""

    def __init__(self, window: Tuple[time, Optional[time]], tz: str):
        self.start, self.end = window
        self.tz = ZoneInfo(tz)

    @property
    def label(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz).time()
        if self.end is None:
            return local >= self.start
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # window across midnight

    def next_open(self, now: datetime) -> datetime:
        """The next moment the desk opens (now, if it is open)."""
        if self.is_open(now):
            return now
        local = now.astimezone(self.tz)
        candidate = local.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate


def average_handling(samples: Sequence[float], default_seconds: int) -> float:
    recent = [s for s in list(samples)[:HANDLING_SAMPLES] if s > 0]
    return sum(recent) / len(recent) if recent else float(default_seconds)


def estimate_wait_seconds(position: Optional[int], samples: Sequence[float], agents_online: int,
                          default_seconds: int, seconds_until_open: float = 0.0) -> int:
    if not position:
        return int(seconds_until_open)
    per_customer = average_handling(samples, default_seconds)
    return int(math.ceil(position * per_customer / max(1, agents_online) + seconds_until_open))


def customer_message(position: Optional[int], wait_seconds: int, hours: ServiceHours, open_now: bool,
                     next_open: datetime) -> str:
    """What the bot can tell the customer after the handoff was registered."""
    if not open_now:
        local = next_open.astimezone(hours.tz)
        opens = fragment("date_time", month=local.month, day=local.day, time=local.strftime("%H:%M"))
        return fragment("handoff_after_hours", hours=hours.label, opens=opens)
    ahead = max(0, (position or 1) - 1)
    minutes = max(1, math.ceil(wait_seconds / 60))
    if ahead == 0:
        return fragment("handoff_wait_next", minutes=minutes)
    return fragment("handoff_wait_ahead", ahead=ahead, minutes=minutes)
