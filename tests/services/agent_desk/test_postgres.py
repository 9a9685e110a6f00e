"""The same desk on PostgreSQL (127.0.0.1:5432, database `test`, trust auth), in a throw-away schema."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
import requests

from tests.support.postgres import PG_URL, pg_test_schema, url_with_schema

@pytest.fixture
def pg_database_url() -> Iterator[str]:
    with pg_test_schema("agentdesk_test_") as schema:
        yield url_with_schema(PG_URL, schema)


def test_lifecycle_race_and_rebuild_on_postgres(make_desk, recorder, pg_database_url: str) -> None:
    desk = make_desk(database_url=pg_database_url)
    assert "postgresql" in desk.env["AGENT_DESK_DATABASE_URL"]
    created = desk.register(transcript=[{"role": "customer", "text": "卡号 6222021234567890 被吞了"}])
    hid = created["id"]
    other = desk.register(priority=4)
    assert other["queue_position"] == 1
    detail = desk.get(f"/api/handoffs/{hid}").json()
    assert detail["transcript"][0]["text"] == "卡号 **** **** **** 7890 被吞了" and detail["queue_position"] == 2

    # two agents claim at the same moment: exactly one wins (conditional UPDATE in PostgreSQL)
    desk.token("agent1"), desk.token("agent2")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda u: desk.post(f"/api/handoffs/{hid}/claim", username=u), ["agent1", "agent2"]))
    assert sorted(r.status_code for r in results) == [200, 409]
    winner = next(r for r in results if r.status_code == 200).json()["claimed_by"]

    desk.post(f"/api/handoffs/{hid}/messages", {"text": "已为您处理"}, username=winner)
    recorder.wait_for("/agent_message", handoff_id=hid)
    desk.restart()  # live state rebuilt from PostgreSQL
    assert desk.get(f"/api/handoffs/{hid}", username=winner).json()["status"] == "active"
    assert [h["id"] for h in desk.get("/api/handoffs", params={"status": "waiting"}).json()] == [other["id"]]
    desk.post(f"/api/handoffs/{hid}/close", {"resolution": "完成", "back_to_bot": True}, username=winner)
    recorder.wait_for("/closed", handoff_id=hid)
    r = requests.post(f"{desk.url}/internal/handoffs/{hid}/rating", json={"rating": 4},
                      headers=desk.service_headers, timeout=10)
    assert r.status_code == 200 and desk.get(f"/api/handoffs/{hid}", username=winner).json()["rating"] == 4
