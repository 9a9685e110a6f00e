"""Demo agents for development (only with AGENT_DESK_SEED_DEMO=true: `make run` sets it; off by default).

| username    | password         | role       | queues                                  |
|-------------|------------------|------------|-----------------------------------------|
| agent1      | agent1-demo      | agent      | general, cards, loans, wealth, complaints |
| agent2      | agent2-demo      | agent      | general, loans                          |
| supervisor1 | supervisor1-demo | supervisor | (every queue)                           |
| content1    | content1-demo    | content    | (none: the content studio only)         |
"""
from __future__ import annotations

from typing import Iterable, List, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.agent_desk.models import Agent, AgentQueue
from services.agent_desk.security import ROLES, hash_password

DEMO_AGENTS: List[Tuple[str, str, str, str, Tuple[str, ...]]] = [
    # username, password, display name, role, queues served
    ("agent1", "agent1-demo", "坐席 王芳", "agent", ("general", "cards", "loans", "wealth", "complaints")),
    ("agent2", "agent2-demo", "坐席 李明", "agent", ("general", "loans")),
    ("supervisor1", "supervisor1-demo", "班长 陈静", "supervisor", ()),
    ("content1", "content1-demo", "内容编辑 赵敏", "content", ()),
]


def create_agent(session: Session, username: str, password: str, display_name: str, role: str,
                 queues: Iterable[str] = ()) -> Agent:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    agent = Agent(username=username, display_name=display_name, role=role, password_hash=hash_password(password))
    agent.queue_rows = [AgentQueue(queue=q) for q in sorted(set(queues))]
    session.add(agent)
    session.commit()
    return agent


def set_queues(session: Session, username: str, queues: Iterable[str]) -> Agent:
    """Replaces the queues an agent serves."""
    agent = session.execute(select(Agent).where(Agent.username == username)).scalar()
    if agent is None:
        raise LookupError(f"no agent {username!r}")
    agent.queue_rows = [AgentQueue(queue=q) for q in sorted(set(queues))]
    session.commit()
    return agent


def seed_demo_agents(session: Session) -> List[str]:
    """Creates the demo agents that do not exist yet; returns the usernames created."""
    existing = {a.username: a for a in session.execute(select(Agent)).scalars()}
    created = []
    for username, password, display_name, role, queues in DEMO_AGENTS:
        if username not in existing:
            create_agent(session, username, password, display_name, role, queues)
            created.append(username)
        elif queues and not existing[username].queues:  # seeded before agents had queues
            set_queues(session, username, queues)
    return created
