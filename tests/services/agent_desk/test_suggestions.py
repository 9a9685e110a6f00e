"""Suggested replies at the desk (issue 15 item 1): kept beside the customer message they answer,
shown to whoever handles the handoff, decided as used / edited / ignored, counted in the report."""
from __future__ import annotations

import requests

LIMITS = "您的手机银行转账限额：单笔 5,000 元，每日 5,000 元，今日还可转 0 元。"
ARRIVAL = "您 12 月 3 日那笔 5,000 元的转账预计 12 月 4 日 09:00 前到账。"
FEE = "手机银行转账免手续费。"


def _claimed(desk, queue: str = "general") -> str:
    hid = desk.register(queue=queue)["id"]
    assert desk.post(f"/api/handoffs/{hid}/claim").status_code == 200
    return hid


def _customer_says(desk, hid: str, text: str, *suggestions: tuple) -> requests.Response:
    body = {"text": text, "suggestions": [{"intent": i, "confidence": c, "text": t} for i, c, t in suggestions]}
    r = requests.post(f"{desk.url}/internal/handoffs/{hid}/customer-messages", json=body,
                      headers=desk.service_headers, timeout=10)
    assert r.status_code == 201, r.text
    return r


def _shown(desk, hid: str, username: str = "agent1") -> list:
    return desk.get(f"/api/handoffs/{hid}", username=username).json()["suggestions"]


def test_suggestions_are_shown_for_the_newest_message_and_sending_one_delivers_it(make_desk, recorder) -> None:
    desk = make_desk()
    hid = _claimed(desk)
    _customer_says(desk, hid, "我的额度还剩多少", ("ask_transfer_limit", 0.91, LIMITS), ("ask_transfer_fee", 0.05, FEE))
    _customer_says(desk, hid, "我那笔钱什么时候到", ("check_transfer_status", 0.88, ARRIVAL),
                   ("ask_transfer_arrival", 0.07, "普通到账一般 2 小时内到账。"))
    shown = _shown(desk, hid)
    assert [(s["rank"], s["intent"], s["confidence"], s["outcome"]) for s in shown] == [
        (1, "check_transfer_status", 0.88, "shown"), (2, "ask_transfer_arrival", 0.07, "shown")]
    assert shown[0]["text"] == ARRIVAL and shown[0]["intent_label"] not in ("", "check_transfer_status")
    transcript = desk.get(f"/api/handoffs/{hid}").json()["transcript"]
    assert shown[0]["message_id"] == transcript[-1]["id"] and transcript[-1]["text"] == "我那笔钱什么时候到"

    sent = desk.post(f"/api/handoffs/{hid}/messages", {"text": ARRIVAL, "suggestion_id": shown[0]["id"]})
    assert sent.status_code == 201, sent.text
    call = recorder.wait_for("/webhooks/handoff/agent_message", handoff_id=hid)
    assert call.body["text"] == ARRIVAL  # the customer's channel gets it like any reply
    assert _shown(desk, hid) == []  # answered: nothing left to suggest
    [replied] = [e for e in desk.get(f"/api/handoffs/{hid}/audit", username="supervisor1").json()
                 if e["action"] == "replied"]
    assert replied["detail"]["suggestion"] == "used" and replied["detail"]["suggestion_id"] == shown[0]["id"]


def test_use_edit_and_ignore_make_the_reports_suggestion_use_rate(make_desk) -> None:
    desk = make_desk()
    hid = _claimed(desk, queue="cards")
    _customer_says(desk, hid, "限额多少", ("ask_transfer_limit", 0.9, LIMITS))
    [limits] = _shown(desk, hid)
    assert desk.post(f"/api/handoffs/{hid}/messages", {"text": LIMITS, "suggestion_id": limits["id"]}).status_code == 201

    _customer_says(desk, hid, "钱什么时候到", ("check_transfer_status", 0.8, ARRIVAL))
    [arrival] = _shown(desk, hid)
    edited = ARRIVAL + " 到账后会有短信通知您。"
    assert desk.post(f"/api/handoffs/{hid}/messages", {"text": edited, "suggestion_id": arrival["id"]}).status_code == 201

    _customer_says(desk, hid, "手续费呢", ("ask_transfer_fee", 0.7, FEE))
    assert desk.post(f"/api/handoffs/{hid}/messages", {"text": "我帮您查一下"}).status_code == 201  # own words

    _customer_says(desk, hid, "好的谢谢", ("thank", 0.95, "不客气"))  # closed before any reply
    assert desk.post(f"/api/handoffs/{hid}/close", {"disposition": "solved"}).status_code == 200

    cards = {q["queue"]: q for q in desk.get("/api/report", username="supervisor1").json()["queues"]}["cards"]
    assert cards["suggestions"] == {"used": 1, "edited": 1, "ignored": 2}
    assert cards["suggestion_use_rate"] == 0.5
    general = {q["queue"]: q for q in desk.get("/api/report", username="supervisor1").json()["queues"]}["general"]
    assert general["suggestion_use_rate"] is None  # no suggestion shown there


def test_a_suggestion_of_another_handoff_is_refused_and_nothing_is_sent(make_desk) -> None:
    desk = make_desk()
    mine, other = _claimed(desk), _claimed(desk)
    _customer_says(desk, other, "限额多少", ("ask_transfer_limit", 0.9, LIMITS))
    [theirs] = _shown(desk, other)
    r = desk.post(f"/api/handoffs/{mine}/messages", {"text": LIMITS, "suggestion_id": theirs["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "suggestion_not_found"
    assert [m["role"] for m in desk.get(f"/api/handoffs/{mine}").json()["transcript"]].count("agent") == 0
    assert _shown(desk, other)[0]["outcome"] == "shown"  # still undecided there


def test_suggestions_are_masked_and_only_the_handler_sees_them(make_desk) -> None:
    desk = make_desk()
    hid = _claimed(desk)
    _customer_says(desk, hid, "卡号是多少", ("check_balance", 0.9, "您尾号 6222020200001234567 的卡余额 1,000 元"))
    [shown] = _shown(desk, hid)
    assert "6222020200001234567" not in shown["text"] and "4567" in shown["text"]
    assert desk.get(f"/api/handoffs/{hid}", username="agent2").status_code == 403  # someone else's conversation
    too_many = requests.post(f"{desk.url}/internal/handoffs/{hid}/customer-messages", timeout=10,
                             headers=desk.service_headers,
                             json={"text": "x", "suggestions": [{"intent": "thank", "confidence": 0.1, "text": "t"}] * 4})
    assert too_many.status_code == 422
