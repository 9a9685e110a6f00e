"""Liveness (`/health`) and readiness (`/ready`): no authentication; they say only whether
the database and Redis answer."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from services.agent_desk.schemas import HealthOut

router = APIRouter(tags=["health"])


def _database_state(request: Request) -> str:
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - reported, not raised
        return "unavailable"
    return "ok"


@router.get("/health", response_model=HealthOut,
            responses={503: {"model": HealthOut, "description": "the database does not answer"}})
def health(request: Request, response: Response) -> HealthOut:
    """Liveness: 503 only if the database is down; Redis down is "degraded" (the desk serves from SQL)."""
    database = _database_state(request)
    redis_state = "ok" if request.app.state.live.ping() else "unavailable"
    status = "ok" if database == "ok" and redis_state == "ok" else "degraded"
    if database != "ok":
        response.status_code = 503
    return HealthOut(status=status, database=database, redis=redis_state)


@router.get("/ready", response_model=HealthOut,
            responses={503: {"model": HealthOut, "description": "not ready: the database or Redis does not answer"}})
def ready(request: Request, response: Response) -> HealthOut:
    """Readiness: 200 when the database and Redis answer (Redis optional with
    AGENT_DESK_READY_REQUIRES_REDIS=false), else 503 with what is missing."""
    database = _database_state(request)
    redis_state = "ok" if request.app.state.live.ping() else "unavailable"
    ready_now = database == "ok" and (redis_state == "ok" or not request.app.state.settings.ready_requires_redis)
    if not ready_now:
        response.status_code = 503
    return HealthOut(status="ready" if ready_now else "unavailable", database=database, redis=redis_state)
