"""What the channels and the agent desk tell customers comes from data/knowledge/wording.yml.

Like tests/unit/test_wording.py, each test swaps in an edited wording table (tests/unit/conftest.py) (as the content
team would edit it) and checks that the sentence follows the table while the facts (error
codes, HTTP statuses, numbers, times) stay the same. The desk keeps working, with its built-in
sentences, when the table cannot be read."""
from __future__ import annotations

import logging
from datetime import datetime, time, timezone

import pytest

from actions import knowledge
from actions.knowledge import fragment
from bot.content.action_wording import fragment_placeholders
from connectors import wechat
from connectors.app import AppInput, MessageRejected
from services.agent_desk import context_view, scheduling
from services.agent_desk import wording as desk_wording

SHANGHAI_HOURS = scheduling.ServiceHours((time(8, 0), time(22, 0)), "Asia/Shanghai")
NEXT_OPEN = datetime(2026, 3, 5, 0, 0, tzinfo=timezone.utc)  # 3月5日 08:00 in Shanghai


def _rejected(channel: AppInput, text: object) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        channel.check_text(text)
    return caught.value


# ------------------------------------------------------------------ app channel
def test_app_input_errors_keep_their_codes_and_read_their_message_from_the_table(edited_wording):
    channel = AppInput(max_message_chars=10)
    empty, long = _rejected(channel, "  "), _rejected(channel, "字" * 11)
    assert (empty.status, empty.error, empty.message) == (400, "empty_message", fragment("app_empty_message"))
    assert (long.status, long.error, long.message) == (413, "message_too_long",
                                                        fragment("app_message_too_long", max_chars=10))
    assert "10" in long.message

    edited_wording(app_empty_message="请输入内容", app_message_too_long="最多 {max_chars} 个字")
    assert _rejected(channel, None).body() == {"error": "empty_message", "message": "请输入内容"}
    assert _rejected(channel, "字" * 11).body() == {"error": "message_too_long", "message": "最多 10 个字"}
    assert channel.check_text("  你好 ") == "你好"


# ------------------------------------------------------------------ WeChat
def test_wechat_numbered_options_follow_the_table(edited_wording):
    messages = [{"text": "请选择", "buttons": [{"title": "怎么提额", "payload": "/a"}, {"title": "转人工", "payload": "/b"}]}]
    edited_wording(wechat_option="【{i}】{title}", wechat_options_hint="回复序号就行")
    text, payloads = wechat.render_messages(messages)
    assert text == "请选择\n【1】怎么提额\n【2】转人工\n\n回复序号就行" and payloads == ["/a", "/b"]
    assert wechat.render_messages([{"text": "没有按钮"}]) == ("没有按钮", [])


def test_wechat_notes_come_from_the_table_unless_credentials_set_them(edited_wording):
    config = wechat.WeChatConfig.from_env({})
    assert (config.welcome_message, config.unsupported_message, config.voice_unrecognized_message) == (
        fragment("wechat_welcome"), fragment("wechat_unsupported"), fragment("wechat_voice_unrecognized"))
    assert wechat.WeChatConfig().welcome_message == fragment("wechat_welcome")

    edited_wording(wechat_welcome="欢迎！", wechat_unsupported="只收文字", wechat_voice_unrecognized="没听清")
    config = wechat.WeChatConfig.from_env({"unsupported_message": "请发文字"})  # credentials.yml wins
    assert (config.welcome_message, config.unsupported_message, config.voice_unrecognized_message) == (
        "欢迎！", "请发文字", "没听清")


def test_wechat_apologises_with_the_tables_words_when_the_bot_fails(edited_wording, monkeypatch):
    import asyncio

    async def broken_binding(openid: str):
        raise RuntimeError("core banking down")

    monkeypatch.setattr(wechat, "binding_for_openid", broken_binding)
    channel = wechat.WeChatInput(wechat.WeChatConfig(token="t"))
    edited_wording(wechat_busy="稍后再试")
    assert asyncio.run(channel._run_bot("oUSER", "你好", "m1", None)) == "稍后再试"


# ------------------------------------------------------------------ the desk's queue sentence
def test_the_queue_sentence_is_the_tables_with_the_facts_filled_in():
    assert scheduling.customer_message(1, 30, SHANGHAI_HOURS, True, NEXT_OPEN) == fragment(
        "handoff_wait_next", minutes=1)
    assert scheduling.customer_message(5, 601, SHANGHAI_HOURS, True, NEXT_OPEN) == fragment(
        "handoff_wait_ahead", ahead=4, minutes=11)
    closed = scheduling.customer_message(5, 601, SHANGHAI_HOURS, False, NEXT_OPEN)
    assert closed == fragment("handoff_after_hours", hours="08:00-22:00",
                              opens=fragment("date_time", month=3, day=5, time="08:00"))
    assert "08:00-22:00" in closed and "3" in closed and "5" in closed


