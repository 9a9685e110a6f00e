"""One HTTP connection pool per Sanic worker for Rasa's calls to the action server.

Stock Rasa 3.6 opens a new `aiohttp.ClientSession` for every call to an endpoint
(`EndpointConfig.request` does `async with self.session() as session`), so every custom
action costs a new TCP connection on both sides and a session built and torn down: the
action call was a tenth of a worker's CPU in the live profile (docs/performance.md, "Issue 13
item 3"). While the server runs, each worker keeps one session per endpoint configuration
(headers, credentials) and lends it to every call: the same requests, over kept-alive
connections. The sessions are closed when the server stops; outside a running server (tests,
`rasa shell`) Rasa's own behaviour is kept. RASA_SPEEDUPS_OFF=action_session leaves it out.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

import aiohttp
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from bot.settings import speedup_on

logger = logging.getLogger(__name__)

# An idle connection is dropped before the action server would close it (rasa_sdk's Sanic keeps
# one 5 s), so a call never goes out on a connection the server is closing at that moment.
IDLE_CONNECTION_SECONDS = 2.0

_stock_session = EndpointConfig.session
# This worker's sessions, by what distinguishes one endpoint configuration's session from another's.
_sessions: Dict[Tuple[Any, ...], aiohttp.ClientSession] = {}


class _Lent:
    """`async with` that hands out the shared session and leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _shared_session(self: EndpointConfig) -> Any:
    key = (tuple(sorted((self.headers or {}).items())), tuple(sorted((self.basic_auth or {}).items())))
    session = _sessions.get(key)
    if session is None or session.closed:
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
        session = _sessions[key] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
            headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT))
    return _Lent(session)


async def open_pools(_app: Any, _loop: Any) -> None:
    """Sanic `before_server_start`: the worker's calls share sessions from now on."""
    EndpointConfig.session = _shared_session  # type: ignore[assignment]


async def close_pools(_app: Any, _loop: Optional[Any] = None) -> None:
    """Sanic `after_server_stop`: the sessions are closed, Rasa's own behaviour is back."""
    EndpointConfig.session = _stock_session  # type: ignore[assignment]
    sessions = list(_sessions.values())
    _sessions.clear()
    for session in sessions:
        await session.close()


def register(app: Any) -> None:
    """Registers the pools' opening and closing with Rasa's Sanic app (each worker runs them)."""
    if not speedup_on("action_session"):
        return
    app.register_listener(open_pools, "before_server_start")
    app.register_listener(close_pools, "after_server_stop")
