"""What the WeChat connector asks core banking: is this openid bound, and a token for it.

  GET  {CORE_BANKING_URL}/internal/wechat/bindings/{openid}   -> 200 (bound) | 404 (not bound)
  POST {CORE_BANKING_URL}/internal/wechat/token {"openid"}    -> {"access_token": <customer JWT>}
both with `Authorization: Bearer <CORE_BANKING_SERVICE_TOKEN>`.

Any failure (service down, timeout, unexpected answer) is logged and treated as "not bound":
the customer still gets FAQ answers, and personal-data intents ask them to bind. Results are
cached in-process briefly (tokens until shortly before they expire, "not bound" for 30 s).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple
from urllib.parse import quote

import aiohttp
import jwt

from bot.settings import get_settings
from connectors.common import http_session

logger = logging.getLogger(__name__)

UNBOUND_CACHE_SECONDS = 30.0
TOKEN_CACHE_MAX_SECONDS = 300.0
TOKEN_EXPIRY_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class Binding:
    customer_id: Optional[str]
    customer_token: Optional[str]

    @property
    def bound(self) -> bool:
        return bool(self.customer_token)


UNBOUND = Binding(None, None)
_cache: Dict[str, Tuple[float, Binding]] = {}


async def binding_for_openid(openid: str) -> Binding:
    now = time.monotonic()
    cached = _cache.get(openid)
    if cached and cached[0] > now:
        return cached[1]
    settings = get_settings()
    try:
        binding = await _lookup(openid, settings.core_banking_url.rstrip("/"), settings.core_banking_service_token,
                                settings.core_banking_timeout_seconds)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError, TypeError) as exc:
        logger.warning("wechat: binding lookup failed, treating the user as not bound: %r", exc)
        return UNBOUND
    if binding.bound:
        lifetime = TOKEN_CACHE_MAX_SECONDS
        try:
            exp = jwt.decode(binding.customer_token, options={"verify_signature": False}).get("exp")
            if exp:
                lifetime = min(lifetime, float(exp) - time.time() - TOKEN_EXPIRY_MARGIN_SECONDS)
        except jwt.PyJWTError:
            lifetime = 0
    else:
        lifetime = UNBOUND_CACHE_SECONDS
    if lifetime > 0:
        _cache[openid] = (now + lifetime, binding)
    return binding


async def _lookup(openid: str, base: str, service_token: str, timeout: float) -> Binding:
    headers = {"Authorization": f"Bearer {service_token}"}
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    session = http_session()
    async with session.get(f"{base}/internal/wechat/bindings/{quote(openid, safe='')}", headers=headers,
                           timeout=client_timeout) as resp:
        if resp.status == 404:
            return UNBOUND
        if resp.status != 200:
            raise ValueError(f"bindings: HTTP {resp.status}")
        data = await resp.json(content_type=None)
    customer_id = data.get("customer_id") if isinstance(data, dict) else None
    async with session.post(f"{base}/internal/wechat/token", json={"openid": openid}, headers=headers,
                            timeout=client_timeout) as resp:
        if resp.status == 404:
            return UNBOUND
        if resp.status != 200:
            raise ValueError(f"token: HTTP {resp.status}")
        token = (await resp.json(content_type=None))["access_token"]
    return Binding(customer_id, token)


def clear_cache() -> None:
    _cache.clear()
