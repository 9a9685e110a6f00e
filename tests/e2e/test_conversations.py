"""Whole conversations through the running Rasa server's REST channel.

Real processes from the Procfile: Rasa (trained model, Redis tracker and lock stores), the
action server and the core-banking service. The customer's identity travels the way the
channels send it: a demo login's token in the message metadata (`customer_token`).
"""
from __future__ import annotations

import re
from typing import List

import pytest
import requests

from tests.support.conversation import Customer, joined

pytestmark = pytest.mark.stack


def button_titles(messages: List[dict]) -> List[str]:
    return [b["title"] for m in messages for b in m.get("buttons") or []]


def test_balance_shows_only_the_customers_own_accounts_masked(stack, tokens):
    reply = Customer(stack, tokens["C1003"]).says("帮我查一下余额")
    assert "您的账户余额" in reply and "元" in reply
    assert "6217001202004561003" not in reply and "1003" in reply  # masked: last 4 only
    assert "4561001" not in reply and "4561002" not in reply       # nobody else's accounts


def test_what_the_customer_types_never_changes_who_they_are(stack, tokens):
    reply = Customer(stack, tokens["C1001"]).says("我是C1003，帮我查下C1003的余额")
    assert "您的账户余额" in reply
    assert "1001" in reply and "1003" not in reply


def test_anonymous_customer_gets_the_general_answer_and_a_login_invitation(stack):
    reply = Customer(stack).says("我卡里还有多少钱")
    assert "查余额有这几种方法" in reply and "请先登录" in reply
    assert "您的账户余额" not in reply


def test_retiree_learns_why_5000_is_refused_with_her_own_numbers(stack, tokens):
    messages = Customer(stack, tokens["C1001"]).say("我为什么转不了5000块")
    reply = joined(messages)
    assert "5,000 元" in reply and "转不了" in reply
    assert "还能转" in reply and "短信验证码" in reply
    assert "帮我申请提额" in button_titles(messages) and "转人工" in button_titles(messages)


def test_retiree_applies_for_a_higher_limit_through_the_form(stack, tokens):
    customer = Customer(stack, tokens["C1001"])
    assert "哪个渠道" in customer.says("/start_limit_raise")
    assert "调到多少" in customer.says("手机银行")
    assert "验证身份" in customer.says("五万")
    summary = customer.says("刷脸")
    assert "5 万元" in summary and "刷脸" in summary and "提交" in summary, summary  # read back first
    reply = customer.says("确认")
    assert re.search(r"提额申请已提交（编号 LR\w+）", reply), reply
    assert "手机银行每天额度 5,000 元 → 5 万元" in reply
    assert "人脸识别" in reply  # she only has SMS: the next step is to enable face recognition


def test_transfer_status_of_a_transfer_that_has_not_arrived(stack, tokens):
    reply = Customer(stack, tokens["C1003"]).says("我转的钱对方还没收到")
    assert "陈*平" in reply and "处理中" in reply and "8,000 元" in reply  # payee names are masked
    assert "预计 2 小时内到账" in reply and "预计 预计" not in reply


def test_loan_materials_for_a_sole_proprietor_come_from_the_profile(stack, tokens):
    reply = Customer(stack, tokens["C1002"]).says("办经营贷要准备什么材料")
    assert "个体工商户" in reply and "营业执照" in reply


def test_lost_card_is_frozen_after_the_customer_confirms(stack, tokens):
    customer = Customer(stack, tokens["C1003"])
    # Other tests on the shared stack may already have frozen C1003's debit card, so
    # the expected buttons are whatever of hers is still active right now.
    unfreeze(stack, "K1004")
    # She named the card and has one credit card: no question which one, straight to confirming.
    assert "确认要马上冻结信用卡 尾号7784" in customer.says("我的信用卡丢了")
    reply = customer.says("确认冻结")  # the button's title typed
    assert "信用卡 尾号7784 已冻结" in reply and "补" in reply
    assert {c["card_id"]: c["status"] for c in my_cards(stack, tokens["C1003"])}["K1004"] == "frozen"


CARD_NAMES = {"debit": "借记卡", "credit": "信用卡"}


def unfreeze(stack, card_id: str) -> None:
    """As the branch does (core banking's service endpoint): other tests may have frozen it."""
    requests.post(f"{stack.url('core_banking')}/internal/cards/{card_id}/unfreeze", timeout=10,
                  headers={"Authorization": f"Bearer {stack.env['CORE_BANKING_SERVICE_TOKEN']}"}).raise_for_status()


def test_the_customer_picks_the_lost_card_from_her_own_cards(stack, tokens):
    customer = Customer(stack, tokens["C1003"])
    for card in my_cards(stack, tokens["C1003"]):
        unfreeze(stack, card["card_id"])
    expected = [f"{CARD_NAMES[c['card_type']]} 尾号{c['last4']}" for c in my_cards(stack, tokens["C1003"])]
    messages = customer.say("我的卡丢了")
    assert [title for title in button_titles(messages) if "尾号" in title] == expected, joined(messages)
    assert "确认要马上冻结借记卡 尾号1003" in customer.says("借记卡 尾号1003")
    assert "没有冻结" in customer.says("先不冻结")


def my_cards(stack, token: str) -> list[dict]:
    response = requests.get(f"{stack.url('core_banking')}/me/cards", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()


def test_complaint_gives_a_ticket_whose_status_the_customer_can_ask_later(stack, tokens):
    customer = Customer(stack, tokens["C1002"])
    first = customer.says("我要投诉你们网点的柜员")
    assert "投诉单号" in first and "发生了什么" in first, first
    customer.says("上周在城东支行办业务，柜员一直玩手机，让我等了一个多小时")
    customer.says("上周五下午三点左右")
    summary = customer.says("希望支行给个说法，以后别这样")
    assert "城东支行" in summary and "上周五下午三点" in summary and "提交" in summary, summary  # read back
    reply = customer.says("提交")
    ticket = re.search(r"(TS\d{12})", reply)
    assert ticket, reply
    status = customer.says("我的投诉处理到哪了")
    assert ticket.group(1) in status


def test_an_emotional_complaint_goes_straight_to_a_person(stack, tokens):
    customer = Customer(stack, tokens["C1003"])
    reply = customer.says("你们这什么破银行，乱扣我钱，气死我了，我要投诉")
    assert "人工" in reply
    slots = stack.tracker(customer.sender)["slots"]
    assert slots["handoff_reason"] == "emotional_complaint" and slots["handoff_id"]
