"""When the bot hands over by itself: repeated fallback, low confidence twice, angry complaint."""
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed, SessionStarted, UserUttered

from bot.handoff_rules import HandoffReason, UserTurn, automatic_reason, is_poorly_understood, shows_strong_emotion
from bot.policies import recent_user_turns


def said(text, intent, confidence):
    return UserUttered(text, {"name": intent, "confidence": confidence},
                       parse_data={"intent": {"name": intent, "confidence": confidence}})


def turn(text, intent, confidence=0.95):
    return UserTurn(text=text, intent=intent, confidence=confidence)


def test_a_single_fallback_is_not_enough():
    assert automatic_reason([turn("你好", "greet"), turn("巴拉巴拉", "nlu_fallback", 0.45)]) is None


def test_two_fallbacks_in_a_row_hand_over():
    turns = [turn("巴拉巴拉", "nlu_fallback", 0.45), turn("嗯那个就是那个", "nlu_fallback", 0.45)]
    assert automatic_reason(turns) is HandoffReason.REPEATED_FALLBACK


def test_a_did_you_mean_button_between_two_fallbacks_still_counts():
    turns = [turn("巴拉巴拉", "nlu_fallback", 0.45), turn("/out_of_scope", "out_of_scope", 1.0),
             turn("就是那个事情啊", "nlu_fallback", 0.4)]
    assert automatic_reason(turns) is HandoffReason.REPEATED_FALLBACK


def test_low_confidence_twice_hands_over():
    turns = [turn("那个钱的事", "check_balance", 0.5), turn("就是钱那个", "ask_transfer_fee", 0.52)]
    assert automatic_reason(turns) is HandoffReason.LOW_CONFIDENCE


def test_confident_turns_carry_on():
    turns = [turn("那个钱的事", "check_balance", 0.5), turn("我的余额", "check_balance", 0.97)]
    assert automatic_reason(turns) is None


def test_an_angry_complaint_hands_over_with_priority():
    reason = automatic_reason([turn("你们太过分了！！！等了两个小时还乱扣我手续费", "complain")])
    assert reason is HandoffReason.EMOTIONAL_COMPLAINT
    assert reason.priority > HandoffReason.REQUESTED.priority


def test_a_calm_complaint_does_not():
    assert automatic_reason([turn("我想投诉一下网点排队时间太长", "complain")]) is None


def test_emotion_matching_sees_through_traditional_and_full_width():
    assert shows_strong_emotion("你們這是什麼破銀行")
    assert shows_strong_emotion("太過分了！！！")


def test_recent_user_turns_reads_only_the_current_session():
    events = [said("旧会话", "nlu_fallback", 0.4), SessionStarted(), ActionExecuted("action_listen"),
              said("你好", "greet", 0.99), BotUttered("您好"), said("嗯嗯", "nlu_fallback", 0.3)]
    assert recent_user_turns(events) == [turn("你好", "greet", 0.99), turn("嗯嗯", "nlu_fallback", 0.3)]
    assert all(reason.label for reason in HandoffReason)


def test_system_events_and_turns_before_a_handback_do_not_count():
    external = UserTurn("EXTERNAL: handoff_closed", "handoff_closed", 0.0)
    assert not is_poorly_understood(external)
    events = [said("嗯嗯", "nlu_fallback", 0.3), ConversationResumed(), said("5", "inform", 0.5)]
    assert [t.text for t in recent_user_turns(events)] == ["5"]
