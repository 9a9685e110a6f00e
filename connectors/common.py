"""Plumbing shared by the project's input channels (`connectors/`).

* `redis_client()`  - one asyncio Redis client per event loop, configured like Rasa's
  tracker store (REDIS_URL, else the embedded Redis on EMBEDDED_REDIS_PORT).
* `redis_key(*parts)` - every key starts with REDIS_KEY_PREFIX (default `csbot`), see
  docs/architecture.md.
* `http_session()`  - one aiohttp ClientSession per event loop (never block the loop).
* `bearer_token()`   - the token of an `Authorization: Bearer ...` header.
Customer tokens are verified in one place for the whole project: bot/identity.py.
"""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Dict, Optional

import aiohttp
import redis.asyncio as aioredis

from bot.settings import REDIS_KEY_PREFIX, get_settings

logger = logging.getLogger(__name__)


_redis_clients: Dict[int, aioredis.Redis] = {}
_http_sessions: Dict[int, aiohttp.ClientSession] = {}


def key_prefix() -> str:
    # Set by bot/stack.py for Rasa's tracker and lock stores; the channels share it.
    return os.environ.get("REDIS_KEY_PREFIX") or REDIS_KEY_PREFIX


def redis_key(*parts: str) -> str:
    return ":".join((key_prefix(), *parts))


def redis_url() -> str:
    settings = get_settings()
    return os.environ.get("REDIS_URL") or settings.redis_url or f"redis://127.0.0.1:{settings.embedded_redis_port}/0"


def redis_client() -> aioredis.Redis:
    """The Redis client of the running event loop (created on first use)."""
    loop_id = id(asyncio.get_running_loop())
    client = _redis_clients.get(loop_id)
    if client is None:
        client = aioredis.Redis.from_url(redis_url(), decode_responses=True,
                                         socket_timeout=3, socket_connect_timeout=3)
        _redis_clients[loop_id] = client
    return client


def http_session() -> aiohttp.ClientSession:
    """The aiohttp session of the running event loop (created on first use)."""
    loop_id = id(asyncio.get_running_loop())
    session = _http_sessions.get(loop_id)
    if session is None or session.closed:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        _http_sessions[loop_id] = session
    return session


def bearer_token(authorization: Optional[str]) -> Optional[str]:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        logger.warning("%s=%r is not a number; using %s", name, value, default)
        return default
