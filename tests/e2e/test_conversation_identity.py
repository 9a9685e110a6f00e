"""Nobody speaks in another customer's conversation, or reads what the agent wrote to them.

The attack from issue 12, reproduced through the running stack: C1003 logs in, talks to the
bot over REST and is handed to agent1, who claims the conversation and writes to her. A
second client, knowing only her sender id, tries to speak as her, to read the agent's
reply, and to use the app's sender id through REST. Each attempt is refused with a JSON
error, and nothing of it reaches the desk's transcript, the tracker or her outbox.
"""
from __future__ import annotations

import pytest
import redis
import requests

from tests.support.conversation import Customer
from tests.support.desk import Desk, wait_for

pytestmark = pytest.mark.stack

INJECTED = "请把我的钱转到 6222 0000 1111"


def post(stack, sender: str, text: str, metadata: dict = None) -> requests.Response:
    body = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
    return requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=30)


def read_outbox(stack, sender: str, token: str = None) -> requests.Response:
    headers = {"X-Customer-Token": token} if token else {}
    return requests.get(f"{stack.rasa_url}/webhooks/rest/messages", params={"sender": sender},
                        headers=headers, timeout=10)


def test_a_stranger_cannot_speak_or_read_in_a_live_handoff(stack, tokens):
    customer = Customer(stack, tokens["C1003"])
    customer.say("你好")
    assert "人工" in customer.says("转人工")
    agent = Desk(stack.url("agent_desk"), "agent1", "agent1-demo")
    handoff = wait_for(lambda: next((h for h in agent.get("/api/handoffs", status="waiting")
                                     if h["conversation_id"] == customer.sender), None), "the handoff")
    agent.post(f"/api/handoffs/{handoff['id']}/claim")
    agent.post(f"/api/handoffs/{handoff['id']}/messages", {"text": "您的卡号是多少？"})

    without_token = post(stack, customer.sender, INJECTED)
    assert without_token.status_code == 401 and "error" in without_token.json()
    as_someone_else = post(stack, customer.sender, INJECTED, {"customer_token": tokens["C1001"]})
    assert as_someone_else.status_code == 403 and "another customer" in as_someone_else.json()["error"]
    forged = post(stack, customer.sender, INJECTED, {"customer_token": "forged.token.value"})
    assert forged.status_code == 401

    assert read_outbox(stack, customer.sender).status_code == 401
    assert read_outbox(stack, customer.sender, tokens["C1001"]).status_code == 403
    replies = wait_for(customer.waiting, "the agent's reply for the real customer")
    assert "您的卡号是多少" in " ".join(m.get("text", "") for m in replies)

    transcript = agent.get(f"/api/handoffs/{handoff['id']}")["transcript"]
    assert INJECTED not in [t["text"] for t in transcript]
    assert INJECTED not in [e.get("text") for e in stack.tracker(customer.sender)["events"]]


def test_rest_cannot_use_the_app_or_wechat_conversations(stack, tokens):
    for sender in ("app-C1003", "wechat-oAbCdEf123"):
        refused = post(stack, sender, "查一下余额", {"customer_token": tokens["C1003"]})
        assert refused.status_code == 403 and "app-" in refused.json()["error"], refused.text
        assert read_outbox(stack, sender, tokens["C1003"]).status_code == 403


def test_an_anonymous_conversation_is_bound_when_the_customer_logs_in(stack, tokens):
    customer = Customer(stack)
    assert post(stack, customer.sender, "你好").status_code == 200  # anonymous: open
    customer.token = tokens["C1002"]
    assert customer.say("查一下余额")  # logs in inside the conversation: now it is hers
    assert post(stack, customer.sender, "查一下余额").status_code == 401
    assert post(stack, customer.sender, "查一下余额", {"customer_token": tokens["C1003"]}).status_code == 403
    assert customer.say("谢谢")  # the owner still can


def test_no_customer_token_is_kept_in_redis(stack, tokens):
    customer = Customer(stack, tokens["C1003"])
    assert customer.says("查一下余额")
    customer.says("我的卡丢了")
    target = stack.config.redis
    client = redis.Redis(host=target.host, port=target.port, db=target.db, password=target.password or None)
    keys = [k for k in client.scan_iter(match=f"{stack.key_prefix}*{customer.sender}*")]
    stored = b"".join(client.get(k) or b"" for k in keys if client.type(k) == b"string").decode("utf-8")
    assert customer.sender in stored  # the tracker was found
    assert tokens["C1003"] not in stored and "customer_token" not in stored
    assert '"customer_id": "C1003"' in stored


def test_a_customer_id_the_client_writes_itself_is_not_kept(stack):
    """The stored customer_id is what a connector verified; a REST client cannot plant one
    (actions use it to know an agent hands back to a logged-in customer)."""
    sender = "forged-id-" + str(id(stack))
    assert post(stack, sender, "你好", metadata={"customer_id": "C1001", "channel": "app"}).status_code == 200
    users = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert users and all("customer_id" not in (e.get("metadata") or {}) for e in users), users
