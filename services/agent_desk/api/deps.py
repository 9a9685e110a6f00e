"""Dependencies shared by the routers, as Annotated aliases (SessionDep, CurrentAgent, BotService, ...)."""
from __future__ import annotations

from typing import Annotated, Generator, Optional

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session


from services.agent_desk import errors
from services.agent_desk.config import DeskSettings
from services.agent_desk.live import LiveState
from services.agent_desk.models import Agent
from services.agent_desk.security import bearer_token, decode_agent_token, service_token_matches
from services.agent_desk.service import Actor, HandoffDesk


def get_settings(request: Request) -> DeskSettings:
    return request.app.state.settings


def get_session(request: Request) -> Generator[Session, None, None]:
    with request.app.state.session_factory() as session:
        yield session


def get_live(request: Request) -> LiveState:
    return request.app.state.live


SettingsDep = Annotated[DeskSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
LiveDep = Annotated[LiveState, Depends(get_live)]


def load_agent(session: Session, settings: DeskSettings, token: Optional[str]) -> Agent:
    """The agent behind an agent JWT; the role comes from the database, not from the token."""
    if not token:
        raise errors.NotAuthenticated()
    claims = decode_agent_token(settings.jwt_secret, token)
    agent = session.query(Agent).filter(Agent.username == claims.username).one_or_none()
    if agent is None or not agent.active:
        raise errors.NotAuthenticated("账号不可用", code="invalid_token")
    return agent


def get_current_agent(session: SessionDep, settings: SettingsDep, live: LiveDep,
                      authorization: Annotated[Optional[str], Header()] = None) -> Agent:
    agent = load_agent(session, settings, bearer_token(authorization))
    live.touch_presence(agent)
    return agent


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


def get_supervisor(agent: CurrentAgent) -> Agent:
    if agent.role != "supervisor":
        raise errors.Forbidden("仅班长可执行此操作")
    return agent


Supervisor = Annotated[Agent, Depends(get_supervisor)]


def get_bot_service(settings: SettingsDep, authorization: Annotated[Optional[str], Header()] = None) -> Actor:
    """The bot side (Rasa action / handoff connector), authenticated by AGENT_DESK_SERVICE_TOKEN."""
    if not service_token_matches(settings.service_token, bearer_token(authorization)):
        raise errors.NotAuthenticated("服务令牌无效", code="invalid_service_token")
    return Actor("service", "bot")


BotService = Annotated[Actor, Depends(get_bot_service)]


def get_desk(request: Request, session: SessionDep, settings: SettingsDep, live: LiveDep) -> HandoffDesk:
    return HandoffDesk(session, live, settings, request.app.state.delivery.kick,
                       metrics=getattr(request.app.state, "metrics", None))


DeskDep = Annotated[HandoffDesk, Depends(get_desk)]
