"""Custom actions against the real action server and the real core-banking service.

Trackers are built from real Rasa events; customer tokens come from a real demo login and
travel in the message metadata, as the channels put them there.

Replies are checked for their facts (the customer's own numbers, read from core banking, and
names) and for the response or fragment that carries them, never for a whole sentence: the
wording is content (domain.yml, data/knowledge/wording.yml).
"""
from __future__ import annotations

import time

import jwt
import pytest
import requests

from actions.formatting import yuan
from actions.knowledge import fragment, label, transfer_limits
from tests.support.actions import call_action, slot_events, templates, texts, user_event

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def core(stack):
    return stack.url("core_banking")


@pytest.fixture(scope="module")
def actions_url(stack):
    return stack.url("actions")


def login(core: str, customer_id: str) -> str:
    response = requests.post(f"{core}/auth/login", json={"username": customer_id, "password": "demo1234"}, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def tokens(core):
    return {cid: login(core, cid) for cid in ("C1001", "C1002", "C1003")}


def own(core: str, token: str, path: str):
    """The customer's own data, straight from core banking (what the reply must state)."""
    response = requests.get(f"{core}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def set_faults(stack, latency_ms=0, error_rate=0.0):
    response = requests.put(f"{stack.url('core_banking')}/internal/faults",
                            json={"latency_ms": latency_ms, "error_rate": error_rate},
                            headers={"Authorization": f"Bearer {stack.env['CORE_BANKING_SERVICE_TOKEN']}"}, timeout=10)
    response.raise_for_status()


def test_balance_of_the_logged_in_customer(actions_url, tokens, core):
    result = call_action(actions_url, "action_check_balance", "bal-1", [user_event("我卡里还有多少钱", "check_balance", tokens["C1003"])])
    reply = texts(result)
    assert templates(result) == ["utter_balance"]
    accounts = own(core, tokens["C1003"], "/me/accounts")
    assert accounts
    for account in accounts:
        assert fragment("balance_line", account_type=account["account_type"], number=account["masked_account_number"],
                        balance=yuan(account["balance"]), available=yuan(account["available_balance"])) in reply
    assert "*" in reply  # account numbers are masked


def test_anonymous_and_forged_tokens_get_no_data(actions_url, tokens):
    anonymous = call_action(actions_url, "action_check_balance", "anon-1", [user_event("查余额", "check_balance")])
    # the general "how to check your balance" answer, then the invitation to log in; no data
    assert templates(anonymous) == ["utter_check_balance", "utter_please_login"]
    claims = jwt.decode(tokens["C1003"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-secret", algorithm="HS256")
    result = call_action(actions_url, "action_check_balance", "forged-1", [user_event("查余额", "check_balance", forged)])
    assert templates(result) == ["utter_check_balance", "utter_please_login"]


def test_why_the_retiree_cannot_send_5000(actions_url, tokens, core):
    event = user_event("我为什么转不了5000块", "ask_transfer_limit", tokens["C1001"],
                       entities=[{"entity": "amount", "value": 5000, "start": 6, "end": 11}])
    reply = texts(call_action(actions_url, "action_my_transfer_limits", "lim-1", [event], slots={"amount": 5000}))
    channel = transfer_limits().default_channel  # she named none
    row = next(r for r in own(core, tokens["C1001"], "/me/transfer-limits")["limits"] if r["channel"] == channel)
    assert float(row["remaining_today"]) == 4000 and float(row["single_limit"]) >= 5000  # the demo case: today's limit
    # over today's limit (not the single one), with her own numbers
    assert fragment("over_daily_limit", channel=channel, daily=yuan(row["daily_limit"]), used=yuan(row["used_today"]),
                    left=yuan(row["remaining_today"]), amount=yuan(5000)) in reply
    assert fragment("my_limits_raise_hint") in reply


def test_transfer_status_and_loan_status(actions_url, tokens, core):
    transfers = texts(call_action(actions_url, "action_check_transfer_status", "tr-1",
                                  [user_event("我转的钱怎么还没到", "check_transfer_status", tokens["C1001"])]))
    recent = own(core, tokens["C1001"], "/me/transfers?limit=3")
    assert recent and all(t["payee_name"] in transfers and yuan(t["amount"]) in transfers and t["status"] in transfers
                          for t in recent)
    loans = texts(call_action(actions_url, "action_check_loan_status", "loan-1",
                              [user_event("我的贷款批了没", "check_loan_status", tokens["C1002"])]))
    assert "经营贷" in loans and "审核中" in loans


def test_loan_materials_use_the_customer_type_from_the_profile(actions_url, tokens):
    result = call_action(actions_url, "action_loan_materials", "mat-1",
                         [user_event("申请经营贷要带什么", "ask_loan_materials", tokens["C1002"])], slots={"loan_type": "经营贷"})
    assert slot_events(result).get("customer_type") == "个体工商户"
    assert "营业执照" in texts(result)


def test_lost_card_is_frozen_after_confirmation(stack, actions_url, tokens, core):
    token = tokens["C1003"]
    cards = requests.get(f"{core}/me/cards", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    debit = next(c for c in cards if c["card_type"] == "debit" and c["status"] == "active")
    last4 = "".join(ch for ch in debit["masked_number"] if ch.isdigit())[-4:]
    ask = call_action(actions_url, "action_ask_lost_card", "lost-1", [user_event("我的卡丢了", "report_card_lost", token)])
    assert any(last4 in (b.get("title") or "") for r in ask["responses"] for b in r.get("buttons") or [])
    validated = call_action(actions_url, "validate_card_lost_form", "lost-1",
                            [user_event(f"尾号{last4}的借记卡", "inform", token)],
                            slots={"requested_slot": "lost_card", "lost_card": f"尾号{last4}的借记卡"})
    assert slot_events(validated)["lost_card"] == debit["card_id"]
    frozen = call_action(actions_url, "action_freeze_card", "lost-1", [user_event("是的", "affirm", token)],
                         slots={"lost_card": debit["card_id"], "confirm_freeze": True})
    assert templates(frozen)[:2] == ["utter_card_frozen", "utter_card_replacement"]
    assert frozen["responses"][0]["card"] == fragment("card_title", card_type=label("card_type", "debit"), last4=last4)
    assert debit["masked_number"].replace("*", "").replace(" ", "") == last4 or "*" in debit["masked_number"]
    after = requests.get(f"{core}/me/cards/{debit['card_id']}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert after.json()["status"] == "frozen"


def test_complaint_ticket_then_its_status(actions_url, tokens):
    token = tokens["C1003"]
    slots = {"complaint_description": "在网点排队等了两个小时，还被乱扣了20元手续费", "complaint_time": "昨天下午",
             "complaint_outcome": "退还手续费", "complaint_confirmed": True}
    created = call_action(actions_url, "action_submit_complaint", "cmp-1", [user_event("退还手续费", "inform", token)], slots=slots)
    ticket = slot_events(created)["complaint_ticket"]
    assert ticket.startswith("TS") and ticket in texts(created)
    status = call_action(actions_url, "action_check_complaint_status", "cmp-2",
                         [user_event("我的投诉处理到哪了", "check_complaint_status", token)])
    assert ticket in texts(status) and "已受理" in texts(status)
    other = call_action(actions_url, "action_check_complaint_status", "cmp-3",
                        [user_event(f"查一下投诉{ticket}", "check_complaint_status", tokens["C1001"])])
    assert "utter_complaint_not_found" in templates(other) and ticket in texts(other)  # never another customer's ticket


@pytest.mark.parametrize("faults", [{"latency_ms": 3000}, {"error_rate": 1.0}], ids=["slow-3s", "http-500"])
def test_core_banking_trouble_gives_a_kind_message_and_offers_a_person(stack, actions_url, tokens, faults):
    set_faults(stack, **faults)
    try:
        started = time.monotonic()
        result = call_action(actions_url, "action_check_balance", "fault-1",
                             [user_event("查余额", "check_balance", tokens["C1003"])])
        elapsed = time.monotonic() - started
    finally:
        set_faults(stack)
    assert templates(result) == ["utter_core_banking_unavailable"]
    assert slot_events(result)["handoff_reason"] == "core_banking_unavailable"
    assert elapsed < 10  # bounded by the client's timeout, not by the slow server
