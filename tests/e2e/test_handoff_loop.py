"""The full human-handoff loop through the running stack.

Customer (REST channel) asks about the overseas limit -> the bot collects card, destination,
dates and amount -> hands over -> the agent sees the customer's words and the slots in the
desk, logs in, claims, replies -> the reply reaches the customer -> the customer answers
(the desk sees it; the bot stays silent) -> the agent closes back to the bot -> the bot asks
for a rating -> the rating is stored with the handoff.
"""
from __future__ import annotations

import pytest

from tests.support.conversation import Customer, joined
from tests.support.desk import Desk, wait_for

pytestmark = pytest.mark.stack


def test_overseas_limit_goes_to_a_person_with_context_and_comes_back_for_a_rating(stack, tokens):
    customer = Customer(stack, tokens["C1003"])
    assert "哪张信用卡" in customer.says("下个月去日本，信用卡境外消费限额想调高一点")
    assert "什么时候出发" in customer.says("尾号7784的信用卡")  # 日本 was said already: not asked again
    assert "调到多少" in customer.says("12月1号到12月10号")
    summary = customer.says("调到5万")
    assert "日本" in summary and "7784" in summary and "5 万元" in summary, summary  # read back first
    handed_over = customer.says("没问题")
    assert "人工" in handed_over and ("排" in handed_over or "等待" in handed_over), handed_over

    agent = Desk(stack.url("agent_desk"), "agent1", "agent1-demo")
    waiting = agent.get("/api/handoffs", status="waiting")
    summary = next(h for h in waiting if h["conversation_id"] == customer.sender)
    detail = agent.get(f"/api/handoffs/{summary['id']}")
    assert "境外消费限额" in detail["reason"] and detail["channel"] == "rest"
    customer_words = [t["text"] for t in detail["transcript"] if t["role"] == "customer"]
    assert "12月1号到12月10号" in customer_words
    assert detail["slots"]["travel_destination"] == "日本"
    assert float(detail["slots"]["desired_overseas_limit"]) == 50000
    assert detail["customer"]["id"] == "C1003" and "陈晓" not in detail["customer"]["display_name"]
    assert any(n["intent"] == "adjust_overseas_limit" for n in detail["nlu"])

    agent.post(f"/api/handoffs/{detail['id']}/claim")
    agent.post(f"/api/handoffs/{detail['id']}/messages", {"text": "您好，我是人工客服，已看到您要去日本，额度马上帮您调。"})
    delivered = wait_for(customer.waiting, "the agent's reply in the customer's outbox")
    assert "已看到您要去日本" in joined(delivered)

    assert customer.say("好的，谢谢你") == []  # with a person: the bot does not answer
    transcript = wait_for(
        lambda: [t for t in agent.get(f"/api/handoffs/{detail['id']}")["transcript"] if t["text"] == "好的，谢谢你"],
        "the customer's answer at the desk")
    assert transcript[0]["role"] == "customer"

    agent.post(f"/api/handoffs/{detail['id']}/close", {"resolution": "境外额度已调至5万", "back_to_bot": True})
    rating_question = wait_for(customer.waiting, "the rating question")
    assert "打个分" in joined(rating_question)

    assert "谢谢您的评价" in customer.says("5")
    closed = wait_for(lambda: agent.get(f"/api/handoffs/{detail['id']}").get("rating"), "the stored rating")
    assert closed == 5
    events = stack.tracker(customer.sender)["events"]
    texts_in_tracker = [e.get("text") for e in events]
    assert "好的，谢谢你" in texts_in_tracker  # the tracker keeps what was said to the person
    assert any((e.get("metadata") or {}).get("agent") for e in events if e["event"] == "bot")
