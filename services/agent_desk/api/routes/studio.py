"""The content studio's shared routes: read a content file, the history, the patch to review.

The inbox, annotation, answers and training routes are in studio_*.py beside this module.
"""
from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from services.agent_desk import errors
from services.agent_desk.api.deps import StudioDep, StudioUser
from services.agent_desk.studio.schemas import ChangeOut, FileOut, HistoryOut

router = APIRouter(prefix="/api/studio", tags=["studio"])


@router.get("/files", response_model=FileOut, responses=errors.error_responses(403, 503))
def read_file(studio: StudioDep, user: StudioUser,
              path: str = Query(..., max_length=300, description="e.g. data/nlu/limits.yml")) -> FileOut:
    return FileOut.of(studio.workspace.read(path))


@router.get("/history", response_model=HistoryOut, responses=errors.error_responses(403, 503))
def history(studio: StudioDep, user: StudioUser, limit: int = Query(50, ge=1, le=500)) -> HistoryOut:
    """Who changed what and when, on the studio branch (newest first)."""
    changes = studio.workspace.history(limit)
    return HistoryOut(branch=studio.workspace.branch, changes=[ChangeOut.of(c) for c in changes])


# The patch is text; its error answers are JSON like every other route's (so not response_class).
PATCH_ANSWER = {200: {"description": "`git format-patch` output", "content": {"text/plain": {"schema": {"type": "string"}}}}}


@router.get("/changes.patch", response_class=Response, responses={**PATCH_ANSWER, **errors.error_responses(403, 503)})
def patch(studio: StudioDep, user: StudioUser) -> Response:
    """The studio's commits that the project's checked-out branch does not have (`git am` input)."""
    return PlainTextResponse(studio.workspace.patch())
