"""Card, ID and mobile numbers never reach the desk's storage or agents in clear (defence in depth)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import requests

from tests.services.agent_desk.harness import DeskProcess, RecordingServer

CARD = "6222 0212 3456 7890 123"  # 19 digits, grouped
CARD_PLAIN = "6222021234567890"  # 16 digits
ID_NUMBER = "11010519900307123X"
MOBILE = "13812345678"
SECRETS = ("6222021234567890123", "6222 0212 3456 7890 123", CARD_PLAIN, ID_NUMBER, "110105199003071", MOBILE)


def test_personal_numbers_are_masked_everywhere(desk: DeskProcess, recorder: RecordingServer) -> None:
    created = desk.register(
        reason=f"客户卡号 {CARD} 被锁",
        customer={"id": "C1002", "display_name": "李小龙", "segment": "private"},
        transcript=[
            {"role": "customer", "text": f"我的卡号是 {CARD}，身份证 {ID_NUMBER}，手机 {MOBILE}"},
            {"role": "bot", "text": f"已收到卡号 {CARD_PLAIN}"},
        ],
        nlu=[{"text": f"我的卡号是 {CARD}", "intent": "card_locked", "confidence": 0.8}],
        slots={"card_number": CARD_PLAIN, "phone": int(MOBILE), "id_number": ID_NUMBER,
               "nested": {"cards": [CARD]}},
        summary=f"客户 {MOBILE} 的卡 {CARD} 被锁，身份证 {ID_NUMBER}",
    )
    hid = created["id"]
    requests.post(f"{desk.url}/internal/handoffs/{hid}/customer-messages", headers=desk.service_headers,
                  json={"text": f"再说一次，卡号 {CARD_PLAIN}，电话 {MOBILE}"}, timeout=10).raise_for_status()
    desk.post(f"/api/handoffs/{hid}/claim")
    desk.post(f"/api/handoffs/{hid}/messages", {"text": f"您的手机 {MOBILE} 已核实"})
    recorder.wait_for("/agent_message", handoff_id=hid)

    raw = desk.get(f"/api/handoffs/{hid}").text
    for secret in SECRETS:
        assert secret not in raw, secret
    detail = desk.get(f"/api/handoffs/{hid}").json()
    assert detail["customer"]["display_name"] == "李*龙"
    assert "**** **** **** 0123" in detail["transcript"][0]["text"]
    assert "110*************3X" in detail["transcript"][0]["text"]
    assert "138****5678" in detail["transcript"][0]["text"]
    assert detail["slots"] == {"card_number": "**** **** **** 7890", "phone": "138****5678",
                               "id_number": "110*************3X", "nested": {"cards": ["**** **** **** 0123"]}}
    assert "**** **** **** 0123" in detail["nlu"][0]["text"] and "**** **** **** 0123" in detail["reason"]
    assert detail["transcript"][-1]["text"] == "您的手机 138****5678 已核实"
    callback = recorder.delivered("/agent_message", handoff_id=hid)[-1]
    assert callback.body["text"] == "您的手机 138****5678 已核实"

    # and nothing in clear in the database file itself
    db = Path(desk.env["AGENT_DESK_DATABASE_URL"].split("///", 1)[1])
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    data = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    for secret in SECRETS:
        assert secret.encode() not in data, secret
    desk.post(f"/api/handoffs/{hid}/close", {"back_to_bot": True})
