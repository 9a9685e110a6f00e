"""Check and train (content studio): start a job, follow it, activate its model, roll back.

  POST /api/studio/jobs                  start a check-and-train job (409 while one runs)
  GET  /api/studio/jobs/current          the newest job (404 before the first)
  GET  /api/studio/jobs/{job_id}         one job
  POST /api/studio/jobs/{job_id}/activate  switch Rasa to the job's model (only when its gates passed)
  POST /api/studio/models/rollback       switch Rasa back to the model before the active one
  GET  /api/studio/models                what Rasa runs, what roll back would restore, the history

Content editors and supervisors only. studio/training.py does the work.
"""
from __future__ import annotations

from typing import List, Optional

from fastapi import APIRouter, Path as PathParam
from pydantic import Field

from services.agent_desk import errors
from services.agent_desk.api.deps import StudioDep, StudioUser
from services.agent_desk.studio import Studio
from services.agent_desk.studio.models_registry import Activation, ModelRecord, StudioModel
from services.agent_desk.studio.training import Job, Trainer

router = APIRouter(prefix="/api/studio", tags=["studio"])

JobId = PathParam(..., max_length=40, description="a job id from POST /api/studio/jobs")


class WorkersOut(StudioModel):
    total: int = Field(..., description="Rasa workers running now (every worker of every Rasa process)")
    on_latest: int = Field(..., description="of them, those running the model the studio last activated")


class ModelsOut(StudioModel):
    running: Optional[str] = Field(None, description="the model file Rasa runs now (every worker's record, else "
                                                     "GET /status); null: unknown")
    running_model_id: Optional[str] = None
    rasa_error: Optional[str] = Field(None, description="why Rasa could not be asked (Chinese); null when it answered")
    active: Optional[ModelRecord] = Field(None, description="the running model, with who activated it and when")
    previous: Optional[ModelRecord] = Field(None, description="what POST /models/rollback switches back to")
    can_roll_back: bool
    in_sync: bool = Field(..., description="false: Rasa runs another model than the studio last activated "
                                           "(e.g. Rasa was restarted), or not every worker has followed yet")
    workers: Optional[WorkersOut] = Field(None, description="what the Rasa workers report (null: Redis unreadable)")
    switching: bool = Field(False, description="some workers run or are loading the model the studio last "
                                               "activated, others not yet: ask again in a few seconds")
    history: List[Activation] = Field(..., description="activations and roll backs, newest first")
    last: Optional[Activation] = Field(None, description="the switch this request made (roll back)")


def _trainer(studio: Studio) -> Trainer:
    if studio.trainer is None:
        raise errors.StudioUnavailable("训练功能未启用")
    return studio.trainer


def _models(trainer: Trainer, last: Optional[Activation] = None) -> ModelsOut:
    status, problem, stack, history = trainer.models()
    top = stack[-1] if stack else None
    previous = stack[-2] if len(stack) >= 2 else None
    running = status.model_file
    reports, workers, switching = trainer.workers.models(), None, False
    if reports:  # every worker's word, not only that of the one that answered GET /status
        names = {report.name for report in reports}
        running = names.pop() if len(names) == 1 else running
        if top is not None:
            workers = WorkersOut(total=len(reports), on_latest=sum(r.name == top.name for r in reports))
            switching = workers.on_latest < workers.total and (
                workers.on_latest > 0 or any(r.loading == top.name for r in reports))
    if switching:
        active = top
    elif running:
        active = top if top and top.name == running else (
            trainer.registry.record(running) or ModelRecord(name=running, model_id=status.model_id))
    else:
        active = top if problem else None
    if workers is not None:
        in_sync = workers.on_latest == workers.total
    else:
        in_sync = problem is not None or top is None or top.name == status.model_file
    return ModelsOut(running=running, running_model_id=status.model_id, rasa_error=problem, active=active,
                     previous=previous, can_roll_back=bool(previous and previous.path), in_sync=in_sync,
                     workers=workers, switching=switching, history=list(reversed(history)), last=last)


@router.post("/jobs", response_model=Job, status_code=202, responses=errors.error_responses(403, 409, 503))
def start_job(studio: StudioDep, user: StudioUser) -> Job:
    """Checks and trains the studio branch's newest commit in the background; poll the job."""
    trainer = _trainer(studio)
    studio.workspace.ensure()
    return trainer.start(user.username, user.display_name)


@router.get("/jobs/current", response_model=Job, responses=errors.error_responses(403, 404))
def current_job(studio: StudioDep, user: StudioUser) -> Job:
    """The newest job, running or finished (what the page shows after a reload)."""
    job = _trainer(studio).current()
    if job is None:
        raise errors.NotFound("还没有训练任务", code="no_job")
    return job


@router.get("/jobs/{job_id}", response_model=Job, responses=errors.error_responses(403))
def get_job(studio: StudioDep, user: StudioUser, job_id: str = JobId) -> Job:
    return _trainer(studio).get(job_id)


@router.post("/jobs/{job_id}/activate", response_model=Job, responses=errors.error_responses(403, 409, 503))
def activate(studio: StudioDep, user: StudioUser, job_id: str = JobId) -> Job:
    """Switches the running Rasa to the job's model (PUT /model), only when the job is "ready"."""
    return _trainer(studio).activate(job_id, user.username, user.display_name)


@router.post("/models/rollback", response_model=ModelsOut, responses=errors.error_responses(403, 409, 503))
def roll_back(studio: StudioDep, user: StudioUser) -> ModelsOut:
    """Switches Rasa back to the model that ran before the active one."""
    trainer = _trainer(studio)
    entry = trainer.rollback(user.username, user.display_name)
    return _models(trainer, entry)


@router.get("/models", response_model=ModelsOut, responses=errors.error_responses(403))
def models(studio: StudioDep, user: StudioUser) -> ModelsOut:
    return _models(_trainer(studio))
