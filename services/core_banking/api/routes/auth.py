from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from services.core_banking import crud
from services.core_banking.api.deps import SessionDep, SettingsDep
from services.core_banking.errors import NotAuthenticated, error_responses
from services.core_banking.schemas import LoginIn, TokenOut
from services.core_banking.security import issue_customer_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut, summary="Demo login: customer id + password -> customer JWT",
             responses=error_responses(401))
def login(body: LoginIn, session: SessionDep, settings: SettingsDep) -> TokenOut:
    customer = crud.authenticate(session, username=body.username, password=body.password)
    if customer is None:
        raise NotAuthenticated("用户名或密码错误", "Invalid username or password", code="invalid_credentials")
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token = issue_customer_token(customer.id, private_key=settings.jwt_private_key, ttl=ttl)
    return TokenOut(access_token=token, expires_in=int(ttl.total_seconds()), customer_id=customer.id)
