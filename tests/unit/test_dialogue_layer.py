"""The dialogue layer's pieces, without a server: how a message is cut into questions, what a
form takes as an answer, which parameters a message names, what the bot asked last."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa_sdk import Tracker

from actions.cards import ValidateCardLostForm
from actions.complaints import ValidateComplaintForm
from actions.dialogue import clarified_mentions, message_mentions, message_parameters
from actions.forms import form_interrupted, is_bare_value
from bot import no_repeat, question_cues, several_questions
from bot.nlu.normalizer import default_normalizer, is_unreadable, load_latin_words


# ------------------------------------------------------------------ helpers
def tracker(text: str = "", intent: str = "inform", confidence: float = 0.95, entities: Optional[List[dict]] = None,
            events: Optional[List[dict]] = None, slots: Optional[Dict[str, Any]] = None,
            active_loop: Optional[str] = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities or []}
    return Tracker("t", slots or {}, latest, events or [], False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def entity(name: str, value: Any, text: str, said: str) -> dict:
    start = text.index(said)
    return {"entity": name, "value": value, "start": start, "end": start + len(said)}


# ------------------------------------------------------------------ signal words
@pytest.mark.parametrize("text", ["网点几点开门", "要手续费吗", "转账多久到账", "我的转账到了没", "能不能帮我改一下"])
def test_questions_are_recognised(text):
    assert question_cues.looks_like_question(text)


@pytest.mark.parametrize("text", ["排队两个小时都没人管", "你们乱扣我手续费", "昨天下午在人民路支行"])
def test_stories_are_not_questions(text):
    assert not question_cues.looks_like_question(text)


def test_requests_count_like_questions_for_splitting():
    assert question_cues.looks_like_request("我想查下余额")
    assert question_cues.looks_like_request("帮我冻结一下")
    assert not question_cues.looks_like_request("眼睛也不好")


def test_joiners_are_dropped_only_when_a_question_is_left():
    assert question_cues.strip_joiner("还有我的转账到了没") == "我的转账到了没"
    assert question_cues.strip_joiner("顺便问下转账手续费") == "转账手续费"
    assert question_cues.strip_joiner("然后呢") == "然后呢"


def test_switch_markers():
    assert question_cues.starts_with_switch("先等等 我的卡丢了")
    assert question_cues.starts_with_switch("对了，转账手续费是多少")
    assert not question_cues.starts_with_switch("排队太久了")


# ------------------------------------------------------------------ several questions in one message
def split(text: str) -> List[tuple]:
    return [(c.text, c.strong, c.may_start_question) for c in several_questions.clauses(text)]


def test_joiners_and_sentence_ends_start_clauses_that_may_be_questions():
    assert split("卡丢了 还有我的转账到了没") == [("卡丢了", True, True), ("还有我的转账到了没", True, True)]
    assert split("帮我查下余额。然后我要投诉，昨天在网点排队两个小时") == [
        ("帮我查下余额", True, True), ("然后我要投诉", True, True), ("昨天在网点排队两个小时", False, False)]


def test_a_story_told_with_commas_is_one_clause_group():
    parts = split("我要投诉 昨天下午在人民路支行排队两个小时都没人管")
    assert [p[2] for p in parts] == [True, False]


def test_how_much_is_left_is_one_question():
    assert [c[0] for c in split("我卡里还有多少钱")] == ["我卡里还有多少钱"]
    assert [c[0] for c in split("卡丢了 还有我的转账到了没")] == ["卡丢了", "还有我的转账到了没"]


def test_a_lead_in_is_not_a_question_of_its_own():
    assert split("我孙子让我问一下，手机银行收不到验证码是咋回事")[0] == ("我孙子让我问一下", True, False)
    assert split("不好意思打扰了。我的卡丢了")[0][2] is False


def test_a_decimal_point_is_not_a_sentence_end():
    assert [p[0] for p in split("借1.5万利息多少")] == ["借1.5万利息多少"]


def grouped(items: List[tuple]) -> List[tuple]:
    parsed = [{"clause": several_questions.Clause(text, strong),
               "intent": None if intent is None else {"name": intent, "confidence": confidence}}
              for text, strong, intent, confidence in items]
    return [(q.intent, q.text) for q in several_questions.group_questions(parsed)]


def test_clauses_that_are_not_questions_stay_with_the_question_before_them():
    assert grouped([("我的卡丢了", True, "report_card_lost", 0.99), ("是信用卡", False, None, 0.0)]) == [
        ("report_card_lost", "我的卡丢了，是信用卡")]


def test_a_question_the_one_before_already_answers_stays_with_it():
    """"还没收到 一般要多久才能到啊": the transfer-status answer says how long each type takes."""
    assert grouped([("她说到现在还没收到", False, "check_transfer_status", 0.96),
                    ("一般要多久才能到啊", False, "ask_transfer_arrival", 0.9)]) == [
        ("check_transfer_status", "她说到现在还没收到，一般要多久才能到啊")]
    # the other way round they are two questions: the arrival answer says nothing of this transfer
    assert [q for q, _ in grouped([("转账一般多久到", True, "ask_transfer_arrival", 0.9),
                                   ("还有我那笔怎么还没到", True, "check_transfer_status", 0.9)])] == [
        "ask_transfer_arrival", "check_transfer_status"]


def test_a_greeting_before_the_first_question_belongs_to_it():
    assert grouped([("你好", True, "greet", 0.99), ("我想查下余额", False, "check_balance", 0.95),
                    ("顺便问下转账手续费", True, "ask_transfer_fee", 0.9)]) == [
        ("check_balance", "你好，我想查下余额"), ("ask_transfer_fee", "转账手续费")]


def test_after_a_comma_only_a_sure_question_counts():
    assert grouped([("怎么开户", True, "ask_account_opening", 0.9), ("网点几点上班", False, "ask_branch_hours", 0.7)]) == [
        ("ask_account_opening", "怎么开户，网点几点上班")]


def test_questions_that_ask_back_go_last():
    questions = [several_questions.Question("complain", 0.9, ["我要投诉"]),
                 several_questions.Question("check_balance", 0.9, ["查余额"])]
    assert [q.intent for q in several_questions.in_answer_order(questions)] == ["check_balance", "complain"]


def test_a_turn_keeps_the_intent_of_its_asking_clause():
    parse = {"text": "我要投诉，昨天在网点排队两个小时", "intent": {"name": "ask_branch_hours", "confidence": 0.5},
             "intent_ranking": [{"name": "ask_branch_hours", "confidence": 0.5}, {"name": "complain", "confidence": 0.4}]}
    metadata = {several_questions.METADATA_KEY: {"intent": "complain", "confidence": 0.97}}
    pinned = several_questions.pinned_intent(parse, metadata)
    assert pinned["intent"] == {"name": "complain", "confidence": 0.97}
    assert [r["name"] for r in pinned["intent_ranking"]] == ["complain", "ask_branch_hours"]
    assert several_questions.pinned_intent(parse, {}) is parse


class _ParsesByText:
    """Stands in for Rasa's MessageProcessor: the intent of each text it is asked about."""

    def __init__(self, intents: Dict[str, tuple]) -> None:
        self.intents, self.asked = intents, []

    async def parse_message(self, message) -> dict:
        self.asked.append(message.text)
        name, confidence = self.intents.get(message.text, ("nlu_fallback", 0.45))
        return {"intent": {"name": name, "confidence": confidence}}


