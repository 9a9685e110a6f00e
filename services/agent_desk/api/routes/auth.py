from __future__ import annotations

from fastapi import APIRouter, Request

from services.agent_desk import errors
from services.agent_desk.api.deps import LiveDep, SessionDep, SettingsDep, SignedIn
from services.agent_desk.models import Agent, AuditEvent
from services.agent_desk.schemas import AgentOut, LoginIn, TokenOut
from services.agent_desk.security import DESK_ROLES, DUMMY_HASH, issue_agent_token, verify_password

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut, responses=errors.error_responses(401, 429))
def login(body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep, live: LiveDep) -> TokenOut:
    username = body.username.strip()
    client = request.client.host if request.client else ""
    if live.login_locked(username, client, settings.login_max_failures):
        raise errors.TooManyAttempts()
    agent = session.query(Agent).filter(Agent.username == username).one_or_none()
    ok = verify_password(body.password, agent.password_hash if agent else DUMMY_HASH)
    if not ok or agent is None or not agent.active:
        live.login_failed(username, client, settings.login_lock_seconds)
        session.add(AuditEvent(actor_type="agent", actor=username[:64], action="login_failed", detail={"ip": client}))
        session.commit()
        raise errors.InvalidCredentials()
    live.login_succeeded(username, client)
    if agent.role in DESK_ROLES:  # a content editor is not an agent taking handoffs
        live.touch_presence(agent)
    session.add(AuditEvent(actor_type="agent", actor=agent.username, action="login", detail={"ip": client}))
    session.commit()
    token = issue_agent_token(settings.jwt_secret, agent.username, agent.role, agent.display_name,
                              settings.token_ttl_seconds)
    return TokenOut(access_token=token, expires_in=settings.token_ttl_seconds, agent=AgentOut.from_orm(agent))


@router.get("/me", response_model=AgentOut)
def me(agent: SignedIn) -> AgentOut:
    return AgentOut.from_orm(agent)


@router.post("/logout", response_model=AgentOut)
def logout(agent: SignedIn, live: LiveDep) -> AgentOut:
    """Marks the agent offline (the token itself expires on its own)."""
    live.drop_presence(agent.username)
    return AgentOut.from_orm(agent)
