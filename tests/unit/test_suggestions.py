"""Suggested replies (bot/suggestions.py): which intents are tried, what counts as a reply, and
that nothing that changes anything runs for a suggestion."""
from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from rasa.shared.core.events import ActionExecuted, BotUttered
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.registry import action_named
from bot.no_repeat import REPEAT_KEY
from bot.rasa_server import FAILED_ACTION_KEY
from bot.read_only_actions import PREVIEW_METADATA_KEY, READ_ONLY_ACTIONS, may_run_for_suggestion
from bot.suggestions import MAX_CANDIDATES, _candidates, _said

ROOT = Path(__file__).resolve().parents[2]


def ranking(*pairs) -> dict:
    return {"intent_ranking": [{"name": n, "confidence": c} for n, c in pairs]}


def test_the_ranking_is_tried_best_first_without_intents_about_the_bot_itself():
    parse = ranking(("nlu_fallback", 0.45), ("resume_form", 0.39), ("raise_transfer_limit", 0.08),
                    ("bot_challenge", 0.07), ("adjust_overseas_limit", 0.069), ("ask_card_activation", 0.06),
                    ("ask_branch_hours", 0.01))
    assert list(_candidates(parse)) == [("raise_transfer_limit", 0.08), ("adjust_overseas_limit", 0.069),
                                        ("ask_card_activation", 0.06)]  # 0.01: too unlikely to help


def test_the_first_real_intent_is_tried_however_unsure_and_at_most_five():
    assert list(_candidates(ranking(("request_human", 0.97), ("thank", 0.02)))) == [("thank", 0.02)]
    many = ranking(*[(f"intent_{i}", 0.1) for i in range(9)])
    assert len(list(_candidates(many))) == MAX_CANDIDATES


def test_a_failed_action_or_a_repeat_is_no_suggestion_and_card_numbers_are_masked():
    assert _said([ActionExecuted("action_check_balance"), BotUttered("卡号 6222021202004561001 余额 100 元")]) \
        == "卡号 " + _said([BotUttered("6222021202004561001")]) + " 余额 100 元"
    assert "6222021202004561001" not in _said([BotUttered("卡号 6222021202004561001")])
    assert _said([BotUttered("第一段"), BotUttered("第二段")]) == "第一段\n第二段"
    assert _said([BotUttered("抱歉，系统暂时出了点问题", metadata={FAILED_ACTION_KEY: "action_check_balance"})]) == ""
    assert _said([BotUttered("抱歉，看来我刚才没帮上您", metadata={REPEAT_KEY: "utter_greet"})]) == ""


def test_only_responses_and_the_listed_read_only_actions_may_run():
    assert may_run_for_suggestion("utter_greet") and may_run_for_suggestion("action_check_transfer_status")
    for changes_something in ("action_freeze_card", "action_submit_complaint", "action_submit_limit_raise",
                              "action_handoff_to_human", "action_handoff_overseas_limit", "action_store_rating",
                              "card_lost_form", "validate_card_lost_form", "action_resume_after_login"):
        assert not may_run_for_suggestion(changes_something)
    listed = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["actions"]
    domain_actions = {next(iter(a)) if isinstance(a, dict) else a for a in listed}  # {name: {send_domain: …}}
    assert READ_ONLY_ACTIONS <= domain_actions


def test_every_action_the_topics_table_names_is_read_only():
    """The dialogue actions run these by name for a suggestion too (actions/registry.py guards it)."""
    topics = yaml.safe_load((ROOT / "data/knowledge/topics.yml").read_text(encoding="utf-8"))
    named = set()

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node.startswith("action_"):
            named.add(node)

    walk(topics)
    assert named and named <= READ_ONLY_ACTIONS


def test_the_action_server_does_not_run_an_action_that_changes_something_for_a_suggestion():
    freeze = action_named("action_freeze_card")
    preview = {"intent": {"name": "report_card_lost"}, "entities": [], "text": "冻结",
               "metadata": {PREVIEW_METADATA_KEY: True}}
    tracker = Tracker("c-1", {"card_to_freeze": "K1001", "freeze_confirmed": True}, preview, [], False, None, None,
                      "action_listen")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(freeze.run(dispatcher, tracker, {})) == [] and dispatcher.messages == []
    assert action_named("action_check_balance").__class__.__name__ != "_NotForSuggestions"
