"""While a person has the conversation, the app and WeChat channels forward the customer's
words to the agent desk with suggested replies (connectors/handoff.py), and the bot stays
silent; closing gives the conversation back. (The REST channel: tests/e2e.)"""
from __future__ import annotations

import time

import pytest
import requests

from tests.channels.conftest import ChannelStack
from tests.fakes.fake_core_banking import mint_customer_token
from tests.fakes.wechat_sender import next_msg_id, text_message
from tests.support.desk import Desk, wait_for

pytestmark = pytest.mark.timeout(240)


def _claim(stack: ChannelStack, conversation_id: str) -> tuple:
    agent = Desk(stack.stack.url("agent_desk"), "agent1", "agent1-demo")
    handoff = wait_for(lambda: next((h for h in agent.get("/api/handoffs", status="waiting")
                                     if h["conversation_id"] == conversation_id), None), "the handoff at the desk")
    agent.post(f"/api/handoffs/{handoff['id']}/claim")
    return agent, handoff["id"]


def _forwarded_with_suggestions(agent: Desk, hid: str, text: str) -> dict:
    def arrived():
        detail = agent.get(f"/api/handoffs/{hid}")
        customer_lines = [m for m in detail["transcript"] if m["role"] == "customer"]
        return detail if customer_lines and customer_lines[-1]["text"] == text and detail["suggestions"] else None

    return wait_for(arrived, f"{text!r} and its suggestions at the desk")


def test_app_customer_words_reach_the_agent_with_suggestions_and_the_bot_is_silent(channel_stack: ChannelStack):
    token = mint_customer_token(channel_stack.signing_key, "C1001")
    url = f"{channel_stack.rasa_url}/webhooks/app/webhook"

    def say(text: str) -> list:
        r = requests.post(url, json={"message": text}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    assert "人工" in " ".join(m.get("text", "") for m in say("转人工"))
    agent, hid = _claim(channel_stack, "app-C1001")
    try:
        assert say("我今天还能转多少") == []  # a person has the conversation
        detail = _forwarded_with_suggestions(agent, hid, "我今天还能转多少")
        limits = [s for s in detail["suggestions"] if s["intent"] == "ask_transfer_limit"]
        assert limits and "还能转" in limits[0]["text"], detail["suggestions"]  # her own limits
    finally:
        agent.post(f"/api/handoffs/{hid}/close", {"then": "nothing"})
    wait_for(lambda: not channel_stack.redis().exists(
        f"{channel_stack.stack.key_prefix}:route:handoff:app-C1001"), "the conversation back with the bot")


def test_wechat_customer_words_reach_the_agent_with_suggestions(channel_stack: ChannelStack):
    openid = "oHANDOFFuser" + next_msg_id()[-12:]
    r = requests.post(f"{channel_stack.core_banking_url}/internal/wechat/bindings",
                      json={"openid": openid, "customer_id": "C1001"},
                      headers={"Authorization": f"Bearer {channel_stack.stack.env['CORE_BANKING_SERVICE_TOKEN']}"},
                      timeout=10)
    assert r.status_code == 200, r.text
    sender = channel_stack.sender()
    assert "人工" in (sender.send(text_message(openid, "转人工")).content or "")
    agent, hid = _claim(channel_stack, f"wechat-{openid}")
    before = len(channel_stack.fake_wechat.records(openid))
    reply = sender.send(text_message(openid, "我今天还能转多少"))
    assert reply.status == 200 and not reply.content  # silent: the person answers
    detail = _forwarded_with_suggestions(agent, hid, "我今天还能转多少")
    assert any(s["intent"] == "ask_transfer_limit" and "还能转" in s["text"] for s in detail["suggestions"])
    time.sleep(1)
    assert len(channel_stack.fake_wechat.records(openid)) == before  # nor by the customer-service API
    agent.post(f"/api/handoffs/{hid}/close", {"then": "nothing"})
