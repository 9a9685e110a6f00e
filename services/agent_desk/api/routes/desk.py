"""Reference data for the console: canned replies, queues, who is online."""
from __future__ import annotations

from typing import List

from fastapi import APIRouter

from services.agent_desk.api.deps import CurrentAgent, DeskDep, LiveDep, SettingsDep, Supervisor
from services.agent_desk.canned import CANNED_RESPONSES
from services.agent_desk.schemas import CannedResponseOut, OnlineAgentOut, QueueOut
from services.agent_desk.service import Actor

router = APIRouter(prefix="/api", tags=["desk"])


@router.get("/canned-responses", response_model=List[CannedResponseOut])
def canned_responses(agent: CurrentAgent):
    return CANNED_RESPONSES


@router.get("/queues", response_model=List[QueueOut])
def queues(agent: CurrentAgent, desk: DeskDep, settings: SettingsDep):
    counts, viewer = desk.queue_counts(), Actor.of(agent)
    return [QueueOut(name=name, label=label, waiting=counts.get(name, 0), served=viewer.serves(name))
            for name, label in settings.queue_labels]


@router.get("/agents/online", response_model=List[OnlineAgentOut])
def online_agents(agent: CurrentAgent, live: LiveDep):
    return [OnlineAgentOut(**a) for a in live.online_agents()]


@router.post("/admin/rebuild-live", response_model=dict)
def rebuild_live(supervisor: Supervisor, desk: DeskDep, live: LiveDep):
    """Rebuilds the Redis live state from SQL now (it also happens at startup and automatically)."""
    count = live.rebuild(desk.session)
    desk.audit_agent(Actor.of(supervisor), "rebuilt_live_state", {"open_handoffs": count})
    return {"open_handoffs": count}