def test_the_queue_sentence_follows_an_edited_table(edited_wording):
    edited_wording(handoff_wait_next="马上轮到您（约 {minutes} 分钟）", handoff_wait_ahead="前面 {ahead} 位，约 {minutes} 分钟",
                   handoff_after_hours="下班了（{hours}），{opens} 回电", date_time="{month}/{day} {time}")
    assert scheduling.customer_message(None, 0, SHANGHAI_HOURS, True, NEXT_OPEN) == "马上轮到您（约 1 分钟）"
    assert scheduling.customer_message(3, 120, SHANGHAI_HOURS, True, NEXT_OPEN) == "前面 2 位，约 2 分钟"
    assert scheduling.customer_message(3, 120, SHANGHAI_HOURS, False, NEXT_OPEN) == "下班了（08:00-22:00），3/5 08:00 回电"


def test_the_anonymous_customer_is_named_by_the_table(edited_wording):
    assert context_view.customer_name(None, "张*") == fragment("desk_anonymous_name")
    assert context_view.customer_name("C1001", "张*") == "张*"
    edited_wording(desk_anonymous_name="访客")
    assert context_view.customer_name("", "张*") == "访客"


# ------------------------------------------------------------------ the desk without a table
@pytest.fixture
def desk_without_table(monkeypatch, caplog):
    """The desk's wording loader as it is when actions.knowledge cannot load its tables."""
    def broken(name: str):
        raise knowledge.KnowledgeError("data/knowledge/wording.yml: not valid YAML")

    desk_wording._knowledge.cache_clear()
    monkeypatch.setattr(desk_wording.importlib, "import_module", broken)
    caplog.set_level(logging.ERROR, logger=desk_wording.__name__)
    yield caplog
    desk_wording._knowledge.cache_clear()


def test_a_broken_table_does_not_take_the_desk_down(desk_without_table):
    fallback = desk_wording.FALLBACK
    for _ in range(3):
        assert scheduling.customer_message(5, 601, SHANGHAI_HOURS, True, NEXT_OPEN) == fallback[
            "handoff_wait_ahead"].format(ahead=4, minutes=11)
        assert scheduling.customer_message(1, 0, SHANGHAI_HOURS, True, NEXT_OPEN) == fallback[
            "handoff_wait_next"].format(minutes=1)
        closed = scheduling.customer_message(1, 0, SHANGHAI_HOURS, False, NEXT_OPEN)
        assert closed == fallback["handoff_after_hours"].format(
            hours="08:00-22:00", opens=fallback["date_time"].format(month=3, day=5, time="08:00"))
        assert context_view.customer_name(None, "x") == fallback["desk_anonymous_name"]
    assert len(desk_without_table.records) == 1  # logged once
    assert "wording.yml" in desk_without_table.records[0].getMessage()


def test_a_missing_fragment_falls_back_for_that_sentence_only(edited_wording, monkeypatch, caplog):
    original = knowledge.wording()
    fragments = {k: v for k, v in original.fragments.items() if k != "handoff_wait_ahead"}
    table = original.copy(update={"fragments": {**fragments, "handoff_wait_next": "轮到您了，约 {minutes} 分钟"}})
    monkeypatch.setattr(knowledge, "wording", lambda: table)
    monkeypatch.setattr(desk_wording, "_reported", set())
    caplog.set_level(logging.ERROR, logger=desk_wording.__name__)
    for _ in range(2):
        assert scheduling.customer_message(3, 60, SHANGHAI_HOURS, True, NEXT_OPEN) == desk_wording.FALLBACK[
            "handoff_wait_ahead"].format(ahead=2, minutes=1)
        assert scheduling.customer_message(1, 60, SHANGHAI_HOURS, True, NEXT_OPEN) == "轮到您了，约 1 分钟"
    assert [r.getMessage().split(" unusable")[0] for r in caplog.records] == ["wording fragment handoff_wait_ahead"]


def test_the_desks_built_in_sentences_fill_the_same_placeholders_as_the_table():
    fragments = knowledge.wording().fragments
    for name, sentence in desk_wording.FALLBACK.items():
        assert name in fragments, f"{name} is not in wording.yml"
        assert fragment_placeholders(sentence) == fragment_placeholders(fragments[name]), name
