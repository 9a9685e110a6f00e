"""The context package an agent receives: complete, masked, summarised.

The summary's words are content (data/knowledge/wording.yml `desk_*`, context_labels.yml):
the tests check which fragments it is made of and the facts in it, not its sentences."""
from actions import knowledge
from actions.agent_desk_client import CustomerContext
from actions.context_labels import intent_label, shown_slots
from actions.formatting import yuan
from actions.handoff_context import build_handoff_request
from actions.knowledge import fragment
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
    assert request.reason == knowledge.label("handoff_reason", "overseas_limit")  # wording.yml labels.handoff_reason
    assert request.priority == HandoffReason.OVERSEAS_LIMIT.priority
    assert fragment("desk_summary_reason", reason=request.reason) in request.summary
    # the agent's language: labels from context_labels.yml, amounts as customers read them
    shown = {s.name: s for s in shown_slots(request.slots)}
    assert shown["travel_destination"].value == "日本" and shown["desired_overseas_limit"].value == yuan(50000)
    for slot in ("travel_destination", "desired_overseas_limit", "card_type"):
        assert fragment("desk_summary_slot", label=shown[slot].label, value=shown[slot].value) in request.summary
    assert "desired_overseas_limit" not in request.summary and "=" not in request.summary
    assert intent_label("adjust_overseas_limit") in request.summary  # the intent's label, not its name
    assert intent_label("adjust_overseas_limit") != "adjust_overseas_limit"
    assert fragment("desk_summary_who_with_segment", segment="个人") in request.summary
    assert request.customer.id == "C1003"


def test_a_summary_without_a_recognised_question_or_a_segment_says_so():
    request = build_handoff_request(conversation_id="c", channel="rest", events=[user("嗯嗯", "nlu_fallback", 0.3)],
                                    slots={}, reason=HandoffReason.REPEATED_FALLBACK, customer=CustomerContext())
    assert request.summary == (fragment("desk_summary_topics", who=fragment("desk_summary_who"),
                                        topics=fragment("desk_summary_no_topic"))
                               + fragment("desk_summary_reason", reason=HandoffReason.REPEATED_FALLBACK.label))


def test_earlier_agent_turns_are_marked_as_agent():
    request = build_handoff_request(conversation_id="c", channel="rest", events=[bot("您好，我是客服小王", agent="agent1")],
                                    slots={}, reason=HandoffReason.REQUESTED, customer=CustomerContext())
    assert request.transcript[0].role == "agent"


def test_shown_slots_speak_the_agents_language():
    from actions.context_labels import shown_slots

    shown = shown_slots({"desired_overseas_limit": 50000.0, "new_daily_limit": 12345.6, "overseas_confirmed": True,
                         "verification_method": "face", "paused_form": "complaint_form", "topic": "raise_limit",
                         "handoff_id": "h-1", "card_last4": "1234", "amount": None})
    table = knowledge.context_labels().slots
    assert [(s.name, s.label, s.value) for s in shown] == [  # in the table's order; hidden and empty slots left out
        ("topic", table["topic"].label, knowledge.topics().topics["raise_limit"].label),
        ("paused_form", table["paused_form"].label, knowledge.topics().form_label("complaint_form")),
        ("new_daily_limit", table["new_daily_limit"].label, yuan(12345.6)),
        ("verification_method", table["verification_method"].label, table["verification_method"].values["face"]),
        ("desired_overseas_limit", table["desired_overseas_limit"].label, yuan(50000)),
        ("overseas_confirmed", table["overseas_confirmed"].label, fragment("desk_yes")),
        ("card_last4", "card_last4", "1234"),  # not in the table: its own name (make check reports the gap)
    ]
    # the facts: amounts keep their digits whatever the unit's wording
    assert yuan(12345.6) == fragment("amount_yuan", yuan="12,345.60") and yuan(50000) == fragment("amount_wan", wan=5)