def _plan(text: str, intents: Dict[str, tuple]) -> Optional[List[tuple]]:
    planned = asyncio.run(several_questions.plan(_ParsesByText(intents), UserMessage(text, sender_id="s")))
    return None if planned is None else [(q.intent, q.text) for q in planned]


def test_one_clear_request_with_a_story_the_whole_cannot_place_is_that_request():
    story = "我要投诉 上周在人民路支行被多收了手续费"
    assert _plan(story, {"我要投诉": ("complain", 0.97)}) == [("complain", "我要投诉，上周在人民路支行被多收了手续费")]
    placed = _ParsesByText({"我要投诉": ("complain", 0.97), story: ("complain", 0.9)})
    assert asyncio.run(several_questions.plan(placed, UserMessage(story, sender_id="s"))) is None
    assert placed.asked == [story]  # the NLU places the whole: its clauses are not parsed


def test_a_message_of_one_clause_is_never_parsed_twice():
    processor = _ParsesByText({})
    assert asyncio.run(several_questions.plan(processor, UserMessage("转账限额是多少", sender_id="s"))) is None
    assert processor.asked == []


# ------------------------------------------------------------------ never the same reply twice
def test_the_same_first_reply_as_last_turn_is_a_repeat():
    said = [ActionExecuted("action_listen"), UserUttered("周末呢"), BotUttered("周六、周日：部分网点营业"),
            ActionExecuted("action_listen"), UserUttered("周末呢")]
    assert no_repeat.repeats([BotUttered("周六、周日：部分网点营业")], said)
    assert not no_repeat.repeats([BotUttered("工作日：9:00-17:00")], said)


def test_only_a_turns_first_reply_is_compared():
    said = [UserUttered("a"), BotUttered("x"), UserUttered("b"), BotUttered("y")]
    assert no_repeat.previous_turn_reply(said) is None  # the bot already spoke in this turn


