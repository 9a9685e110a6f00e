"""Core banking fuzzed from its own OpenAPI document over real HTTP (issue 12).

A private server (own database, so the other tests' demo data stays as seeded) gets, for every
operation in /openapi.json, `MAX_EXAMPLES` generated requests without credentials (none or
garbage) and as many with the credentials the operation asks for (a customer token of C1001, the
service token, the desk token), plus a few with each other kind; real ids, a valid login and
bodies that masking lengthens are sent too. No answer may be a 5xx, and every answer must be
documented: status, content type and body schema (tests/support/openapi_fuzz.py).
It runs once on SQLite (development) and once on PostgreSQL (deployments; it refuses what SQLite
lets through, e.g. NUL characters and strings longer than their column). The table of each run is
written to test-artifacts/openapi-fuzz/core_banking-<database>.md; figures and findings in
docs/reliability.md.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.services.core_banking.conftest import bearer
from tests.services.core_banking.server import CoreBankingServer
from tests.support import openapi_fuzz
from tests.support.postgres import PG_URL, pg_test_schema, url_with_schema
from tests.support.unavailable import unavailable

MAX_EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "10"))  # more for a deeper run by hand
MIN_OPERATIONS = 27  # the API as of issue 12; more is fine, fewer means routes went missing
BOUND_OPENID = "fuzz-openid-1"
# Valid input that masking makes longer (a 16-digit card number becomes "**** **** **** 4444").
CARD_NUMBERS = "卡号1111222233334444，" * 30


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[CoreBankingServer]:
    run_dir = tmp_path_factory.mktemp(f"core-banking-fuzz-{request.param}")
    if request.param == "sqlite":
        with CoreBankingServer(run_dir) as running:
            yield running
        return
    with pg_test_schema("cbfuzz_") as schema:
        with CoreBankingServer(run_dir, database_url=url_with_schema(PG_URL, schema)) as running:
            yield running


def _ids(server: CoreBankingServer, token: str, path: str, key: str) -> list:
    response = requests.get(server.url + path, headers=bearer(token), timeout=10)
    response.raise_for_status()
    return [row[key] for row in response.json()]


def test_every_operation_answers_as_documented(fuzz_server: CoreBankingServer, artifacts_dir: Path,
                                               request: pytest.FixtureRequest) -> None:
    if openapi_fuzz.from_schema is None:
        unavailable("hypothesis-jsonschema is not installed (pip install -r requirements.lock)")
    server = fuzz_server
    document = openapi_fuzz.load_document(server.url)
    customer = server.login("C1001")
    other = server.login("C1003")  # her ids must be 404 for C1001
    complaint = {"category": "收费", "description": "同一笔转账的手续费扣了两次"}
    requests.post(server.url + "/me/complaints", json=complaint, headers=bearer(customer), timeout=10) \
        .raise_for_status()
    requests.post(server.url + "/internal/wechat/bindings", json={"openid": BOUND_OPENID, "customer_id": "C1001"},
                  headers=server.service_headers(), timeout=10).raise_for_status()
    known_values = {
        "card_id": _ids(server, customer, "/me/cards", "card_id") + _ids(server, other, "/me/cards", "card_id"),
        "transfer_id": _ids(server, customer, "/me/transfers", "transfer_id")[:3]
        + _ids(server, other, "/me/transfers", "transfer_id")[:1],
        "loan_id": _ids(server, other, "/me/loans", "loan_id"),
        "ticket_id": _ids(server, customer, "/me/complaints", "ticket_id"),
        "openid": [BOUND_OPENID],
        "customer_id": ["C1001", "C1003"],
    }
    known_bodies = {
        "POST /auth/login": [{"username": "C1001", "password": "demo1234"},
                             {"username": "C1001", "password": "not-her-password"}],
        "POST /me/complaints": [complaint, dict(complaint, desired_outcome=CARD_NUMBERS[:500])],
        "POST /me/limit-raise-requests": [{"channel": "手机银行", "new_daily_limit": 20000,
                                           "verification_method": "ushield"}],
        "POST /me/cards/{card_id}/freeze": [{"reason": "手机丢了"}, {"reason": CARD_NUMBERS[:200]}],
        "POST /internal/wechat/bindings": [{"openid": BOUND_OPENID, "customer_id": "C1001"}],
        "POST /internal/wechat/token": [{"openid": BOUND_OPENID}],
        "POST /internal/guest-complaints": [{"category": "其他", "description": "网点排队太久",
                                             "contact_phone": "13800138000"},
                                            {"category": "银行卡", "description": CARD_NUMBERS, "contact_phone":
                                             "13800138000", "occurred": CARD_NUMBERS[:100],
                                             "desired_outcome": CARD_NUMBERS[:500]}],
        "PUT /internal/faults": [{"latency_ms": 0, "error_rate": 0.0}],
    }

    def switch_faults_off(case: openapi_fuzz.Case, response: requests.Response) -> None:
        # A fuzzed PUT /internal/faults may have turned on latency or errors: the fuzzing of
        # the service itself has to go on without them.
        if case.operation.label == "PUT /internal/faults" and response.status_code == 200:
            server.set_faults(0, 0.0)

    fuzzer = openapi_fuzz.Fuzzer(server.url, document, known_values=known_values, known_bodies=known_bodies,
                                 after_call=switch_faults_off)
    credentials = [openapi_fuzz.Credentials.anonymous(),
                   openapi_fuzz.Credentials.bearer("customer", customer, "CustomerToken"),
                   openapi_fuzz.Credentials.bearer("service", server.service_token, "ServiceToken")]
    if server.env.get("CORE_BANKING_DESK_TOKEN"):  # the agent desk's read-only identity
        credentials.append(openapi_fuzz.Credentials.bearer("desk", server.env["CORE_BANKING_DESK_TOKEN"],
                                                           "DeskToken"))
    reports = openapi_fuzz.run_all(fuzzer, credentials, MAX_EXAMPLES)
    database = request.node.callspec.params["fuzz_server"]
    openapi_fuzz.write_and_check(f"Core banking ({database})", artifacts_dir / "openapi-fuzz" / f"core_banking-{database}.md",
                                 reports, MIN_OPERATIONS, "server log:\n" + server.log_tail(30))
