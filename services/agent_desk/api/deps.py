"""Dependencies shared by the routers, as Annotated aliases (SessionDep, CurrentAgent, BotService, ...)."""
from __future__ import annotations

from typing import Annotated, FrozenSet, Generator, Optional

from fastapi import Depends, Request
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection


from services.agent_desk import errors
from services.agent_desk.config import DeskSettings
from services.agent_desk.live import LiveState
from services.agent_desk.models import Agent
from services.agent_desk.security import DESK_ROLES, STUDIO_ROLES, decode_agent_token, service_token_matches
from services.agent_desk.service import Actor, HandoffDesk
from services.agent_desk.studio import Studio


def get_settings(request: Request) -> DeskSettings:
    return request.app.state.settings


def get_session(request: Request) -> Generator[Session, None, None]:
    with request.app.state.session_factory() as session:
        yield session


def get_live(request: Request) -> LiveState:
    return request.app.state.live


# Both read `Authorization: Bearer <token>`; as security schemes they show in /openapi.json which
# routes need which token (a header parameter named Authorization is ignored by OpenAPI tools).
_agent_bearer = HTTPBearer(auto_error=False, scheme_name="AgentToken",
                           description="agent JWT from POST /api/auth/login")
_service_bearer = HTTPBearer(auto_error=False, scheme_name="ServiceToken",
                             description="AGENT_DESK_SERVICE_TOKEN (the bot side)")
Credentials = Optional[HTTPAuthorizationCredentials]


def _token(credentials: Credentials) -> Optional[str]:
    """The bearer token, or None (no header, another scheme or nothing after "Bearer")."""
    token = credentials.credentials.strip() if credentials else ""
    return token or None


SettingsDep = Annotated[DeskSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
LiveDep = Annotated[LiveState, Depends(get_live)]


def load_user(session: Session, settings: DeskSettings, token: Optional[str]) -> Agent:
    """The user behind a desk JWT, any role; the role comes from the database, not from the token."""
    if not token:
        raise errors.NotAuthenticated()
    claims = decode_agent_token(settings.jwt_secret, token)
    agent = session.query(Agent).filter(Agent.username == claims.username).one_or_none()
    if agent is None or not agent.active:
        raise errors.NotAuthenticated("账号不可用", code="invalid_token")
    return agent


def load_agent(session: Session, settings: DeskSettings, token: Optional[str]) -> Agent:
    """An agent or supervisor: content users never see customers' handoffs."""
    agent = load_user(session, settings, token)
    if agent.role not in DESK_ROLES:
        raise errors.Forbidden("此账号不能使用坐席工作台")
    return agent


def get_signed_in(session: SessionDep, settings: SettingsDep,
                  credentials: Annotated[Credentials, Depends(_agent_bearer)]) -> Agent:
    return load_user(session, settings, _token(credentials))


SignedIn = Annotated[Agent, Depends(get_signed_in)]


def get_current_agent(session: SessionDep, settings: SettingsDep, live: LiveDep,
                      credentials: Annotated[Credentials, Depends(_agent_bearer)]) -> Agent:
    agent = load_agent(session, settings, _token(credentials))
    live.touch_presence(agent)
    return agent


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


def get_studio_user(user: SignedIn) -> Agent:
    """The content studio: content editors and supervisors."""
    if user.role not in STUDIO_ROLES:
        raise errors.Forbidden("仅内容编辑和班长可使用内容工作室")
    return user


StudioUser = Annotated[Agent, Depends(get_studio_user)]


def get_studio(request: Request) -> Studio:
    return request.app.state.studio


StudioDep = Annotated[Studio, Depends(get_studio)]


def get_supervisor(agent: CurrentAgent) -> Agent:
    if agent.role != "supervisor":
        raise errors.Forbidden("仅班长可执行此操作")
    return agent


Supervisor = Annotated[Agent, Depends(get_supervisor)]


def get_bot_service(settings: SettingsDep, credentials: Annotated[Credentials, Depends(_service_bearer)]) -> Actor:
    """The bot side (Rasa action / handoff connector), authenticated by AGENT_DESK_SERVICE_TOKEN."""
    if not service_token_matches(settings.service_token, _token(credentials)):
        raise errors.NotAuthenticated("服务令牌无效", code="invalid_service_token")
    return Actor("service", "bot")


BotService = Annotated[Actor, Depends(get_bot_service)]


def get_desk(request: Request, session: SessionDep, settings: SettingsDep, live: LiveDep) -> HandoffDesk:
    return HandoffDesk(session, live, settings, request.app.state.delivery.kick,
                       metrics=getattr(request.app.state, "metrics", None))


DeskDep = Annotated[HandoffDesk, Depends(get_desk)]


def _query_names(route: object) -> FrozenSet[str]:
    dependant = getattr(route, "dependant", None)
    return frozenset(f.alias for f in get_flat_dependant(dependant).query_params) if dependant else frozenset()


def reject_nul_in_url(connection: HTTPConnection) -> None:
    """For every route (main.py): PostgreSQL text cannot hold U+0000, and a path id or query value
    with it was a 500 there (found by the OpenAPI fuzz test). Such an id names nothing (404); such a
    value of one of the route's query parameters is invalid (422)."""
    if any("\x00" in str(value) for value in connection.path_params.values()):
        raise errors.NotFound()
    if "%00" in connection.scope.get("query_string", b"").decode("latin-1"):
        names = _query_names(connection.scope.get("route"))
        if any("\x00" in value for name, value in connection.query_params.multi_items() if name in names):
            raise errors.InvalidInput("请求参数不能包含 NUL 字符")