# ------------------------------------------------------------------ what a form takes as an answer
def test_a_short_message_is_a_bare_value():
    assert is_bare_value("短信验证码")
    assert is_bare_value("用网银吧")
    assert not is_bare_value("手机银行收不到短信验证码怎么办啊")


def test_the_form_a_new_form_interrupted_is_found_from_the_loop_events():
    events = [{"event": "active_loop", "name": "complaint_form"}, {"event": "active_loop", "name": "card_lost_form"}]
    assert form_interrupted(tracker(events=events), "card_lost_form") == "complaint_form"
    assert form_interrupted(tracker(events=events[:1]), "card_lost_form") == "complaint_form"
    assert form_interrupted(tracker(events=[{"event": "active_loop", "name": "card_lost_form"}]),
                            "card_lost_form") is None


def test_a_form_knows_its_own_slots():
    assert {"lost_card", "confirm_freeze"} <= ValidateCardLostForm.own_slots()
    assert "complaint_outcome" not in ValidateCardLostForm.own_slots()


def asked(form, slot: str, text: str, intent: str, confidence: float = 0.95):
    return tracker(text, intent, confidence, slots={"requested_slot": slot}, active_loop=form.form_name())


def test_a_question_about_other_business_is_not_a_complaints_story():
    form = ValidateComplaintForm()
    assert not form.answers(asked(form, "complaint_description", "对了，转账手续费是多少", "ask_transfer_fee"),
                            "complaint_description")
    assert not form.answers(asked(form, "complaint_description", "你是机器人吗", "bot_challenge"), "complaint_description")


def test_a_story_that_mentions_other_business_is_the_story():
    form = ValidateComplaintForm()
    assert form.answers(asked(form, "complaint_description", "你们乱扣我手续费", "ask_transfer_fee"),
                        "complaint_description")


def test_a_lost_card_is_never_an_answer_but_to_the_lost_card_form():
    form = ValidateComplaintForm()
    assert not form.answers(asked(form, "complaint_outcome", "先等等 我的卡丢了", "report_card_lost", 0.6),
                            "complaint_outcome")


def test_yes_is_not_a_free_text_answer():
    form = ValidateComplaintForm()
    assert not form.answers(asked(form, "complaint_outcome", "好的", "affirm"), "complaint_outcome")


def test_a_wish_the_nlu_half_reads_as_no_is_the_answer():
    form = ValidateComplaintForm()
    assert form.answers(asked(form, "complaint_outcome", "希望给个说法", "deny", 0.55), "complaint_outcome")
    assert not form.answers(asked(form, "complaint_outcome", "不用了", "deny", 0.98), "complaint_outcome")


# ------------------------------------------------------------------ parameters in a message
def test_every_value_is_named_in_order_and_negated_ones_are_not():
    text = "不是柜台，是ATM"
    t = tracker(text, entities=[entity("channel", "柜台", text, "柜台"), entity("channel", "ATM", text, "ATM")])
    assert message_mentions(t) == [("channel", "ATM")]
    text = "普通到账和实时到账有什么区别"
    t = tracker(text, entities=[entity("transfer_type", "普通到账", text, "普通到账"),
                                entity("transfer_type", "实时到账", text, "实时到账")])
    assert message_mentions(t) == [("transfer_type", "普通到账"), ("transfer_type", "实时到账")]
    assert message_parameters(t) == {"transfer_type": "普通到账"}


def test_entities_outside_the_topics_are_only_read_when_asked_for():
    text = "下个月去日本"
    t = tracker(text, entities=[entity("destination", "日本", text, "日本")])
    assert message_parameters(t) == {}
    assert message_parameters(t, ("destination",)) == {"destination": "日本"}


