"""The FAQ actions, called directly with a rasa_sdk Tracker built from real events.

No Rasa server and no action server: each test builds the events a conversation would
produce (user message with NLU parse data, slots set by entity mappings), runs one action
with a CollectingDispatcher and checks what the customer would actually read.

Wording is content (data/knowledge/wording.yml, domain.yml): the tests check the facts (the
table's numbers and names) and which fragment or response carries them, rendering a fragment
with `fragment(name, ...)` rather than copying its sentence, so rewording never fails a test.
"""
from __future__ import annotations

import asyncio
import inspect
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SlotSet, UserUttered
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.accounts import ActionAnswerRaiseLimit
from actions.faq import ActionAnswerLoanMaterials, ActionAnswerTransferLimit, ActionDefaultAskAffirmation
from actions.formatting import yuan
from actions.knowledge import fragment, label

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SLOTS = ("loan_type", "customer_type", "transfer_type", "card_type", "channel", "amount")


def user(text: str, intent: str, confidence: float = 0.95, entities: Optional[Dict[str, Any]] = None,
         ranking: Optional[List[tuple]] = None) -> Dict[str, Any]:
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [(intent, confidence)])],
    }
    return UserUttered(text, parse_data=parse)


def tracker_from(events: List[Dict[str, Any]]) -> Tracker:
    """A Tracker whose slots and latest message are derived from the events, as Rasa does."""
    slots: Dict[str, Any] = {name: None for name in SLOTS}
    latest: Dict[str, Any] = {}
    latest_action = None
    for event in events:
        if event["event"] == "slot":
            slots[event["name"]] = event["value"]
        elif event["event"] == "user":
            latest = event["parse_data"]
        elif event["event"] == "action":
            latest_action = event["name"]
    return Tracker("test-user", slots, latest, events, False, None, None, latest_action)


