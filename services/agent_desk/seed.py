"""Demo agents for development (only with AGENT_DESK_SEED_DEMO=true: `make run` sets it; off by default).

| username    | password         | role       |
|-------------|------------------|------------|
| agent1      | agent1-demo      | agent      |
| agent2      | agent2-demo      | agent      |
| supervisor1 | supervisor1-demo | supervisor |
"""
from __future__ import annotations

from typing import List, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.agent_desk.models import Agent
from services.agent_desk.security import ROLES, hash_password

DEMO_AGENTS: List[Tuple[str, str, str, str]] = [
    # username, password, display name, role
    ("agent1", "agent1-demo", "坐席 王芳", "agent"),
    ("agent2", "agent2-demo", "坐席 李明", "agent"),
    ("supervisor1", "supervisor1-demo", "班长 陈静", "supervisor"),
]


def create_agent(session: Session, username: str, password: str, display_name: str, role: str) -> Agent:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    agent = Agent(username=username, display_name=display_name, role=role, password_hash=hash_password(password))
    session.add(agent)
    session.commit()
    return agent


def seed_demo_agents(session: Session) -> List[str]:
    """Creates the demo agents that do not exist yet; returns the usernames created."""
    existing = set(session.execute(select(Agent.username)).scalars())
    created = []
    for username, password, display_name, role in DEMO_AGENTS:
        if username not in existing:
            create_agent(session, username, password, display_name, role)
            created.append(username)
    return created
