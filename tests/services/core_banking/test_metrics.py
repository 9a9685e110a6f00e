"""GET /metrics (Prometheus) and GET /ready of the real core-banking process, over HTTP."""
from __future__ import annotations

import socket
import threading
import time
from typing import List, Optional
from urllib.parse import urlparse

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.services.core_banking.conftest import bearer
from tests.services.core_banking.server import CoreBankingServer, free_port
from tests.support.postgres import PG_URL, pg_test_schema, url_with_schema
from tests.support.prometheus import delta, scrape, value

def test_ready_answers_200_while_the_database_answers(server):
    response = requests.get(server.url + "/ready", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}


def test_metrics_need_no_token_and_speak_the_prometheus_text_format(server):
    response = requests.get(server.url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family.type for family in text_string_to_metric_families(response.text)}
    assert families["core_banking_http_requests"] == "counter"
    assert families["core_banking_http_request_duration_seconds"] == "histogram"
    assert families["core_banking_fault_injected_errors"] == "counter"
    assert families["core_banking_fault_error_rate"] == "gauge"
    assert not any(name.endswith("_created") for name in families)
    assert "/metrics" not in requests.get(server.url + "/openapi.json", timeout=10).json()["paths"]


def test_requests_are_counted_by_route_template_and_status_never_by_id(server, tokens):
    headers = bearer(tokens["C1003"])
    card_id = requests.get(server.url + "/me/cards", headers=headers, timeout=10).json()[0]["card_id"]
    before = scrape(server.url)
    for _ in range(2):
        assert requests.get(server.url + f"/me/cards/{card_id}", headers=headers, timeout=10).status_code == 200
    assert requests.get(server.url + "/me/cards/K9999", headers=headers, timeout=10).status_code == 404
    assert requests.get(server.url + "/no/such/page", timeout=10).status_code == 404
    assert requests.delete(server.url + "/me/cards", headers=headers, timeout=10).status_code == 405
    after = scrape(server.url)

    name = "core_banking_http_requests_total"
    route = "/me/cards/{card_id}"
    assert delta(before, after, name, method="GET", route=route, status="200") == 2
    assert delta(before, after, name, method="GET", route=route, status="404") == 1
    assert delta(before, after, name, method="GET", route="<unmatched>", status="404") == 1
    assert delta(before, after, name, method="DELETE", route="/me/cards", status="405") == 1
    histogram = "core_banking_http_request_duration_seconds"
    assert delta(before, after, histogram + "_count", method="GET", route=route, status="200") == 2
    buckets = [(float(labels["le"]), v) for labels, v in after[histogram + "_bucket"]
               if labels["route"] == route and labels["status"] == "200"]
    counts = [v for _, v in sorted(buckets)]
    assert counts == sorted(counts) and counts[-1] == value(after, histogram + "_count", route=route, status="200")
    label_values = {v for samples in after.values() for labels, _ in samples for v in labels.values()}
    assert card_id not in label_values and "K9999" not in label_values
    assert not any(v.startswith("/no/") for v in label_values)


def test_injected_faults_are_counted_and_spare_ready_and_metrics(faults_reset, tokens):
    server = faults_reset
    before = scrape(server.url)
    server.set_faults(error_rate=1.0)
    for _ in range(3):
        assert requests.get(server.url + "/me", headers=bearer(tokens["C1001"]), timeout=10).status_code == 500
    assert requests.get(server.url + "/ready", timeout=10).status_code == 200
    after = scrape(server.url)  # /metrics itself is never fault-injected
    assert delta(before, after, "core_banking_fault_injected_errors_total") == 3
    assert delta(before, after, "core_banking_http_requests_total", method="GET", route="/me", status="500") == 3
    assert value(after, "core_banking_fault_error_rate") == 1.0
    server.set_faults(error_rate=0.0)
    assert value(scrape(server.url), "core_banking_fault_error_rate") == 0.0


def test_latency_histogram_sees_injected_latency(faults_reset, tokens):
    server = faults_reset
    before = scrape(server.url)
    server.set_faults(latency_ms=300)
    assert requests.get(server.url + "/me", headers=bearer(tokens["C1001"]), timeout=10).status_code == 200
    after = scrape(server.url)
    name = "core_banking_http_request_duration_seconds"
    labels = {"method": "GET", "route": "/me", "status": "200"}
    assert delta(before, after, name + "_sum", **labels) >= 0.3
    assert delta(before, after, name + "_bucket", le="0.25", **labels) == 0
    assert delta(before, after, name + "_bucket", le="0.5", **labels) == 1
    assert delta(before, after, "core_banking_fault_delayed_requests_total") == 1
    assert value(after, "core_banking_fault_latency_ms") == 300


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` closes the port and every connection
    (the database "goes away"), `restore()` listens on the same port again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: Optional[socket.socket] = None
        self._connections: List[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        if self._listener is not None:
            try:  # wakes the thread blocked in accept(); close() alone would leave it listening
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


@pytest.fixture()
def pg_schema_via_proxy():
    with pg_test_schema("cbready_") as schema:
        target = urlparse(PG_URL)
        proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
        proxied = target._replace(netloc=target.netloc.replace(f"{target.hostname}:{target.port or 5432}",
                                                               f"127.0.0.1:{proxy.port}"))
        try:
            yield proxy, url_with_schema(proxied.geturl(), schema)
        finally:
            proxy.cut()


def wait_for_status(url: str, status: int, timeout: float = 20.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(url, timeout=10)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_ready_follows_the_database(tmp_path, pg_schema_via_proxy):
    """PostgreSQL behind a TCP proxy: cut the proxy and /ready says 503 (and /metrics still
    answers); restore it and /ready is 200 again, without restarting the service."""
    proxy, database_url = pg_schema_via_proxy
    with CoreBankingServer(tmp_path, database_url=database_url) as server:
        assert requests.get(server.url + "/ready", timeout=10).status_code == 200
        proxy.cut()
        down = wait_for_status(server.url + "/ready", 503)
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "database": "unavailable"}
        assert requests.get(server.url + "/metrics", timeout=10).status_code == 200
        proxy.restore()
        up = wait_for_status(server.url + "/ready", 200)
        assert up.status_code == 200 and up.json()["database"] == "ok"
        assert requests.post(server.url + "/auth/login", json={"username": "C1001", "password": "demo1234"},
                             timeout=10).status_code == 200
