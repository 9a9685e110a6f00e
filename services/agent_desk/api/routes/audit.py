"""The audit log across handoffs, for supervisors: who read or changed what, newest first."""
from __future__ import annotations

from typing import List, Optional

from fastapi import APIRouter, Query

from services.agent_desk.api.deps import DeskDep, Supervisor
from services.agent_desk.schemas import AuditEventOut

router = APIRouter(prefix="/api", tags=["audit"])


@router.get("/audit", response_model=List[AuditEventOut])
def audit_log(desk: DeskDep, supervisor: Supervisor,
              actor: Optional[str] = Query(None, max_length=64, description="only this agent or service"),
              action: Optional[str] = Query(None, max_length=32, description="e.g. viewed, listed, claimed"),
              limit: int = Query(100, ge=1, le=1000)):
    return [AuditEventOut.from_orm(e) for e in desk.agent_audit_log(actor, action, limit)]
