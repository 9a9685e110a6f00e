"""The desk's report per queue: handled, median wait, median handling time, CSAT, dispositions.

Computed from SQL (the record), over handoffs closed in [since, until). Suggestion use is
counted once the desk shows suggested replies (issue 15 item 1); until then it is `None`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from statistics import mean, median
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.agent_desk.models import FollowUpTask, Handoff
from services.agent_desk.schemas import QueueReportOut, ReportOut

UNKNOWN_DISPOSITION = "unknown"


def desk_report(session: Session, queue_labels: Sequence[Tuple[str, str]], since: datetime,
                until: datetime) -> ReportOut:
    closed = session.execute(
        select(Handoff).where(Handoff.status == "closed", Handoff.claimed_at.isnot(None),
                              Handoff.closed_at >= since, Handoff.closed_at < until)).scalars()
    by_queue: Dict[str, List[Handoff]] = defaultdict(list)
    for handoff in closed:
        by_queue[handoff.queue].append(handoff)
    open_tasks = session.execute(select(func.count()).select_from(FollowUpTask)
                                 .where(FollowUpTask.done_at.is_(None))).scalar()
    return ReportOut(since=since, until=until, open_follow_ups=int(open_tasks or 0),
                     queues=[_queue_report(name, label, by_queue.get(name, [])) for name, label in queue_labels])


def _queue_report(name: str, label: str, handoffs: List[Handoff]) -> QueueReportOut:
    waits = [(h.claimed_at - h.waiting_since).total_seconds() for h in handoffs]
    handling = [(h.closed_at - h.claimed_at).total_seconds() for h in handoffs]
    ratings = [h.rating for h in handoffs if h.rating]
    dispositions = Counter(h.wrap_up.disposition if h.wrap_up else UNKNOWN_DISPOSITION for h in handoffs)
    return QueueReportOut(queue=name, label=label, handled=len(handoffs), median_wait_seconds=_median(waits),
                          median_handling_seconds=_median(handling), rated=len(ratings),
                          csat=round(mean(ratings), 2) if ratings else None, dispositions=dict(dispositions))


def _median(values: List[float]) -> Optional[float]:
    return round(median(values), 1) if values else None
