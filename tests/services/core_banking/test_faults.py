"""Fault injection: off by default, switchable at run time and by environment; /health is
never affected."""
from __future__ import annotations

import requests

from tests.services.core_banking.conftest import bearer
from tests.services.core_banking.server import CoreBankingServer


def test_faults_are_off_by_default(server):
    faults = server.faults()
    assert faults["latency_ms"] == 0 and faults["error_rate"] == 0


def test_error_rate_one_fails_every_request_but_health(faults_reset, tokens):
    server = faults_reset
    before = server.faults()["injected_errors"]
    server.set_faults(error_rate=1.0)
    for path in ("/me", "/me/accounts", "/me/transfer-limits"):
        response = requests.get(server.url + path, headers=bearer(tokens["C1001"]), timeout=10)
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "injected_fault"
    assert requests.get(server.url + "/health", timeout=10).status_code == 200
    assert server.faults()["injected_errors"] == before + 3
    server.set_faults(error_rate=0.0)
    assert requests.get(server.url + "/me", headers=bearer(tokens["C1001"]), timeout=10).status_code == 200


def test_partial_error_rate_fails_some_requests(faults_reset, tokens):
    server = faults_reset
    server.set_faults(error_rate=0.5)
    statuses = [requests.get(server.url + "/me", headers=bearer(tokens["C1001"]), timeout=10).status_code
                for _ in range(40)]
    assert set(statuses) == {200, 500}  # chance of all-equal is 2 * 0.5**40


def test_latency_beyond_a_clients_timeout_times_it_out_but_not_health(faults_reset, tokens):
    server = faults_reset
    server.set_faults(latency_ms=3000)
    timed_out = False
    try:
        requests.get(server.url + "/me", headers=bearer(tokens["C1001"]), timeout=(1, 0.5))
    except requests.ReadTimeout:
        timed_out = True
    assert timed_out
    assert requests.get(server.url + "/health", timeout=(1, 2)).status_code == 200
    assert server.faults()["delayed_requests"] >= 1


def test_fault_settings_are_validated(server):
    for body in ({"latency_ms": -1, "error_rate": 0}, {"latency_ms": 0, "error_rate": 1.5},
                 {"latency_ms": "slow", "error_rate": 0}):
        response = requests.put(server.url + "/internal/faults", json=body, headers=server.service_headers(), timeout=10)
        assert response.status_code == 422, body


def test_faults_from_environment(tmp_path):
    with CoreBankingServer(tmp_path, CORE_BANKING_FAULT_ERROR_RATE="1", CORE_BANKING_FAULT_LATENCY_MS="50") as server:
        faults = server.faults()
        assert faults["error_rate"] == 1.0 and faults["latency_ms"] == 50
        response = requests.post(server.url + "/auth/login", json={"username": "C1001", "password": "demo1234"},
                                 timeout=10)
        assert response.status_code == 500 and response.json()["error"]["code"] == "injected_fault"
        assert requests.get(server.url + "/health", timeout=10).status_code == 200
