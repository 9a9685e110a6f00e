"""The context package an agent receives: complete, masked, summarised."""
from actions.agent_desk_client import CustomerContext
from actions.handoff_context import build_handoff_request
from bot.handoff_rules import HandoffReason

CARD = "6222021234567890123"
ID_NUMBER = "11010119900307123X"
MOBILE = "13812345678"


def user(text, intent, confidence, ts=1_700_000_000.0):
    return {"event": "user", "text": text, "timestamp": ts,
            "parse_data": {"intent": {"name": intent, "confidence": confidence}}}


def bot(text, agent=None):
    return {"event": "bot", "text": text, "timestamp": 1_700_000_001.0,
            "metadata": {"agent": agent} if agent else {}}


EVENTS = [
    user("上一次会话的话", "greet", 0.99),
    {"event": "session_started"},
    user("信用卡境外消费限额想调高", "adjust_overseas_limit", 0.97),
    bot("请问是哪张卡？"),
    user(f"卡号{CARD}，身份证{ID_NUMBER}，电话{MOBILE}", "inform", 0.81),
    bot("好的，已为您转接", agent=None),
]


def make_request(slots=None):
    return build_handoff_request(
        conversation_id="c-1", channel="app", events=EVENTS,
        slots=slots or {"card_type": "信用卡", "travel_destination": "日本", "requested_slot": None,
                        "handoff_reason": "overseas_limit", "desired_overseas_limit": 50000},
        reason=HandoffReason.OVERSEAS_LIMIT,
        customer=CustomerContext(id="C1003", display_name="陈*", segment="个人"))


def test_transcript_is_the_current_session_with_roles():
    request = make_request()
    assert [e.role for e in request.transcript] == ["customer", "bot", "customer", "bot"]
    assert request.transcript[0].text == "信用卡境外消费限额想调高"
    assert request.transcript[0].ts is not None


def test_card_id_and_mobile_numbers_never_leave_unmasked():
    payload = make_request().json(ensure_ascii=False)
    for secret in (CARD, ID_NUMBER, MOBILE):
        assert secret not in payload
    assert "**** **** **** 0123" in payload and "138****5678" in payload


def test_nlu_trail_and_case_slots():
    request = make_request()
    assert [(n.intent, n.confidence) for n in request.nlu] == [("adjust_overseas_limit", 0.97), ("inform", 0.81)]
    assert request.slots == {"card_type": "信用卡", "travel_destination": "日本", "desired_overseas_limit": 50000}


def test_reason_priority_and_summary():
    request = make_request()
    assert request.reason == HandoffReason.OVERSEAS_LIMIT.label
    assert request.priority == HandoffReason.OVERSEAS_LIMIT.priority
    assert "目的地 日本" in request.summary and "转人工原因" in request.summary
    # the agent's language: labels from context_labels.yml, amounts as customers read them
    assert "期望的境外额度 5 万元" in request.summary and "卡片类型 信用卡" in request.summary
    assert "desired_overseas_limit" not in request.summary and "=" not in request.summary
    assert "信用卡境外消费限额" in request.summary  # the intent's label, not its name
    assert request.customer.id == "C1003"


def test_earlier_agent_turns_are_marked_as_agent():
    request = build_handoff_request(conversation_id="c", channel="rest", events=[bot("您好，我是客服小王", agent="agent1")],
                                    slots={}, reason=HandoffReason.REQUESTED, customer=CustomerContext())
    assert request.transcript[0].role == "agent"


def test_shown_slots_speak_the_agents_language():
    from actions.context_labels import shown_slots

    shown = shown_slots({"desired_overseas_limit": 50000.0, "new_daily_limit": 12345.6, "overseas_confirmed": True,
                         "verification_method": "face", "paused_form": "complaint_form", "topic": "raise_limit",
                         "handoff_id": "h-1", "card_last4": "1234", "amount": None})
    assert [(s.label, s.value) for s in shown] == [
        ("当前话题", "提高转账限额"), ("没办完的业务", "投诉登记"), ("申请的每日限额", "12,345.60 元"),
        ("验证方式", "刷脸"), ("期望的境外额度", "5 万元"), ("已确认调整额度", "是"),
        ("card_last4", "1234"),  # not in the table: its own name (make check reports the gap)
    ]
