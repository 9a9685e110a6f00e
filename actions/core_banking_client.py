"""Typed client for the core-banking service, as the action server (and the WeChat side)
uses it.

Customer methods take the customer's token (the JWT from the message metadata, see
docs/architecture.md "Identity") and send it as `Authorization: Bearer`; core banking
itself then enforces that a customer only sees their own data. Service methods use
CORE_BANKING_SERVICE_TOKEN.

Transport:
- one requests.Session per client with a mounted HTTPAdapter (connection pooling);
- explicit (connect, read) timeouts on every call; read = settings.core_banking_timeout_seconds;
- retries (urllib3 Retry) only for idempotent GETs, and only for connection failures and
  502/503/504/500 answers; never after a read timeout (the server is slow: asking again would
  only double the customer's wait) and never for POST/PUT/DELETE (a separate session with no
  retries), so a complaint or a card freeze is never sent twice by the client.

Exceptions (third-party errors are converted here, `raise ... from exc`):

    CoreBankingError                 base; .status_code, .code, .message (server's message)
    ├── CoreBankingUnavailable       timeout, connection error, 5xx, unreadable answer
    ├── NotAuthenticated             401/403: missing, invalid or expired token
    ├── NotFound                     404: unknown id, or another customer's (same answer)
    └── InvalidRequest               other 4xx: validation (422), conflict (409), too large (413)
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Dict, List, Optional, Type, TypeVar, Union
from urllib.parse import quote

import requests
from pydantic import BaseModel, ValidationError, parse_obj_as
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.settings import get_settings
# The service's public output models are plain pydantic models (no database code), so the
# client parses answers into exactly what the service declares.
from services.core_banking.schemas import (AccountOut, CardFreezeOut, CardOut, CardStatus, CardType, Channel,
                                           ComplaintCategory, ComplaintOut, ComplaintStatus, CustomerOut, CustomerType,
                                           FaultsOut, GuestComplaintOut, LimitRaiseOut, LimitRaiseStatus, LoanMaterialsOut, LoanOut,
                                           LoanProductOut, LoanStatus, LoanType, TokenOut, TransferLimitsOut,
                                           TransferOut, TransferStatus, TransferType, VerificationMethod,
                                           WechatBindingOut)

logger = logging.getLogger(__name__)

Model = TypeVar("Model")

__all__ = [
    "CoreBankingClient", "get_client",
    "CoreBankingError", "CoreBankingUnavailable", "NotAuthenticated", "NotFound", "InvalidRequest",
    "AccountOut", "CardFreezeOut", "CardOut", "ComplaintOut", "CustomerOut", "LimitRaiseOut", "LoanMaterialsOut",
    "LoanOut", "LoanProductOut", "TokenOut", "TransferLimitsOut", "TransferOut", "WechatBindingOut", "FaultsOut",
    "CardStatus", "CardType", "Channel", "ComplaintCategory", "ComplaintStatus", "CustomerType", "LimitRaiseStatus",
    "LoanStatus", "LoanType", "TransferStatus", "TransferType", "VerificationMethod",
]

GET_RETRIES = 2
RETRY_STATUSES = (500, 502, 503, 504)
MAX_CONNECT_TIMEOUT = 1.0


# -- exceptions --------------------------------------------------------------------------
class CoreBankingError(Exception):
    def __init__(self, message: str, *, status_code: Optional[int] = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code


class CoreBankingUnavailable(CoreBankingError):
    """Core banking did not answer in time, could not be reached, or failed (5xx)."""


class NotAuthenticated(CoreBankingError):
    """The token is missing, forged or expired: treat the customer as anonymous."""


class NotFound(CoreBankingError):
    """No such card/transfer/loan/ticket for this customer (or an unbound openid)."""


class InvalidRequest(CoreBankingError):
    """Core banking refused the input (validation, state conflict, too large)."""


def _error_for(response: requests.Response) -> CoreBankingError:
    code, message = "", ""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code, message = str(error.get("code", "")), str(error.get("message", ""))
    except ValueError:
        pass
    status = response.status_code
    message = message or f"core banking answered HTTP {status}"
    kwargs: Dict[str, Any] = {"status_code": status, "code": code}
    if status >= 500:
        return CoreBankingUnavailable(message, **kwargs)
    if status in (401, 403):
        return NotAuthenticated(message, **kwargs)
    if status == 404:
        return NotFound(message, **kwargs)
    return InvalidRequest(message, **kwargs)


# -- client ------------------------------------------------------------------------------
class CoreBankingClient:
    def __init__(self, base_url: str, *, service_token: str = "", connect_timeout: float = 1.0,
                 read_timeout: float = 2.5, get_retries: int = GET_RETRIES, backoff_factor: float = 0.1,
                 pool_maxsize: int = 20) -> None:
        self.base_url = base_url.rstrip("/")
        self._service_token = service_token
        self.timeout = (connect_timeout, read_timeout)
        read_retry = Retry(total=get_retries, connect=get_retries, read=False, status=get_retries, other=0,
                           allowed_methods=frozenset({"GET"}), status_forcelist=RETRY_STATUSES,
                           backoff_factor=backoff_factor, raise_on_status=False, respect_retry_after_header=False)
        self._reads = self._session(read_retry, pool_maxsize)
        self._writes = self._session(Retry(total=0, read=False, redirect=0, raise_on_status=False), pool_maxsize)

    @classmethod
    def from_settings(cls) -> "CoreBankingClient":
        settings = get_settings()
        read_timeout = settings.core_banking_timeout_seconds
        return cls(settings.core_banking_url, service_token=settings.core_banking_service_token,
                   connect_timeout=min(MAX_CONNECT_TIMEOUT, read_timeout), read_timeout=read_timeout)

    @staticmethod
    def _session(retry: Retry, pool_maxsize: int) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment for an internal service
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_maxsize)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["Accept"] = "application/json"
        return session

    def close(self) -> None:
        self._reads.close()
        self._writes.close()

    # -- transport -------------------------------------------------------------------------
    def _request(self, method: str, path: str, token: Optional[str], *, params: Optional[Dict[str, Any]] = None,
                 json_body: Optional[str] = None) -> Any:
        """token=None: no Authorization header (login only); an empty token is refused here."""
        headers: Dict[str, str] = {}
        if token is not None:
            if not token:
                raise NotAuthenticated("no token to call core banking with")
            headers["Authorization"] = f"Bearer {token}"
        session = self._reads if method == "GET" else self._writes
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        url = self.base_url + path
        try:
            response = session.request(method, url, params=params, data=json_body.encode("utf-8")
                                       if json_body is not None else None, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise CoreBankingUnavailable(f"core banking timed out ({method} {path})") from exc
        except requests.RequestException as exc:  # connection refused/reset, retries exhausted, ...
            raise CoreBankingUnavailable(f"core banking unreachable ({method} {path}): {type(exc).__name__}") from exc
        if response.status_code >= 400:
            error = _error_for(response)
            logger.info("core banking %s %s -> %s %s", method, path, response.status_code, error.code)
            raise error
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise CoreBankingUnavailable(f"core banking sent a non-JSON answer ({method} {path})",
                                         status_code=response.status_code) from exc

    def _parse(self, model: Type[Model], data: Any) -> Model:
        try:
            return parse_obj_as(model, data)
        except ValidationError as exc:
            raise CoreBankingUnavailable(f"core banking sent an unexpected answer for {model}") from exc

    def _get(self, model: Type[Model], path: str, token: str, params: Optional[Dict[str, Any]] = None) -> Model:
        return self._parse(model, self._request("GET", path, token, params=params))

    def _post(self, model: Type[Model], path: str, token: str, body: Union[BaseModel, Dict[str, Any]]) -> Model:
        payload = body.json() if isinstance(body, BaseModel) else _dumps(body)
        return self._parse(model, self._request("POST", path, token, json_body=payload))

    @property
    def _service(self) -> str:
        if not self._service_token:
            raise NotAuthenticated("CORE_BANKING_SERVICE_TOKEN is not configured")
        return self._service_token

    # -- customer ----------------------------------------------------------------------------
    def login(self, username: str, password: str) -> TokenOut:
        """Demo login (the app channel normally does this)."""
        data = self._request("POST", "/auth/login", None,
                             json_body=_dumps({"username": username, "password": password}))
        return self._parse(TokenOut, data)

    def me(self, token: str) -> CustomerOut:
        return self._get(CustomerOut, "/me", token)

    def accounts(self, token: str) -> List[AccountOut]:
        return self._get(List[AccountOut], "/me/accounts", token)

    def transfer_limits(self, token: str) -> TransferLimitsOut:
        return self._get(TransferLimitsOut, "/me/transfer-limits", token)

    def request_limit_raise(self, token: str, *, channel: Union[Channel, str], new_daily_limit: Union[Decimal, int, str],
                            verification_method: Union[VerificationMethod, str]) -> LimitRaiseOut:
        body = {"channel": _value(channel), "new_daily_limit": str(new_daily_limit),
                "verification_method": _value(verification_method)}
        return self._post(LimitRaiseOut, "/me/limit-raise-requests", token, body)

    def transfers(self, token: str, *, amount: Optional[Union[Decimal, int, str]] = None,
                  on_date: Optional[date] = None, limit: Optional[int] = None) -> List[TransferOut]:
        params: Dict[str, Any] = {}
        if amount is not None:
            params["amount"] = str(amount)
        if on_date is not None:
            params["date"] = on_date.isoformat()
        if limit is not None:
            params["limit"] = int(limit)
        return self._get(List[TransferOut], "/me/transfers", token, params=params)

    def transfer(self, token: str, transfer_id: str) -> TransferOut:
        return self._get(TransferOut, f"/me/transfers/{_segment(transfer_id)}", token)

    def loans(self, token: str) -> List[LoanOut]:
        return self._get(List[LoanOut], "/me/loans", token)

    def loan(self, token: str, loan_id: str) -> LoanOut:
        return self._get(LoanOut, f"/me/loans/{_segment(loan_id)}", token)

    def cards(self, token: str) -> List[CardOut]:
        return self._get(List[CardOut], "/me/cards", token)

    def freeze_card(self, token: str, card_id: str, *, reason: Optional[str] = None) -> CardFreezeOut:
        body = {"reason": reason} if reason else {}
        return self._post(CardFreezeOut, f"/me/cards/{_segment(card_id)}/freeze", token, body)

    def create_complaint(self, token: str, *, category: Union[ComplaintCategory, str], description: str,
                         occurred_at: Optional[datetime] = None, desired_outcome: Optional[str] = None) -> ComplaintOut:
        body: Dict[str, Any] = {"category": _value(category), "description": description}
        if occurred_at is not None:
            body["occurred_at"] = occurred_at.isoformat()
        if desired_outcome:
            body["desired_outcome"] = desired_outcome
        return self._post(ComplaintOut, "/me/complaints", token, body)

    def create_guest_complaint(self, *, category: Union[ComplaintCategory, str], description: str,
                               contact_phone: str, occurred: Optional[str] = None,
                               desired_outcome: Optional[str] = None) -> GuestComplaintOut:
        """A complaint from someone who is not logged in (service token): the bank calls them back."""
        body: Dict[str, Any] = {"category": _value(category), "description": description,
                                "contact_phone": contact_phone}
        if occurred:
            body["occurred"] = occurred
        if desired_outcome:
            body["desired_outcome"] = desired_outcome
        return self._post(GuestComplaintOut, "/internal/guest-complaints", self._service, body)

    def complaints(self, token: str) -> List[ComplaintOut]:
        return self._get(List[ComplaintOut], "/me/complaints", token)

    def complaint(self, token: str, ticket_id: str) -> ComplaintOut:
        return self._get(ComplaintOut, f"/me/complaints/{_segment(ticket_id)}", token)

    # -- reference data (service token by default, or a customer token) -----------------------
    def loan_products(self, *, loan_type: Union[LoanType, str, None] = None,
                      customer_type: Union[CustomerType, str, None] = None,
                      token: Optional[str] = None) -> List[LoanProductOut]:
        params = {k: _value(v) for k, v in (("loan_type", loan_type), ("customer_type", customer_type)) if v}
        return self._get(List[LoanProductOut], "/loan-products", token or self._service, params=params)

    def loan_materials(self, loan_type: Union[LoanType, str], customer_type: Union[CustomerType, str], *,
                       token: Optional[str] = None) -> LoanMaterialsOut:
        params = {"loan_type": _value(loan_type), "customer_type": _value(customer_type)}
        return self._get(LoanMaterialsOut, "/loan-products/materials", token or self._service, params=params)

    # -- service (WeChat binding, fault injection) -------------------------------------------
    def bind_wechat(self, openid: str, customer_id: str) -> WechatBindingOut:
        return self._post(WechatBindingOut, "/internal/wechat/bindings", self._service,
                          {"openid": openid, "customer_id": customer_id})

    def wechat_binding(self, openid: str) -> WechatBindingOut:
        return self._get(WechatBindingOut, f"/internal/wechat/bindings/{_segment(openid)}", self._service)

    def unbind_wechat(self, openid: str) -> None:
        self._request("DELETE", f"/internal/wechat/bindings/{_segment(openid)}", self._service)

    def wechat_token(self, openid: str) -> TokenOut:
        return self._post(TokenOut, "/internal/wechat/token", self._service, {"openid": openid})

    def faults(self) -> FaultsOut:
        return self._get(FaultsOut, "/internal/faults", self._service)

    def set_faults(self, *, latency_ms: int = 0, error_rate: float = 0.0) -> FaultsOut:
        payload = _dumps({"latency_ms": latency_ms, "error_rate": error_rate})
        return self._parse(FaultsOut, self._request("PUT", "/internal/faults", self._service, json_body=payload))


def _value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _segment(value: str) -> str:
    """One path segment: ids like "../internal" cannot change the path."""
    return quote(str(value), safe="")


def _dumps(body: Dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


@lru_cache(maxsize=1)
def get_client() -> CoreBankingClient:
    """The process-wide client (actions are created once, with no arguments)."""
    return CoreBankingClient.from_settings()
