"""Fault injection for reliability tests; off by default.

Start-up values come from CORE_BANKING_FAULT_LATENCY_MS and CORE_BANKING_FAULT_ERROR_RATE
(0..1); `PUT /internal/faults` (service token) changes them at run time. Every request
except the exempt paths (/health, /ready, /metrics, the fault endpoint itself, the OpenAPI
docs) first waits `latency_ms`, then fails with probability `error_rate` with a 500
{"error": {"code": "injected_fault", ...}}. State is per process (the service runs one
uvicorn worker).
"""
from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from services.core_banking.errors import InjectedFault, error_response
from services.core_banking.schemas import FaultsOut

EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics", "/internal/faults", "/docs", "/redoc",
                          "/openapi.json", "/docs/oauth2-redirect"})


@dataclass
class FaultState:
    latency_ms: int = 0
    error_rate: float = 0.0
    injected_errors: int = 0
    delayed_requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random()

    def configure(self, *, latency_ms: int, error_rate: float) -> None:
        with self._lock:
            self.latency_ms = latency_ms
            self.error_rate = error_rate

    def decide(self) -> "tuple[float, bool]":
        """(seconds to wait, whether to fail) for one request; counts what it injects."""
        with self._lock:
            delay = self.latency_ms / 1000.0
            fail = self.error_rate > 0 and self._random.random() < self.error_rate
            if delay > 0:
                self.delayed_requests += 1
            if fail:
                self.injected_errors += 1
            return delay, fail

    def public(self) -> FaultsOut:
        with self._lock:
            return FaultsOut(latency_ms=self.latency_ms, error_rate=self.error_rate,
                             injected_errors=self.injected_errors, delayed_requests=self.delayed_requests)


class FaultInjectionMiddleware:
    def __init__(self, app: ASGIApp, state: FaultState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        delay, fail = self.state.decide()
        if delay > 0:
            await asyncio.sleep(delay)
        if fail:
            await error_response(InjectedFault())(scope, receive, send)
            return
        await self.app(scope, receive, send)
