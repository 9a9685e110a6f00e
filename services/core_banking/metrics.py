"""Prometheus metrics of the core-banking service: `GET /metrics` (text exposition format).

No authentication, on purpose: Prometheus scrapes it like `/health`, and it carries no
customer data (route *templates* such as `/me/cards/{card_id}` are the only paths in labels,
never ids or query strings). It must therefore only be reachable inside the deployment
network: core banking is an internal service and is never published (deploy/README.md).

Series (one registry per app, so several apps in one process never clash):

  core_banking_http_requests_total, ..._duration_seconds, ..._in_progress   services/http_metrics.py
  core_banking_fault_injected_errors_total                        counter (faults.FaultState)
  core_banking_fault_delayed_requests_total                       counter
  core_banking_fault_latency_ms, core_banking_fault_error_rate    gauges: current fault settings

`route` is the path template of the matching route, `<unmatched>` when no route matches (any
404 for an unknown path). Requests answered by a middleware (injected faults, 413) are counted
under the route they were addressed to.
"""
from __future__ import annotations

from typing import Iterator

from fastapi import FastAPI
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from services.core_banking.faults import FaultState
from services.http_metrics import HttpMetrics, serve_metrics


class FaultCollector:
    """Reads the fault-injection state at scrape time (it already counts what it injects)."""

    def __init__(self, state: FaultState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        faults = self.state.public()
        yield CounterMetricFamily("core_banking_fault_injected_errors",
                                  "Requests answered with an injected 500 since start", value=faults.injected_errors)
        yield CounterMetricFamily("core_banking_fault_delayed_requests",
                                  "Requests delayed by injected latency since start", value=faults.delayed_requests)
        yield GaugeMetricFamily("core_banking_fault_latency_ms", "Injected latency now (ms)", value=faults.latency_ms)
        yield GaugeMetricFamily("core_banking_fault_error_rate", "Injected error rate now (0..1)",
                                value=faults.error_rate)


class ServiceMetrics(HttpMetrics):
    def __init__(self, faults: FaultState) -> None:
        super().__init__("core_banking")
        self.registry.register(FaultCollector(faults))


def install_metrics(app: FastAPI, faults: FaultState) -> ServiceMetrics:
    """Adds GET /metrics and the request middleware (call after the other middleware, so that
    it is the outermost one and also sees requests they answer themselves)."""
    metrics = ServiceMetrics(faults)
    serve_metrics(app, metrics)
    return metrics
