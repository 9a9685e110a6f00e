"""Internal endpoints (service token only): WeChat bindings and tokens, complaints from customers
who are not logged in, the branch's card unfreeze, fault injection."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.core_banking import crud
from services.core_banking.api.deps import FaultsDep, RecordId, ServiceCaller, SessionDep, SettingsDep
from services.core_banking.errors import error_responses
from services.core_banking.presenters import card_out, guest_complaint_out, wechat_binding_out
from services.core_banking.schemas import (CardOut, FaultsIn, FaultsOut, GuestComplaintIn, GuestComplaintOut,
                                           TokenOut, WechatBindingIn, WechatBindingOut, WechatTokenIn)
from services.core_banking.security import issue_customer_token

router = APIRouter(prefix="/internal", tags=["internal (service token)"])
OpenIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.post("/wechat/bindings", response_model=WechatBindingOut, responses=error_responses(404),
             summary="Bind an openid to a customer (replaces; 404 if there is no such customer)")
def bind_wechat(body: WechatBindingIn, _: ServiceCaller, session: SessionDep) -> WechatBindingOut:
    return wechat_binding_out(crud.upsert_wechat_binding(session, openid=body.openid, customer_id=body.customer_id))


@router.get("/wechat/bindings/{openid}", response_model=WechatBindingOut, summary="The customer bound to an openid")
def get_binding(openid: OpenIdPath, _: ServiceCaller, session: SessionDep) -> WechatBindingOut:
    return wechat_binding_out(crud.get_wechat_binding(session, openid=openid))


@router.delete("/wechat/bindings/{openid}", status_code=204, response_class=Response, summary="Unbind an openid")
def delete_binding(openid: OpenIdPath, _: ServiceCaller, session: SessionDep) -> Response:
    crud.delete_wechat_binding(session, openid=openid)
    return Response(status_code=204)


@router.post("/wechat/token", response_model=TokenOut, responses=error_responses(404),
             summary="A short-lived customer token for the openid's bound customer (404 if unbound)")
def wechat_token(body: WechatTokenIn, _: ServiceCaller, session: SessionDep, settings: SettingsDep) -> TokenOut:
    binding = crud.get_wechat_binding(session, openid=body.openid)
    ttl = timedelta(seconds=settings.wechat_token_ttl_seconds)
    token = issue_customer_token(binding.customer_id, private_key=settings.jwt_private_key, ttl=ttl)
    return TokenOut(access_token=token, expires_in=int(ttl.total_seconds()), customer_id=binding.customer_id)


@router.post("/guest-complaints", response_model=GuestComplaintOut, status_code=201,
             responses=error_responses(409),
             summary="Record a complaint from someone not logged in, with a phone number to call back")
def create_guest_complaint(body: GuestComplaintIn, _: ServiceCaller, session: SessionDep) -> GuestComplaintOut:
    return guest_complaint_out(crud.create_guest_complaint(session, data=body))


@router.post("/cards/{card_id}/unfreeze", response_model=CardOut,
             summary="Branch counter: unfreeze a card after the customer showed ID in person (idempotent)")
def unfreeze_card(card_id: RecordId, _: ServiceCaller, session: SessionDep) -> CardOut:
    card, _changed = crud.unfreeze_card(session, card_id=card_id)
    return card_out(card)


@router.get("/faults", response_model=FaultsOut, summary="Current fault injection settings and counters")
def get_faults(_: ServiceCaller, faults: FaultsDep) -> FaultsOut:
    return faults.public()


@router.put("/faults", response_model=FaultsOut, summary="Set injected latency (ms) and error rate (0..1)")
def set_faults(body: FaultsIn, _: ServiceCaller, faults: FaultsDep) -> FaultsOut:
    faults.configure(latency_ms=body.latency_ms, error_rate=body.error_rate)
    return faults.public()
