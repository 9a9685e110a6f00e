"""The agent desk fuzzed from its own OpenAPI document over real HTTP (issue 12).

A private desk (own database and Redis prefix, so the session desk's queue stays as the other
tests expect; its customer panel reads a private core banking) gets, for every operation in
/openapi.json, `MAX_EXAMPLES` generated requests without credentials (none or garbage) and as
many with each credential the operation asks for (agent1's and supervisor1's agent tokens, or the
service token), plus a few with the other kind. Real handoff ids (waiting, active and closed
handoffs registered first) are mixed into the generated ids. No answer may be a 5xx, and every
answer must be documented: status, content type and body schema (tests/support/openapi_fuzz.py).
It runs once on SQLite (development) and once on PostgreSQL (deployments). The table of each run
is written to test-artifacts/openapi-fuzz/agent_desk-<database>.md; figures and findings in
docs/reliability.md.
WebSocket routes (/api/live) are not in OpenAPI and not fuzzed here.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
import redis
import requests

from tests.services.agent_desk.harness import DeskProcess, RecordingServer, RedisForTests, handoff_body
from tests.services.core_banking.server import CoreBankingServer
from tests.support import openapi_fuzz
from tests.support.postgres import PG_URL, pg_test_schema, url_with_schema
from tests.support.unavailable import unavailable

MAX_EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "10"))  # more for a deeper run by hand
MIN_OPERATIONS = 22  # the API as of issue 12; more is fine, fewer means routes went missing
# Valid input that masking makes longer (a 16-digit card number becomes "**** **** **** 4444").
CARD_NUMBERS = "卡号1111222233334444，" * 100


@pytest.fixture(scope="module")
def core_banking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreBankingServer]:
    """What the desk's customer panel reads (with the desk's own token, where core banking has one)."""
    with CoreBankingServer(tmp_path_factory.mktemp("desk_fuzz_core_banking")) as running:
        yield running


def _desk(redis_url: str, callback_url: str, database_url: str, run_dir: Path, name: str,
          core_banking: CoreBankingServer) -> Iterator[DeskProcess]:
    process = DeskProcess.configure(redis_url=redis_url, database_url=database_url, callback_url=callback_url,
                                    run_dir=run_dir, name=name, CORE_BANKING_URL=core_banking.url,
                                    CORE_BANKING_DESK_TOKEN=core_banking.env.get("CORE_BANKING_DESK_TOKEN", ""))
    process.start()
    try:
        yield process
    finally:
        process.stop()
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{process.prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_desk(request: pytest.FixtureRequest, redis_for_tests: RedisForTests, recorder: RecordingServer,
              core_banking: CoreBankingServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskProcess]:
    run_dir = tmp_path_factory.mktemp(f"desk_fuzz_{request.param}")
    if request.param == "sqlite":
        yield from _desk(redis_for_tests.url, recorder.base_url, f"sqlite:///{run_dir / 'desk.db'}", run_dir,
                         "fuzz-sqlite", core_banking)
        return
    with pg_test_schema("deskfuzz_") as schema:
        yield from _desk(redis_for_tests.url, recorder.base_url, url_with_schema(PG_URL, schema), run_dir,
                         "fuzz-postgresql", core_banking)


def test_every_operation_answers_as_documented(fuzz_desk: DeskProcess, artifacts_dir: Path,
                                               request: pytest.FixtureRequest) -> None:
    if openapi_fuzz.from_schema is None:
        unavailable("hypothesis-jsonschema is not installed (pip install -r requirements.lock)")
    desk = fuzz_desk
    document = openapi_fuzz.load_document(desk.url)
    # Handoffs in every state, so that generated requests also meet real ones.
    handoffs = [desk.register(queue=queue) for queue in ("general", "general", "cards", "loans", "complaints")]
    ids = [h["id"] for h in handoffs]
    assert desk.post(f"/api/handoffs/{ids[1]}/claim", username="agent1").status_code == 200
    reply = desk.post(f"/api/handoffs/{ids[1]}/messages", {"text": "您好，我来帮您看一下"}, username="agent1")
    assert reply.status_code == 201, reply.text
    assert desk.post(f"/api/handoffs/{ids[2]}/claim", username="supervisor1").status_code == 200
    assert desk.post(f"/api/handoffs/{ids[2]}/close", {"resolution": "已解决"}, username="supervisor1") \
        .status_code == 200
    conversations = [requests.get(f"{desk.url}/api/handoffs/{i}", headers=desk.agent_headers("supervisor1"),
                                  timeout=10).json()["conversation_id"] for i in ids]
    delivery = (reply.json().get("delivery") or {}).get("id")
    known_values = {"handoff_id": ids, "conversation_id": conversations,
                    "delivery_id": [delivery] if delivery else [], "queue": ["general", "cards"]}
    known_bodies = {
        "POST /api/auth/login": [{"username": "agent1", "password": "agent1-demo"},
                                 {"username": "supervisor1", "password": "supervisor1-demo"}],
        "POST /api/handoffs/{handoff_id}/messages": [{"text": "请问还有什么可以帮您？"}],
        "POST /api/handoffs/{handoff_id}/close": [{"resolution": "已解决", "back_to_bot": True}],
        "POST /api/handoffs/{handoff_id}/transfer": [{"queue": "cards", "note": "信用卡问题"}, {"queue": "general"}],
        "POST /internal/handoffs": [handoff_body(), handoff_body(conversation_id=conversations[0]),
                                    handoff_body(reason=CARD_NUMBERS[:500], summary=CARD_NUMBERS[:2000],
                                                 transcript=[{"role": "customer", "text": CARD_NUMBERS}])],
        "POST /internal/handoffs/{handoff_id}/customer-messages": [{"text": "还在吗"}],
        "POST /internal/handoffs/{handoff_id}/rating": [{"rating": 5, "comment": "很满意"}],
    }
    fuzzer = openapi_fuzz.Fuzzer(desk.url, document, known_values=known_values, known_bodies=known_bodies)
    credentials = [openapi_fuzz.Credentials.anonymous(),
                   openapi_fuzz.Credentials.bearer("agent", desk.token("agent1"), "AgentToken"),
                   openapi_fuzz.Credentials.bearer("supervisor", desk.token("supervisor1"), "AgentToken"),
                   openapi_fuzz.Credentials.bearer("service", desk.env["AGENT_DESK_SERVICE_TOKEN"], "ServiceToken")]
    reports = openapi_fuzz.run_all(fuzzer, credentials, MAX_EXAMPLES)
    database = request.node.callspec.params["fuzz_desk"]
    openapi_fuzz.write_and_check(f"Agent desk ({database})", artifacts_dir / "openapi-fuzz" / f"agent_desk-{database}.md",
                                 reports, MIN_OPERATIONS, f"desk log: {desk.log_path}")


# -- findings of the fuzzing, fixed: they stay as regressions ------------------------------------
def test_a_delivery_id_beyond_the_database_integer_is_not_a_500(desk: DeskProcess) -> None:
    response = desk.post(f"/api/handoffs/no-such-handoff/deliveries/{2 ** 70}/retry")
    assert response.status_code < 500, response.text


def test_a_display_name_that_masking_lengthens_is_not_a_500(fuzz_desk: DeskProcess) -> None:
    name = CARD_NUMBERS[:64]  # 3 card numbers: each 16 digits become "**** **** **** 4444"
    response = requests.post(fuzz_desk.url + "/internal/handoffs", headers=fuzz_desk.service_headers, timeout=10,
                             json=handoff_body(customer={"id": "C1001", "display_name": name}))
    assert response.status_code < 500, response.text
