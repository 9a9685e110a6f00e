"""Queue order (priority, then waiting time), estimated waits, live events, and Redis rebuilt from SQL."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import redis
import requests
import websockets

from actions.knowledge import fragment
from tests.services.agent_desk.harness import DeskProcess


def _waiting_ids(desk: DeskProcess, queue: str = "general"):
    items = desk.get("/api/handoffs", params={"status": "waiting", "queue": queue}).json()
    return [(i["id"], i["queue_position"]) for i in items]


def test_queue_is_ordered_by_priority_then_waiting_time(make_desk) -> None:
    desk = make_desk()
    low_old = desk.register(priority=0)
    time.sleep(0.02)
    high_new = desk.register(priority=5)
    time.sleep(0.02)
    low_new = desk.register(priority=0)
    time.sleep(0.02)
    high_newest = desk.register(priority=5)
    assert [low_old["queue_position"], high_new["queue_position"], low_new["queue_position"],
            high_newest["queue_position"]] == [1, 1, 3, 2]
    expected = [high_new["id"], high_newest["id"], low_old["id"], low_new["id"]]
    assert _waiting_ids(desk) == [(hid, n) for n, hid in enumerate(expected, 1)]

    # the Redis sorted set holds the same order
    client = redis.Redis.from_url(desk.env["REDIS_URL"], decode_responses=True)
    assert client.zrange(f"{desk.prefix}:handoff:queue:general", 0, -1) == expected

    # estimated wait grows with the position (no agent online in this desk except the ones logged in)
    waits = [requests.get(f"{desk.url}/internal/conversations/{c}/active-handoff", headers=desk.service_headers,
                          timeout=10).json()["estimated_wait_seconds"]
             for c in [desk.get(f"/api/handoffs/{h}").json()["conversation_id"] for h in expected]]
    assert waits == sorted(waits) and waits[0] > 0

    # claiming the first moves everybody up
    desk.post(f"/api/handoffs/{expected[0]}/claim")
    assert _waiting_ids(desk) == [(hid, n) for n, hid in enumerate(expected[1:], 1)]


def test_outside_service_hours_the_customer_is_told(make_desk) -> None:
    now = time.gmtime()
    # a one-minute window that is certainly not now (Asia/Shanghai = UTC+8)
    hour = (now.tm_hour + 8 + 12) % 24
    desk = make_desk(AGENT_DESK_SERVICE_HOURS=f"{hour:02d}:00-{hour:02d}:01")
    created = desk.register()
    assert created["within_service_hours"] is False
    assert created["next_service_start"] is not None
    # the sentence is wording.yml's handoff_after_hours with the service hours and the next opening
    opens = datetime.fromisoformat(created["next_service_start"].replace("Z", "+00:00")).astimezone(
        ZoneInfo("Asia/Shanghai"))
    assert (opens.hour, opens.minute) == (hour, 0)
    assert created["message"] == fragment(
        "handoff_after_hours", hours=f"{hour:02d}:00-{hour:02d}:01",
        opens=fragment("date_time", month=opens.month, day=opens.day, time=f"{hour:02d}:00"))
    assert created["estimated_wait_seconds"] > 3600 * 10
    assert desk.get(f"/api/handoffs/{created['id']}").json()["within_service_hours"] is False


def test_redis_loss_is_rebuilt_from_sql(make_desk) -> None:
    desk = make_desk()
    first, second, third = (desk.register(priority=p) for p in (0, 0, 3))
    desk.post(f"/api/handoffs/{second['id']}/claim")
    closed = desk.register()
    desk.post(f"/api/handoffs/{closed['id']}/claim", username="agent2")
    desk.post(f"/api/handoffs/{closed['id']}/close", {"back_to_bot": True}, username="agent2")
    before_waiting = _waiting_ids(desk)
    assert [h for h, _ in before_waiting] == [third["id"], first["id"]]

    client = redis.Redis.from_url(desk.env["REDIS_URL"], decode_responses=True)
    base = f"{desk.prefix}:handoff"

    def snapshot():
        return {"queue": client.zrange(f"{base}:queue:general", 0, -1),
                "claim": client.get(f"{base}:claim:{second['id']}"),
                "active": client.smembers(f"{base}:agent:agent1:active"),
                "conv": client.get(f"{base}:conv:{desk.get('/api/handoffs/' + second['id']).json()['conversation_id']}"),
                "handling": client.llen(f"{base}:handling_seconds")}

    expected = snapshot()
    assert expected["queue"] == [third["id"], first["id"]] and expected["claim"] == "agent1"
    assert expected["handling"] == 1

    def flush() -> int:
        # One DELETE of every key: while the desk runs, its watchdog may rebuild them a moment
        # later, so the call's own count is the proof that the queue really was gone.
        keys = list(client.scan_iter(match=f"{desk.prefix}:*"))
        assert f"{base}:queue:general" in keys
        return client.delete(*keys)

    # 1. flushed while running: the watchdog notices and rebuilds
    assert flush() >= 4
    deadline = time.time() + 10
    while time.time() < deadline and client.zcard(f"{base}:queue:general") != 2:
        time.sleep(0.1)
    assert snapshot() == expected
    assert _waiting_ids(desk) == before_waiting

    # 2. flushed while the desk is down (a Redis restart without persistence): rebuilt at startup
    desk.stop()
    assert flush() >= 4
    assert not list(client.scan_iter(match=f"{base}:queue:*"))
    desk.start()
    assert snapshot() == expected
    assert _waiting_ids(desk) == before_waiting
    assert desk.get(f"/api/handoffs/{second['id']}").json()["status"] == "active"


def test_live_stream_pushes_every_change(desk: DeskProcess) -> None:
    token = desk.token("agent2")

    async def scenario():
        events = []
        async with websockets.connect(desk.url.replace("http", "ws") + "/api/live") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ready["type"] == "ready" and ready["agent"]["username"] == "agent2"
            await ws.send(json.dumps({"type": "ping"}))
            hid = (await asyncio.to_thread(desk.register))["id"]

            def steps():
                desk.post(f"/api/handoffs/{hid}/claim", username="agent2")
                requests.post(f"{desk.url}/internal/handoffs/{hid}/customer-messages", json={"text": "在吗"},
                              headers=desk.service_headers, timeout=10)
                desk.post(f"/api/handoffs/{hid}/messages", {"text": "在的"}, username="agent2")
                desk.post(f"/api/handoffs/{hid}/close", {"back_to_bot": True}, username="agent2")

            await asyncio.to_thread(steps)
            deadline = time.time() + 10
            while time.time() < deadline:
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if event.get("handoff_id") == hid or event["type"] == "pong":
                    events.append(event)
                if event["type"] == "closed" and event.get("handoff_id") == hid:
                    break
        return hid, events

    hid, events = asyncio.run(scenario())
    kinds = [e["type"] for e in events]
    assert "pong" in kinds
    ordered = [k for k in kinds if k in ("handoff_created", "claimed", "customer_message", "agent_message", "closed")]
    assert ordered == ["handoff_created", "claimed", "customer_message", "agent_message", "closed"]
    customer_event = next(e for e in events if e["type"] == "customer_message")
    assert customer_event["text"] == "在吗" and customer_event["status"] == "active"
    online = [a["username"] for a in desk.get("/api/agents/online").json()]
    assert "agent2" in online
