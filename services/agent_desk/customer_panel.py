"""The customer panel: the handoff's customer as core banking knows them, read-only.

The desk asks core banking with its own identity (CORE_BANKING_DESK_TOKEN, which opens
`/internal/desk/...` only) for the customer of the handoff, never for an id an agent typed,
and names the agent in `X-Desk-Agent` for core banking's log. The contract is core
banking's own output model; every number in it is already masked there.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

import requests
from pydantic import ValidationError

from services.agent_desk import errors
from services.agent_desk.config import DeskSettings
from services.core_banking.schemas import CustomerOverviewOut

log = logging.getLogger(__name__)


def fetch_overview(settings: DeskSettings, customer_id: str, agent: str) -> CustomerOverviewOut:
    if not settings.core_banking_desk_token:
        raise errors.CoreBankingUnavailable("坐席台没有连接核心系统（未配置 CORE_BANKING_DESK_TOKEN）")
    url = f"{settings.core_banking_url.rstrip('/')}/internal/desk/customers/{quote(customer_id, safe='')}/overview"
    try:
        r = requests.get(url, headers={"Authorization": f"Bearer {settings.core_banking_desk_token}",
                                       "X-Desk-Agent": agent}, timeout=settings.core_banking_timeout_seconds)
    except requests.RequestException as exc:
        log.warning("customer overview of %s: core banking unreachable: %s", customer_id, exc)
        raise errors.CoreBankingUnavailable() from exc
    if r.status_code in (404, 422):  # 422: not even a customer id core banking would accept
        raise errors.CustomerNotFound()
    if r.status_code != 200:
        log.warning("customer overview of %s: core banking answered %s", customer_id, r.status_code)
        raise errors.CoreBankingUnavailable()
    try:
        return CustomerOverviewOut.parse_obj(r.json())
    except (ValueError, ValidationError) as exc:
        log.error("customer overview of %s: unexpected answer from core banking: %s", customer_id, exc)
        raise errors.CoreBankingUnavailable() from exc
