"""After the conversation: follow-up tasks and the desk's report (supervisors)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import List

from fastapi import APIRouter, Path, Query

from services.agent_desk.api.deps import CurrentAgent, DeskDep, Supervisor
from services.agent_desk.schemas import FollowUpTaskOut, ReportOut
from services.agent_desk.service import Actor

router = APIRouter(prefix="/api", tags=["wrap-up"])


def _task_out(task, now: datetime) -> FollowUpTaskOut:
    return FollowUpTaskOut(**{c: getattr(task, c) for c in FollowUpTaskOut.__fields__ if c != "overdue"},
                           overdue=task.done_at is None and task.due_at <= now)


@router.get("/tasks", response_model=List[FollowUpTaskOut])
def follow_up_tasks(desk: DeskDep, agent: CurrentAgent, include_done: bool = Query(False)):
    """Open follow-up tasks, soonest due first: all of them for supervisors, an agent's own otherwise."""
    now = desk.clock()
    return [_task_out(t, now) for t in desk.follow_up_tasks(Actor.of(agent), include_done)]


@router.post("/tasks/{task_id}/done", response_model=FollowUpTaskOut)
def finish_task(desk: DeskDep, agent: CurrentAgent, task_id: int = Path(..., ge=1, le=2 ** 31 - 1)):
    return _task_out(desk.finish_task(task_id, Actor.of(agent)), desk.clock())


@router.get("/report", response_model=ReportOut)
def report(desk: DeskDep, supervisor: Supervisor, days: int = Query(7, ge=1, le=366)):
    """Per queue over the last `days` days: handled, median wait and handling time, CSAT, dispositions."""
    until = desk.clock()
    return desk.report(until - timedelta(days=days), until + timedelta(seconds=1))
