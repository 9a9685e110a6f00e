"""Prometheus metrics of the agent desk: `GET /metrics` (text exposition format).

No authentication, on purpose: Prometheus scrapes it like `/health`, and it carries no
customer or agent data (route *templates* such as `/api/handoffs/{handoff_id}` are the only
paths in labels, never ids or query strings; queue names come from AGENT_DESK_QUEUES). It must
only be reachable inside the deployment network: the nginx in front of the console answers 404
for /metrics, and in Kubernetes it is served on the pod network only (deploy/README.md).

Series (one registry per app, so several apps in one process never clash):

  agent_desk_http_requests_total, ..._duration_seconds, ..._in_progress   services/http_metrics.py
  agent_desk_handoffs_created_total{queue}                        counter (new handoffs, not re-registrations)
  agent_desk_handoffs_claimed_total{queue}                        counter
  agent_desk_handoffs_closed_total{queue, back_to_bot}            counter
  agent_desk_handoffs_transferred_total{to_queue}                 counter
  agent_desk_handoff_wait_seconds{queue}                          histogram: waiting time when claimed
  agent_desk_queue_waiting{queue}                                 gauge: waiting handoffs (SQL, at scrape)
  agent_desk_handoffs_active{queue}                               gauge: handoffs an agent has (SQL)
  agent_desk_callbacks{status="pending|failed"}                   gauge: callbacks to the bot side not delivered (SQL)
  agent_desk_agents_online                                        gauge: presence keys (Redis)
  agent_desk_redis_up                                             gauge: 1 if Redis answers a PING

Counters are per process (sum them over desk processes); the SQL gauges read the shared
record, so every desk process reports the same value (aggregate them with max, not sum).
"""
from __future__ import annotations

import logging
from typing import Iterable, Iterator, List

from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from services.agent_desk.models import Delivery, Handoff
from services.http_metrics import HttpMetrics, serve_metrics

log = logging.getLogger(__name__)

WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
UNDELIVERED = ("pending", "failed")


class DeskStateCollector:
    """Gauges read at scrape time from SQL (the record) and Redis (presence). A store that does
    not answer leaves its series out of that scrape instead of failing /metrics."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        state = self.app.state
        queues: List[str] = list(state.settings.queue_names)
        try:
            with state.session_factory() as session:
                open_rows = session.execute(
                    select(Handoff.queue, Handoff.status, func.count())
                    .where(Handoff.status.in_(("waiting", "active"))).group_by(Handoff.queue, Handoff.status)).all()
                callback_rows = session.execute(
                    select(Delivery.status, func.count())
                    .where(Delivery.status.in_(UNDELIVERED)).group_by(Delivery.status)).all()
        except Exception as exc:  # noqa: BLE001 - the database is down: /ready says so
            log.warning("metrics: database unavailable (%s)", exc)
        else:
            counts = {(queue, status): count for queue, status, count in open_rows}
            names = queues + sorted({queue for queue, _ in counts} - set(queues))
            waiting = GaugeMetricFamily("agent_desk_queue_waiting", "Handoffs waiting for an agent", labels=["queue"])
            active = GaugeMetricFamily("agent_desk_handoffs_active", "Handoffs an agent is handling", labels=["queue"])
            for name in names:
                waiting.add_metric([name], counts.get((name, "waiting"), 0))
                active.add_metric([name], counts.get((name, "active"), 0))
            yield waiting
            yield active
            undelivered = dict(callback_rows)
            callbacks = GaugeMetricFamily("agent_desk_callbacks", "Callbacks to the bot side not delivered (yet)",
                                          labels=["status"])
            for status in UNDELIVERED:
                callbacks.add_metric([status], undelivered.get(status, 0))
            yield callbacks
        redis_up = state.live.ping()
        yield GaugeMetricFamily("agent_desk_redis_up", "1 if Redis answers a PING", value=1 if redis_up else 0)
        if redis_up:
            yield GaugeMetricFamily("agent_desk_agents_online", "Agents with a live presence key",
                                    value=len(state.live.online_agents()))


class DeskMetrics(HttpMetrics):
    def __init__(self, app: FastAPI, queues: Iterable[str]) -> None:
        super().__init__("agent_desk")
        registry = self.registry
        self.created = Counter("agent_desk_handoffs_created", "Handoffs registered by the bot side", ("queue",),
                               registry=registry)
        self.claimed = Counter("agent_desk_handoffs_claimed", "Handoffs claimed by an agent", ("queue",),
                               registry=registry)
        self.closed = Counter("agent_desk_handoffs_closed", "Handoffs closed", ("queue", "back_to_bot"),
                              registry=registry)
        self.transferred = Counter("agent_desk_handoffs_transferred", "Handoffs transferred to another queue",
                                   ("to_queue",), registry=registry)
        self.wait = Histogram("agent_desk_handoff_wait_seconds", "How long a customer waited until an agent claimed",
                              ("queue",), buckets=WAIT_BUCKETS, registry=registry)
        for queue in queues:  # every configured queue shows up from the start, at 0
            self.created.labels(queue)
            self.claimed.labels(queue)
            self.closed.labels(queue, "true")
            self.closed.labels(queue, "false")
        registry.register(DeskStateCollector(app))

    # -- domain events (called by service.HandoffDesk after the SQL commit) ---------------
    def handoff_created(self, handoff: Handoff) -> None:
        self.created.labels(handoff.queue).inc()

    def handoff_claimed(self, handoff: Handoff, waited_seconds: float) -> None:
        self.claimed.labels(handoff.queue).inc()
        self.wait.labels(handoff.queue).observe(max(0.0, waited_seconds))

    def handoff_closed(self, handoff: Handoff) -> None:
        self.closed.labels(handoff.queue, "true" if handoff.back_to_bot else "false").inc()

    def handoff_transferred(self, handoff: Handoff) -> None:
        self.transferred.labels(handoff.queue).inc()


def install_metrics(app: FastAPI, queues: Iterable[str]) -> DeskMetrics:
    """Adds GET /metrics and the request middleware (call last, so that it is the outermost)."""
    metrics = DeskMetrics(app, queues)
    serve_metrics(app, metrics)
    return metrics
