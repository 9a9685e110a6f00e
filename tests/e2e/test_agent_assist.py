"""Agent assist through the running stack (issue 15 item 1): while a person has the
conversation, the desk shows the replies the assistant would give to each customer message,
answered with that customer's own data; the agent sends one in one click; the bot itself
stays silent.

The seed cases (DESIGN.md 1-3) are played as customers have them; the figures (which
suggestion was right, clicks needed) go to results/assist/seed_cases.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.browser import browser_page  # noqa: F401  (the fixture)
from tests.support.conversation import Customer, joined
from tests.support.desk import Desk, hand_over, wait_for

pytestmark = pytest.mark.stack
RESULTS = Path(__file__).resolve().parents[2] / "results" / "assist"


def test_the_console_suggests_the_answer_about_the_customers_own_transfer_and_sends_it(stack, tokens, browser_page):
    from playwright.sync_api import expect

    page, errors = browser_page
    customer = Customer(stack, tokens["C1003"])
    agent, hid = hand_over(stack, customer, "转人工")

    page.goto(stack.url("agent_desk") + "/")
    page.fill("#login-username", "agent1")
    page.fill("#login-password", "agent1-demo")
    page.click("#login-submit")
    expect(page.locator("#live-status")).to_have_text("实时在线", timeout=10000)
    page.click('.tab[data-status="active"]')
    page.click(f'#handoff-list li[data-id="{hid}"]')
    expect(page.locator("#reply-box")).to_be_visible()
    expect(page.locator("#suggestions-box")).to_be_hidden()  # nothing asked yet

    assert customer.say("我转的钱对方还没收到") == []  # with a person: the bot says nothing
    suggestion = page.locator('#suggestions li[data-intent="check_transfer_status"]')
    expect(suggestion).to_be_visible(timeout=15000)  # pushed live with the customer's message
    for fact in ("陈*平", "8,000 元", "处理中"):  # her own pending transfer, payee masked
        expect(suggestion).to_contain_text(fact)
    assert 1 <= page.locator("#suggestions li").count() <= 3
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS / "console-suggestions.png"))

    suggestion.locator("button.use").click()
    delivered = joined(wait_for(customer.waiting, "the suggested reply in the customer's channel"))
    assert "8,000 元" in delivered and "陈*平" in delivered and "6222" not in delivered
    expect(page.locator("#suggestions-box")).to_be_hidden()
    replied = [e for e in Desk(stack.url("agent_desk"), "supervisor1", "supervisor1-demo").get(
        f"/api/handoffs/{hid}/audit") if e["action"] == "replied"]
    assert [e["detail"]["suggestion"] for e in replied] == ["used"]
    assert errors == []


# The seed cases: what the customer asks the person, the intent whose suggestion answers it,
# and facts of that customer's own answer the suggestion must hold.
SEED_CASES = {
    "elderly customer over her limit (C1001)": dict(
        customer="C1001", before=("我要给儿子转5000块 转不过去", "转人工"),
        turns=(("我今天还能转多少", "ask_transfer_limit", ("还能转 4,000 元",)),
               ("普通到账和实时到账有什么区别", "ask_transfer_arrival", ("普通到账", "实时到账")),
               ("那怎么才能多转一点", "raise_transfer_limit", ("只开了短信验证码", "刷脸")))),
    "个体工商户 asking for 经营贷 materials (C1002)": dict(
        customer="C1002", before=("转人工",),
        turns=(("我开饭店的 办经营贷要准备什么材料", "ask_loan_materials", ("个体工商户", "营业执照")),
               ("利率多少", "ask_loan_rate", ("经营贷",)),
               ("我的贷款申请到哪一步了", "check_loan_status", ("审核中",)))),
    "overseas limit raise (C1003)": dict(
        customer="C1003",
        before=("下个月去日本，信用卡境外消费限额想调高一点", "尾号7784的信用卡", "12月1号到12月10号", "调到5万",
                "没问题"),
        turns=(("境外取现每天能取多少", "adjust_overseas_limit", ("境外取现", "1 万元")),
               ("好的谢谢", "thank", ("不客气",)))),
}


@pytest.mark.parametrize("case", list(SEED_CASES))
def test_each_seed_case_is_answered_with_suggestions_alone(stack, tokens, case):
    plan = SEED_CASES[case]
    customer = Customer(stack, tokens[plan["customer"]])
    agent, hid = hand_over(stack, customer, *plan["before"])
    turns = []
    for text, intent, facts in plan["turns"]:
        customer.say(text)
        shown = wait_for(lambda: _suggestions_for(agent, hid, text), f"suggestions for {text!r}")
        assert 1 <= len(shown) <= 3, shown
        right = [s for s in shown if s["intent"] == intent]
        assert right, f"{text!r}: no {intent} among {[(s['intent'], s['confidence']) for s in shown]}"
        for fact in facts:
            assert fact in right[0]["text"], (text, right[0]["text"])
        agent.post(f"/api/handoffs/{hid}/messages", {"text": right[0]["text"], "suggestion_id": right[0]["id"]})
        turns.append({"customer": text, "suggested": [s["intent"] for s in shown], "right_rank": right[0]["rank"],
                      "clicks": 1})
    wait_for(customer.waiting, "the agent's replies in the customer's outbox")
    audit = Desk(stack.url("agent_desk"), "supervisor1", "supervisor1-demo").get(f"/api/handoffs/{hid}/audit")
    assert [e["detail"]["suggestion"] for e in audit if e["action"] == "replied"] == ["used"] * len(turns)
    _record(case, turns)


def _suggestions_for(agent: Desk, hid: str, text: str) -> list:
    detail = agent.get(f"/api/handoffs/{hid}")
    last = [m for m in detail["transcript"] if m["role"] == "customer"][-1]
    return [s for s in detail["suggestions"] if s["message_id"] == last["id"]] if last["text"] == text else []


def _record(case: str, turns: list) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "seed_cases.json"
    found = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    found[case] = {"messages": len(turns), "answered_by_a_suggestion": len(turns),
                   "right_was_first": sum(t["right_rank"] == 1 for t in turns),
                   "clicks": sum(t["clicks"] for t in turns), "turns": turns}
    path.write_text(json.dumps(found, ensure_ascii=False, indent=2), encoding="utf-8")
