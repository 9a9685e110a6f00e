"""The desk's report per queue: handled, median wait, median handling time, CSAT, dispositions.

Computed from SQL (the record), over handoffs closed in [since, until). Suggestion use counts
customer messages that came with suggested replies (suggestions.py): "used" when the agent
sent one as it was, "edited" when they changed it first, "ignored" otherwise; the rate is
(used + edited) / all of them, `None` for a queue where no suggestion was shown.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from statistics import mean, median
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.agent_desk.models import FollowUpTask, Handoff, Suggestion
from services.agent_desk.suggestions import EDITED, IGNORED, USED
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
    uses = _suggestion_use(session, [h.id for hs in by_queue.values() for h in hs])
    open_tasks = session.execute(select(func.count()).select_from(FollowUpTask)
                                 .where(FollowUpTask.done_at.is_(None))).scalar()
    return ReportOut(since=since, until=until, open_follow_ups=int(open_tasks or 0),
                     queues=[_queue_report(name, label, by_queue.get(name, []), uses)
                             for name, label in queue_labels])


def _suggestion_use(session: Session, handoff_ids: List[str]) -> Dict[str, Counter]:
    """Per handoff: its customer messages with suggestions, by what became of them."""
    per_message: Dict[Tuple[str, int], str] = {}
    for chunk in (handoff_ids[i:i + 500] for i in range(0, len(handoff_ids), 500)):
        rows = session.execute(select(Suggestion.handoff_id, Suggestion.message_id, Suggestion.outcome)
                               .where(Suggestion.handoff_id.in_(chunk)))
        for handoff_id, message_id, outcome in rows:
            key = (handoff_id, message_id)
            per_message[key] = _better(per_message.get(key, IGNORED), outcome)
    found: Dict[str, Counter] = defaultdict(Counter)
    for (handoff_id, _), outcome in per_message.items():
        found[handoff_id][outcome] += 1
    return found


def _better(a: str, b: str) -> str:
    order = {USED: 2, EDITED: 1}
    return a if order.get(a, 0) >= order.get(b, 0) else b


def _queue_report(name: str, label: str, handoffs: List[Handoff], uses: Dict[str, Counter]) -> QueueReportOut:
    waits = [(h.claimed_at - h.waiting_since).total_seconds() for h in handoffs]
    handling = [(h.closed_at - h.claimed_at).total_seconds() for h in handoffs]
    ratings = [h.rating for h in handoffs if h.rating]
    dispositions = Counter(h.wrap_up.disposition if h.wrap_up else UNKNOWN_DISPOSITION for h in handoffs)
    suggested: Counter = sum((uses.get(h.id, Counter()) for h in handoffs), Counter())
    shown = sum(suggested.values())
    use_rate = round((suggested[USED] + suggested[EDITED]) / shown, 3) if shown else None
    return QueueReportOut(queue=name, label=label, handled=len(handoffs), median_wait_seconds=_median(waits),
                          median_handling_seconds=_median(handling), rated=len(ratings),
                          csat=round(mean(ratings), 2) if ratings else None, dispositions=dict(dispositions),
                          suggestion_use_rate=use_rate,
                          suggestions={k: suggested[k] for k in (USED, EDITED, IGNORED)} if shown else {})


def _median(values: List[float]) -> Optional[float]:
    return round(median(values), 1) if values else None
