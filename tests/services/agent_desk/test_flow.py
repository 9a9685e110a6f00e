"""The whole path of a handoff through the real desk: bot registers -> agent works it -> back to the bot."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import requests

from tests.services.agent_desk.harness import DeskProcess, RecordingServer, handoff_body


def test_handoff_lifecycle(desk: DeskProcess, recorder: RecordingServer) -> None:
    created = desk.register()
    assert created["created"] is True and created["status"] == "waiting"
    assert created["queue_position"] >= 1 and created["estimated_wait_seconds"] > 0
    assert created["within_service_hours"] is True and "人工客服" in created["message"]
    hid = created["id"]

    # visible to agents, with the whole context package
    waiting = desk.get("/api/handoffs", params={"status": "waiting"}).json()
    assert hid in [h["id"] for h in waiting]
    detail = desk.get(f"/api/handoffs/{hid}").json()
    assert detail["status"] == "waiting" and detail["queue_position"] >= 1
    assert detail["customer"] == {"id": "C1001", "display_name": "张*", "segment": "gold"}
    assert [t["role"] for t in detail["transcript"]] == ["customer", "bot", "customer"]
    assert detail["transcript"][0]["text"] == "我的信用卡账单不对"
    assert detail["slots"] == {"card_last4": "1234", "bill_month": "2026-01"}
    assert detail["nlu"][1] == {"text": "转人工", "intent": "request_human", "intent_label": "转人工客服", "confidence": 0.97}
    assert detail["summary"].startswith("客户对信用卡")

    # registering the same conversation again returns the open handoff
    again = requests.post(desk.url + "/internal/handoffs", headers=desk.service_headers, timeout=10,
                          json=handoff_body(conversation_id=detail["conversation_id"]))
    assert again.status_code == 200 and again.json()["id"] == hid and again.json()["created"] is False

    # claim: only one agent wins
    claimed = desk.post(f"/api/handoffs/{hid}/claim")
    assert claimed.status_code == 200 and claimed.json()["status"] == "active"
    assert claimed.json()["claimed_by"] == "agent1"
    assert desk.post(f"/api/handoffs/{hid}/claim", username="agent2").json()["error"]["code"] == "already_claimed"
    assert desk.post(f"/api/handoffs/{hid}/messages", {"text": "我来"}, username="agent2").status_code == 403
    assert hid in [h["id"] for h in desk.get("/api/handoffs", params={"status": "active"}).json()]

    # reply -> delivered to the bot side
    sent = desk.post(f"/api/handoffs/{hid}/messages", {"text": "您好，我是人工客服，请问哪一笔交易有疑问？"})
    assert sent.status_code == 201, sent.text
    call = recorder.wait_for("/webhooks/handoff/agent_message", handoff_id=hid)
    assert call.headers["Authorization"] == f"Bearer {desk.env['AGENT_DESK_SERVICE_TOKEN']}"
    assert call.body["conversation_id"] == detail["conversation_id"] and call.body["channel"] == "app"
    assert call.body["text"] == "您好，我是人工客服，请问哪一笔交易有疑问？" and call.body["agent"] == "坐席 王芳"

    # the customer writes while with the agent
    r = requests.post(f"{desk.url}/internal/handoffs/{hid}/customer-messages", json={"text": "1 月 3 号那笔"},
                      headers=desk.service_headers, timeout=10)
    assert r.status_code == 201
    active = requests.get(f"{desk.url}/internal/conversations/{detail['conversation_id']}/active-handoff",
                          headers=desk.service_headers, timeout=10).json()
    assert active["id"] == hid and active["status"] == "active" and active["agent_display_name"] == "坐席 王芳"

    deadline = time.time() + 5
    while time.time() < deadline:
        transcript = desk.get(f"/api/handoffs/{hid}").json()["transcript"]
        if transcript[-2].get("delivery", {}).get("status") == "delivered":
            break
        time.sleep(0.05)
    assert [t["role"] for t in transcript[-2:]] == ["agent", "customer"]
    assert transcript[-2]["delivery"]["status"] == "delivered" and transcript[-1]["text"] == "1 月 3 号那笔"

    # close, back to the bot
    closed = desk.post(f"/api/handoffs/{hid}/close", {"resolution": "已解释账单", "back_to_bot": True})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    call = recorder.wait_for("/webhooks/handoff/closed", handoff_id=hid)
    assert call.body == {"handoff_id": hid, "conversation_id": detail["conversation_id"], "channel": "app",
                         "back_to_bot": True, "resolution": "已解释账单", "then": "rating"}
    assert requests.get(f"{desk.url}/internal/conversations/{detail['conversation_id']}/active-handoff",
                        headers=desk.service_headers, timeout=10).status_code == 404
    late = requests.post(f"{desk.url}/internal/handoffs/{hid}/customer-messages", json={"text": "还在吗"},
                         headers=desk.service_headers, timeout=10)
    assert late.status_code == 409 and late.json()["error"]["code"] == "handoff_closed"

    # rating
    r = requests.post(f"{desk.url}/internal/handoffs/{hid}/rating", json={"rating": 5},
                      headers=desk.service_headers, timeout=10)
    assert r.status_code == 200
    final = desk.get(f"/api/handoffs/{hid}").json()
    assert final["rating"] == 5 and final["back_to_bot"] is True and final["resolution"] == "已解释账单"
    assert final["deliveries"][0]["status"] == "delivered"
    assert hid in [h["id"] for h in desk.get("/api/handoffs", params={"status": "closed"}).json()]

    # the audit log says who did what
    audit = desk.get(f"/api/handoffs/{hid}/audit", username="supervisor1").json()
    actions = [(e["actor"], e["action"]) for e in audit]
    for expected in [("bot", "created"), ("agent1", "viewed"), ("agent1", "claimed"), ("agent1", "replied"),
                     ("agent1", "closed"), ("bot", "rated")]:
        assert expected in actions, actions
    assert desk.get(f"/api/handoffs/{hid}/audit").status_code == 403  # agents cannot read it


def test_transfer_keeps_waiting_time_and_frees_the_claim(desk: DeskProcess) -> None:
    hid = desk.register()["id"]
    before = desk.get(f"/api/handoffs/{hid}").json()
    desk.post(f"/api/handoffs/{hid}/claim", username="agent2")
    r = desk.post(f"/api/handoffs/{hid}/transfer", {"queue": "cards", "note": "信用卡专线"}, username="agent2")
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["status"] == "waiting" and after["queue"] == "cards" and after["claimed_by"] is None
    assert after["waiting_since"] == before["waiting_since"] and after["queue_position"] >= 1
    assert desk.post(f"/api/handoffs/{hid}/transfer", {"queue": "nope"}).json()["error"]["code"] == "unknown_queue"
    assert desk.post(f"/api/handoffs/{hid}/claim").json()["claimed_by"] == "agent1"
    queues = {q["name"]: q for q in desk.get("/api/queues").json()}
    assert queues["cards"]["label"] == "信用卡"
    desk.post(f"/api/handoffs/{hid}/close", {"resolution": "", "back_to_bot": False})


def test_failed_deliveries_are_retried_recorded_and_retryable(desk: DeskProcess, recorder: RecordingServer) -> None:
    hid = desk.register()["id"]
    desk.post(f"/api/handoffs/{hid}/claim")
    recorder.fail_next(2, 503)  # two failures, then the third attempt succeeds
    msg = desk.post(f"/api/handoffs/{hid}/messages", {"text": "第一条回复"}).json()
    recorder.wait_for("/agent_message", handoff_id=hid, message_id=msg["id"])
    deadline = time.time() + 5
    while time.time() < deadline:
        entry = desk.get(f"/api/handoffs/{hid}").json()["transcript"][-1]
        if entry["delivery"]["status"] == "delivered":
            break
        time.sleep(0.05)
    assert entry["delivery"]["status"] == "delivered" and entry["delivery"]["attempts"] == 3

    recorder.fail_next(10, 500)  # more failures than attempts: the reply is kept, marked failed
    msg = desk.post(f"/api/handoffs/{hid}/messages", {"text": "第二条回复"}).json()
    deadline = time.time() + 10
    while time.time() < deadline:
        entry = desk.get(f"/api/handoffs/{hid}").json()["transcript"][-1]
        if entry["delivery"]["status"] == "failed":
            break
        time.sleep(0.1)
    assert entry["text"] == "第二条回复" and entry["delivery"]["status"] == "failed"
    assert entry["delivery"]["attempts"] == 4 and "HTTP 500" in entry["delivery"]["last_error"]
    recorder._failures.clear()
    r = desk.post(f"/api/handoffs/{hid}/deliveries/{entry['delivery']['id']}/retry")
    assert r.status_code == 200
    recorder.wait_for("/agent_message", handoff_id=hid, message_id=msg["id"])
    audit = [e["action"] for e in desk.get(f"/api/handoffs/{hid}/audit", username="supervisor1").json()]
    assert "delivery_failed" in audit and "delivery_retried" in audit
    desk.post(f"/api/handoffs/{hid}/close", {"back_to_bot": True})


def test_pending_deliveries_survive_a_restart(make_desk, recorder: RecordingServer) -> None:
    """A reply accepted while the bot side is down goes out after the desk restarts."""
    private = make_desk(AGENT_DESK_CALLBACK_MAX_ATTEMPTS="1")
    hid = private.register()["id"]
    private.post(f"/api/handoffs/{hid}/claim")
    private.stop()
    # simulate a crash between commit and delivery: a pending outbox row, written by the desk's own code
    db = Path(private.env["AGENT_DESK_DATABASE_URL"].split("///", 1)[1])
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO desk_messages (handoff_id, role, text, ts, agent) VALUES (?, 'agent', ?, "
                     "'2026-01-05 02:00:00', 'agent1')", (hid, "重启前的回复"))
        mid = conn.execute("SELECT max(id) FROM desk_messages").fetchone()[0]
        conn.execute("INSERT INTO desk_deliveries (handoff_id, message_id, kind, payload, status, attempts, "
                     "created_at) VALUES (?, ?, 'agent_message', ?, 'pending', 0, '2026-01-05 02:00:00')",
                     (hid, mid, '{"handoff_id": "%s", "message_id": %d, "text": "重启前的回复"}' % (hid, mid)))
    private.start()
    recorder.wait_for("/agent_message", handoff_id=hid, message_id=mid)


def test_canned_responses_and_health(desk: DeskProcess) -> None:
    canned = desk.get("/api/canned-responses").json()
    assert len(canned) >= 3 and all(c["text"] for c in canned)
    assert any("您好" in c["text"] for c in canned)
    assert requests.get(desk.url + "/health", timeout=5).json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert desk.get("/api/auth/me").json()["username"] == "agent1"


def test_closing_says_what_the_bot_does_next(desk: DeskProcess, recorder: RecordingServer) -> None:
    hid = desk.register()["id"]
    desk.post(f"/api/handoffs/{hid}/claim")
    refused = desk.post(f"/api/handoffs/{hid}/close", {"then": "transfer_money"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"
    assert desk.post(f"/api/handoffs/{hid}/close", {"then": "limit_raise"}).status_code == 200
    assert recorder.wait_for("/closed", handoff_id=hid).body["then"] == "limit_raise"
    closed = [e for e in desk.get(f"/api/handoffs/{hid}/audit", username="supervisor1").json() if e["action"] == "closed"]
    assert closed[0]["detail"]["then"] == "limit_raise"

    quiet = desk.register()["id"]
    desk.post(f"/api/handoffs/{quiet}/claim")
    desk.post(f"/api/handoffs/{quiet}/close", {"back_to_bot": False})
    assert recorder.wait_for("/closed", handoff_id=quiet).body["then"] == "nothing"
