"""Dependencies shared by the routers, as Annotated aliases.

    SessionDep       a database session for the request
    SettingsDep      the service settings
    CurrentCustomer  the customer of a valid customer JWT (401 otherwise; the service token
                     is not a JWT, so it never passes)
    ServiceCaller    the internal caller holding CORE_BANKING_SERVICE_TOKEN (401 otherwise;
                     a customer JWT never passes)
    AnyCaller        either of the two (reference data)
    RecordId         a record id in the path (card, transfer, loan, complaint): letters, digits,
                     "_" and "-", at most 40 (anything else is 422, before the database sees it)
"""
from __future__ import annotations

from typing import Annotated, Iterator, Optional

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from services.core_banking import crud, models
from services.core_banking.config import CoreBankingSettings
from services.core_banking.errors import NotAuthenticated
from services.core_banking.faults import FaultState
from services.core_banking.security import customer_id_from_token, is_service_token

_customer_bearer = HTTPBearer(auto_error=False, scheme_name="CustomerToken",
                              description="JWT from POST /auth/login (or /internal/wechat/token)")
_service_bearer = HTTPBearer(auto_error=False, scheme_name="ServiceToken",
                             description="CORE_BANKING_SERVICE_TOKEN (internal callers only)")
_desk_bearer = HTTPBearer(auto_error=False, scheme_name="DeskToken",
                          description="CORE_BANKING_DESK_TOKEN (the agent desk: read-only customer overviews)")


def get_settings(request: Request) -> CoreBankingSettings:
    return request.app.state.settings


def get_faults(request: Request) -> FaultState:
    return request.app.state.faults


def get_session(request: Request) -> Iterator[Session]:
    yield from request.app.state.db.session()


RecordId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
SettingsDep = Annotated[CoreBankingSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
FaultsDep = Annotated[FaultState, Depends(get_faults)]


def _bearer(credentials: Optional[HTTPAuthorizationCredentials]) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise NotAuthenticated()
    return credentials.credentials


def get_current_customer(
    session: SessionDep, settings: SettingsDep,
    credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(_customer_bearer)],
) -> models.Customer:
    customer_id = customer_id_from_token(_bearer(credentials), public_key=settings.jwt_public_key)
    customer = crud.get_customer(session, customer_id=customer_id) if customer_id else None
    if customer is None:
        raise NotAuthenticated()
    return customer


def require_service(
    settings: SettingsDep,
    credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(_service_bearer)],
) -> str:
    if not is_service_token(_bearer(credentials), service_token=settings.service_token):
        raise NotAuthenticated("需要内部服务令牌", "Service token required")
    return "service"


def any_caller(
    session: SessionDep, settings: SettingsDep,
    credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(_customer_bearer)],
    _service: Annotated[Optional[HTTPAuthorizationCredentials], Depends(_service_bearer)],
) -> str:
    # Both schemes read the same Authorization header; naming both documents "either" in OpenAPI.
    token = _bearer(credentials)
    if is_service_token(token, service_token=settings.service_token):
        return "service"
    customer_id = customer_id_from_token(token, public_key=settings.jwt_public_key)
    if customer_id and crud.get_customer(session, customer_id=customer_id) is not None:
        return customer_id
    raise NotAuthenticated()


def require_desk(
    settings: SettingsDep,
    credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(_desk_bearer)],
    x_desk_agent: Annotated[Optional[str], Header(max_length=64)] = None,
) -> str:
    """The agent desk, reading for one of its agents (named in X-Desk-Agent, for our logs)."""
    if not is_service_token(_bearer(credentials), service_token=settings.desk_token):
        raise NotAuthenticated("需要坐席台的服务令牌", "Agent desk token required")
    return f"desk:{x_desk_agent or '?'}"


CurrentCustomer = Annotated[models.Customer, Depends(get_current_customer)]
DeskCaller = Annotated[str, Depends(require_desk)]
ServiceCaller = Annotated[str, Depends(require_service)]
AnyCaller = Annotated[str, Depends(any_caller)]
