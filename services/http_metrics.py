"""What the services' Prometheus endpoints share: HTTP request metrics, the middleware that
records them, and `GET /metrics`. Each service adds its own series on top
(services/core_banking/metrics.py, services/agent_desk/metrics.py).

Series, with `<prefix>` the service's name (core_banking, agent_desk):
  <prefix>_http_requests_total{method, route, status}               counter
  <prefix>_http_request_duration_seconds{method, route, status}     histogram
  <prefix>_http_requests_in_progress                                gauge

`route` is the path template of the matching route (never ids or query strings), its path
for a 405, `<unmatched>` when no route matches.
"""
from __future__ import annotations

import time
from typing import Iterable

from fastapi import FastAPI, Request, Response
from prometheus_client import (CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No `*_created` series (this process is the service; the setting is per process), and the
# classic text format 0.0.4, which every Prometheus version scrapes.
disable_created_metrics()

METRICS_PATH = "/metrics"
UNMATCHED = "<unmatched>"
# Seconds; the services answer in milliseconds, injected latency goes up to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_template(routes: Iterable[BaseRoute], scope: Scope) -> str:
    """The template of the route a request is addressed to (its path for a 405)."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", UNMATCHED)
        if match == Match.PARTIAL and partial is None:
            partial = getattr(route, "path", UNMATCHED)
    return partial or UNMATCHED


class HttpMetrics:
    """A registry with the HTTP series under `prefix`; subclasses add the service's own."""

    def __init__(self, prefix: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("method", "route", "status")
        self.requests = Counter(f"{prefix}_http_requests", "HTTP requests answered", labels, registry=self.registry)
        self.latency = Histogram(f"{prefix}_http_request_duration_seconds", "Time to answer an HTTP request",
                                 labels, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.in_progress = Gauge(f"{prefix}_http_requests_in_progress", "HTTP requests being answered",
                                 registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Outermost pure-ASGI middleware: counts and times every HTTP request (not WebSockets)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_template(scope["app"].router.routes, scope)
        status = 500
        started = time.perf_counter()
        observed = False

        def observe() -> None:
            nonlocal observed
            if not observed:
                observed = True
                self.metrics.in_progress.dec()
                self.metrics.observe(scope.get("method", ""), route, status, time.perf_counter() - started)

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Counted before the last byte leaves: a client that scrapes /metrics right
                # after its answer always finds its own request in the figures.
                observe()
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, capture)
        finally:
            observe()


def serve_metrics(app: FastAPI, metrics: HttpMetrics) -> None:
    """Adds GET /metrics and the request middleware (call after the other middleware, so that
    it is the outermost one and also sees requests they answer themselves)."""
    app.state.metrics = metrics

    @app.get(METRICS_PATH, include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_middleware(MetricsMiddleware, metrics=metrics)
