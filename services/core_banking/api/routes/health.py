"""Liveness (`/health`) and readiness (`/ready`); neither needs authentication nor is ever
fault-injected (faults.EXEMPT_PATHS)."""
from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text

from services.core_banking.api.deps import SessionDep
from services.core_banking.errors import CoreBankingError
from services.core_banking.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, summary="Liveness and database check (never fault-injected)")
def health(session: SessionDep) -> HealthOut:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # the database is down: report it, do not crash
        raise CoreBankingError("数据库不可用", "Database unavailable", code="database_unavailable") from exc
    return HealthOut(status="ok", database="ok")


@router.get("/ready", response_model=HealthOut, summary="Readiness: 200 when the database answers, else 503",
            responses={503: {"model": HealthOut, "description": "not ready: the database does not answer"}})
def ready(session: SessionDep, response: Response) -> HealthOut:
    try:
        session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - not ready is an answer, not an error
        response.status_code = 503
        return HealthOut(status="unavailable", database="unavailable")
    return HealthOut(status="ready", database="ok")