def test_the_parameter_the_bot_just_asked_about():
    events = [{"event": "user", "text": "经营贷"}, {"event": "slot", "name": "loan_type", "value": "经营贷"},
              {"event": "bot", "text": "您想了解经营贷的哪方面？", "metadata": {"utter_action": "utter_clarify_parameter"}},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": "利率"}]
    assert clarified_mentions(tracker("利率", "ask_loan_rate", events=events)) == [("loan_type", "经营贷")]
    events[2]["metadata"] = {"utter_action": "utter_ask_loan_rate"}
    assert clarified_mentions(tracker("利率", "ask_loan_rate", events=events)) == []


# ------------------------------------------------------------------ text the NLU sees
def test_preamble_of_elderly_messages_is_dropped_before_the_question():
    normalize = default_normalizer()
    assert normalize("我老伴让我问问 手机上转账在哪里找") == "手机上转账在哪里找"
    assert normalize("你好") == "你好"


def test_letters_only_gibberish_is_unreadable():
    known = load_latin_words()
    assert is_unreadable("asdfgh", known)
    assert not is_unreadable("ok", known)
    assert not is_unreadable("ATM转账限额", known)
    assert not is_unreadable("/greet", known)


# ------------------------------------------------------------------ a button's title typed
def test_a_typed_title_means_the_button():
    from bot.typed_buttons import last_buttons, typed_payload

    shown = [{"title": "确认冻结", "payload": "/affirm"}, {"title": "先不冻结", "payload": "/deny"}]
    assert typed_payload("确认冻结", shown) == "/affirm"
    assert typed_payload(" 先不冻结！", shown) == "/deny"
    assert typed_payload("帮我申请", [{"title": "帮我申请提额", "payload": "/start_limit_raise"}]) == "/start_limit_raise"
    assert typed_payload("冻结", shown) is None  # too little of either title
    assert typed_payload("我的卡丢了", shown) is None
    events = [BotUttered("old", {"buttons": [{"title": "转人工", "payload": "/request_human"}]}), UserUttered("x"),
              BotUttered("确认要冻结吗？", {"buttons": shown})]
    assert last_buttons(events) == shown


def test_a_bare_number_means_the_button_it_starts():
    from bot.typed_buttons import typed_payload

    rating = [{"title": f"{n} 分", "payload": f'/give_rating{{"amount": {n}}}'} for n in (5, 4, 3, 2, 1)]
    rating[0]["title"] = "5 非常满意"
    assert typed_payload("5", rating) == '/give_rating{"amount": 5}'
    assert typed_payload(" 1 ", rating) == '/give_rating{"amount": 1}'
    assert typed_payload("6", rating) is None
    assert typed_payload("50", rating) is None  # 50 is not "5 非常满意"
    assert typed_payload("5", [{"title": "确认冻结", "payload": "/affirm"}]) is None


# ------------------------------------------------------------------ what the conversation was about
def test_recent_topics_newest_first():
    from actions.dialogue import recent_topics

    events = [{"event": "slot", "name": "topic", "value": "card_activation"},
              {"event": "slot", "name": "topic", "value": "password_reset"}]
    assert recent_topics(tracker(events=events, slots={"topic": "password_reset"})) == ["password_reset",
                                                                                         "card_activation"]


def test_the_responses_of_the_previous_turn():
    from actions.dialogue import previous_turn_responses

    events = [{"event": "user", "text": "密码忘了"},
              {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_reset_password"}},
              {"event": "user", "text": "被锁了呢"}]
    assert previous_turn_responses(tracker(events=events)) == ["utter_reset_password"]


# ------------------------------------------------------------------ facts in the customer's words
@pytest.mark.parametrize("text, when", [("上周五下午三点左右", "上周五下午三点左右"), ("昨天下午在人民路支行", "昨天下午"),
                                        ("前天上午10点", "前天上午10点")])
def test_time_phrases(text, when):
    from actions.customer_words import time_phrase

    assert time_phrase(text) == when


@pytest.mark.parametrize("text, place", [("昨天下午在人民路支行", "人民路支行"), ("上周在城东支行办业务", "城东支行"),
                                         ("希望支行给个说法", None), ("在网点排队", None)])
def test_branch_names(text, place):
    from actions.customer_words import place_phrase

    assert place_phrase(text) == place


@pytest.mark.parametrize("text, story", [("我要投诉 在网点排队两个小时都没人管", "在网点排队两个小时都没人管"),
                                         ("我要投诉你们的柜员态度差", "柜员态度差"),
                                         ("我要投诉你们网点的柜员", None), ("我要投诉", None)])
def test_the_story_in_the_first_message_of_a_complaint(text, story):
    from actions.customer_words import complaint_story

    assert complaint_story(text) == story


# ------------------------------------------------------------------ unsure, but about the current topic
def test_an_unsure_message_about_the_current_topic_is_taken_as_it():
    from bot.in_context import in_context

    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.45},
             "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "reset_password", "confidence": 0.41},
                                {"name": "inform", "confidence": 0.28}]}
    resolved = in_context(parse, "password_reset")
    assert resolved["intent"] == {"name": "reset_password", "confidence": 0.41}
    assert resolved["in_context"] == "password_reset"
    assert in_context(parse, "branch_hours") is parse  # a guess about another topic stays a fallback
    assert in_context(parse, None) is parse
    sure = {"intent": {"name": "greet", "confidence": 0.9}, "intent_ranking": []}
    assert in_context(sure, "password_reset") is sure


def test_an_unsure_message_naming_a_parameter_of_the_current_topic_is_a_follow_up():
    from bot.in_context import in_context

    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.45}, "entities": [{"entity": "mobile_issue", "value": "下载"}],
             "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "ask_card_activation", "confidence": 0.3}]}
    assert in_context(parse, "mobile_banking")["intent"]["name"] == "inform"
    assert in_context(parse, "loan_rate") is parse