def run(action, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    outcome = action.run(dispatcher, tracker_from(events), {})
    if inspect.isawaitable(outcome):  # the actions that may read customer data are async
        asyncio.run(outcome)
    assert dispatcher.messages, "the action sent nothing"
    return dispatcher.messages


def text_of(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def responses(messages: List[Dict[str, Any]]) -> List[str]:
    """The domain responses the action asked for (their wording is content, not tested here)."""
    return [m["response"] for m in messages if m.get("response")]


def payloads(messages: List[Dict[str, Any]]) -> List[str]:
    return [b["payload"] for m in messages for b in m.get("buttons") or []]


def start() -> List[Dict[str, Any]]:
    return [ActionExecuted("action_session_start"), ActionExecuted("action_listen")]


# ------------------------------------------------------------------ transfer limits
def test_mobile_banking_limits_show_the_sms_only_row_and_how_to_raise():
    events = start() + [
        user("手机银行一天能转多少", "ask_transfer_limit", entities={"channel": "手机银行"}),
        SlotSet("channel", "手机银行"),
    ]
    messages = run(ActionAnswerTransferLimit(), events)
    text = text_of(messages)
    sms = knowledge.transfer_limits().channels["手机银行"][0]
    assert sms.verification == "短信验证码"
    assert fragment("limits_row", i=1, verification=sms.verification, single=yuan(sms.single), daily=yuan(sms.daily),
                    note=sms.note) in text.splitlines()
    assert fragment("limits_channel_title", channel="手机银行") in text
    assert "刷脸" in text and "U盾" in text
    assert "网上银行" not in text  # only the asked channel
    assert "/raise_transfer_limit" in payloads(messages)
    assert "/request_human" in payloads(messages)


def test_without_a_channel_an_overview_of_every_channel_and_channel_buttons():
    messages = run(ActionAnswerTransferLimit(), start() + [user("转账限额是多少", "ask_transfer_limit")])
    text = text_of(messages)
    for channel in knowledge.CHANNELS:
        assert channel in text
    offered = knowledge.wording().choices.limit_channels
    assert [b["title"] for b in messages[0]["buttons"][:len(offered)]] == [label("channel", c) for c in offered]
    assert '/inform{"channel": "手机银行"}' in payloads(messages)


def test_an_amount_over_the_sms_limit_says_which_methods_allow_it():
    events = start() + [
        user("我想用手机银行给儿子转5000块", "ask_transfer_limit", entities={"channel": "手机银行", "amount": 5000}),
        SlotSet("channel", "手机银行"),
        SlotSet("amount", 5000.0),
    ]
    text = text_of(run(ActionAnswerTransferLimit(), events))
    fits = next(line for line in text.splitlines() if yuan(5000) in line and "刷脸" in line)
    assert "刷脸（人脸识别）" in fits
    assert "短信验证码" not in fits


def test_counter_has_no_upper_limit():
    events = start() + [user("柜台转账有上限吗", "ask_transfer_limit", entities={"channel": "柜台"}),
                        SlotSet("channel", "柜台")]
    counter = knowledge.transfer_limits().channels["柜台"][0]
    assert counter.single is None and yuan(None) == fragment("amount_unlimited")
    assert fragment("limits_row", i=1, verification=counter.verification, single=yuan(None), daily=yuan(counter.daily),
                    note=counter.note) in text_of(run(ActionAnswerTransferLimit(), events)).splitlines()


def test_raise_limit_lists_what_each_way_needs():
    text = text_of(run(ActionAnswerRaiseLimit(), start() + [user("怎么提额", "raise_transfer_limit")]))
    assert "身份证" in text and "刷脸" in text and "U盾" in text


# ------------------------------------------------------------------ loan materials
def test_business_loan_for_a_sole_proprietor_needs_a_business_licence():
    events = start() + [
        user("我是个体户，办经营贷要什么材料", "ask_loan_materials",
             entities={"customer_type": "个体工商户", "loan_type": "经营贷"}),
        SlotSet("customer_type", "个体工商户"),
        SlotSet("loan_type", "经营贷"),
    ]
    messages = run(ActionAnswerLoanMaterials(), events)
    text = text_of(messages)
    assert fragment("loan_materials_title", who=label("customer_type", "个体工商户"), loan_type="经营贷") in text
    for item in ("营业执照", "经营场所证明", "近6个月银行流水或纳税证明", "身份证", "户口本"):
        assert item in text
    assert "/request_human" in payloads(messages)


def test_consumer_loan_for_a_salaried_person_needs_income_proof():
    events = start() + [
        user("上班族办消费贷要准备什么", "ask_loan_materials", entities={"customer_type": "个人", "loan_type": "个人消费贷"}),
        SlotSet("customer_type", "个人"),
        SlotSet("loan_type", "个人消费贷"),
    ]
    text = text_of(run(ActionAnswerLoanMaterials(), events))
    for item in ("身份证", "收入证明", "工作证明", "用途证明"):
        assert item in text
    assert "营业执照" not in text


def test_without_loan_type_it_asks_which_loan_with_buttons():
    messages = run(ActionAnswerLoanMaterials(), start() + [user("贷款要什么材料", "ask_loan_materials")])
    assert responses(messages) == ["utter_ask_which_loan"]
    buttons = payloads(messages)
    for loan_type in knowledge.LOAN_TYPES:
        assert "/inform" + json.dumps({"loan_type": loan_type}, ensure_ascii=False) in buttons
    assert "/request_human" in buttons


def test_without_customer_type_it_answers_for_individuals_and_says_what_differs():
    events = start() + [
        user("房贷要什么材料", "ask_loan_materials", entities={"loan_type": "住房贷款"}),
        SlotSet("loan_type", "住房贷款"),
    ]
    messages = run(ActionAnswerLoanMaterials(), events)
    lines = text_of(messages).splitlines()
    assert fragment("loan_materials_title", who=label("customer_type", "个人"), loan_type="住房贷款") in lines
    assert fragment("loan_materials_answered_for_salaried") in lines
    assert any("收入证明" in line for line in lines)
    # what the other customer types need on top, each named as wording.yml calls them
    assert any(label("customer_type", "个体工商户") in line and "营业执照" in line for line in lines)
    assert any(label("customer_type", "小微企业") in line for line in lines)
    assert '/inform{"customer_type": "个体工商户"}' in payloads(messages)


def test_a_slot_answer_after_the_question_completes_the_answer():
    """经营贷 -> (asked which loan) -> customer clicks 经营贷 -> says 我是开饭店的."""
    events = start() + [
        user("贷款要什么材料", "ask_loan_materials"),
        ActionExecuted("action_answer_loan_materials"),
        ActionExecuted("action_listen"),
        user('/inform{"loan_type":"经营贷"}', "inform", 1.0, entities={"loan_type": "经营贷"}),
        SlotSet("loan_type", "经营贷"),
        ActionExecuted("action_answer_loan_materials"),
        ActionExecuted("action_listen"),
        user("我是开饭店的", "inform", entities={"customer_type": "个体工商户"}),
        SlotSet("customer_type", "个体工商户"),
    ]
    assert "营业执照（一般要求经营满1年）" in text_of(run(ActionAnswerLoanMaterials(), events))


def test_saying_who_they_are_when_asked_which_loan_is_kept_and_said_back():
    """贷款要什么材料 -> (asked which loan) -> 我是开饭店的: not the same question as if unheard."""
    events = start() + [
        user("贷款要什么材料", "ask_loan_materials"),
        ActionExecuted("action_answer_loan_materials"),
        ActionExecuted("action_listen"),
        user("我是开饭店的", "inform", entities={"customer_type": "个体工商户"}),
    ]
    messages = run(ActionAnswerLoanMaterials(), events)
    assert responses(messages) == ["utter_ask_which_loan_knowing_who"]
    assert messages[0]["who"] == label("customer_type", "个体工商户")
    assert '/inform{"loan_type": "经营贷"}' in payloads(messages)


# ------------------------------------------------------------------ two-stage fallback
def test_affirmation_question_uses_the_chinese_label_and_offers_none_of_these():
    events = start() + [user("那个钱转过去咋还没见着呢啊", "nlu_fallback", 0.4,
                             ranking=[("nlu_fallback", 0.45), ("check_transfer_status", 0.40),
                                      ("ask_transfer_arrival", 0.30)])]
    messages = run(ActionDefaultAskAffirmation(), events)
    assert responses(messages) == ["utter_ask_affirmation"]
    assert messages[0]["intent_label"] == knowledge.intent_labels().label("check_transfer_status")
    assert payloads(messages) == ["/check_transfer_status", "/out_of_scope"]


def test_affirmation_keeps_the_entities_the_customer_gave():
    events = start() + [user("经营贷那个东西咋弄", "nlu_fallback", 0.3, entities={"loan_type": "经营贷"},
                             ranking=[("nlu_fallback", 0.45), ("ask_loan_materials", 0.3)])]
    assert payloads(run(ActionDefaultAskAffirmation(), events))[0] == '/ask_loan_materials{"loan_type": "经营贷"}'


def test_affirmation_never_suggests_out_of_scope_or_small_talk():
    events = start() + [user("嗯嗯啊", "nlu_fallback", 0.3,
                             ranking=[("nlu_fallback", 0.45), ("out_of_scope", 0.3), ("greet", 0.2)])]
    assert responses(run(ActionDefaultAskAffirmation(), events)) == ["utter_ask_rephrase"]


# ------------------------------------------------------------------ the tables themselves
def test_every_intent_in_the_domain_has_a_chinese_label():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    labels = knowledge.intent_labels().intents
    missing = [intent for intent in domain["intents"] if intent not in labels]
    assert not missing


def test_every_loan_type_and_customer_type_has_materials():
    table = knowledge.loan_materials()
    for loan_type in knowledge.LOAN_TYPES:
        for customer_type in knowledge.CUSTOMER_TYPES:
            assert table.materials_for(loan_type, customer_type)


def test_a_broken_table_names_the_file_and_the_key(tmp_path):
    (tmp_path / "transfer_limits.yml").write_text(
        "channels:\n  手机银行:\n    - verification: 短信验证码\n      single: 5000\n      daily: 100\n"
        "raise_methods: []\n", encoding="utf-8")
    with pytest.raises(knowledge.KnowledgeError) as error:
        knowledge.load_table("transfer_limits.yml", knowledge.TransferLimits, tmp_path)
    message = str(error.value)
    assert "transfer_limits.yml" in message
    assert "channels" in message and "raise_methods" in message


def test_a_table_with_an_unknown_or_a_missing_key_says_which():
    with pytest.raises(ValueError, match=r"未知客户类型 \['外星人'\]，必须是 \['个人', '个体工商户', '小微企业'\] 之一"):
        knowledge.LoanProduct(summary="说明", materials={name: ["身份证"] for name in
                                                        (*knowledge.CUSTOMER_TYPES, "外星人")})
    with pytest.raises(ValueError, match=r"缺少客户类型 \['个体工商户', '小微企业'\]"):
        knowledge.LoanProduct(summary="说明", materials={"个人": ["身份证"]})
