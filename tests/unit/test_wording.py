"""The words the actions put together come from data/knowledge/wording.yml, not from Python.

Each test swaps in an edited wording table (as the content team would edit it) and checks
that the reply follows the table while the facts (digits, dates, names) stay the same."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from actions import context_labels, knowledge
from actions.formatting import when, yuan
from actions.knowledge import fragment, joined
from bot.handoff_rules import HandoffReason, reason_labels


def test_amounts_and_dates_read_the_words_of_the_table(edited_wording):
    before = (yuan(None), yuan(5000), yuan(12345.6), yuan(50000), when(date(2025, 3, 5)), when(None))
    assert before == (fragment("amount_unlimited"), fragment("amount_yuan", yuan="5,000"),
                      fragment("amount_yuan", yuan="12,345.60"), fragment("amount_wan", wan=5),
                      fragment("date", month=3, day=5), fragment("date_unknown"))
    edited_wording(amount_unlimited="无上限", amount_yuan="{yuan}元整", amount_wan="{wan}万", date="{month}/{day}",
                   date_time="{month}/{day} {time}", date_unknown="未知")
    assert (yuan(None), yuan(5000), yuan(12345.6), yuan(50000)) == ("无上限", "5,000元整", "12,345.60元整", "5万")
    assert (when(date(2025, 3, 5)), when(datetime(2025, 3, 5, 14, 30)), when(None)) == ("3/5", "3/5 14:30", "未知")


def test_the_agent_desk_values_read_the_words_of_the_table(edited_wording):
    edited_wording(desk_yes="对", desk_no="不对", desk_date="{year}.{month}.{day}", list_separator=" / ")
    assert context_labels.yes_no(True) == "对" and context_labels.yes_no(False) == "不对"
    assert context_labels._date_text("2026-12-03") == "2026.12.3"
    assert joined(["刷脸", "U盾"]) == "刷脸 / U盾"


def test_a_fragment_with_a_placeholder_the_action_does_not_fill_names_the_fragment(edited_wording):
    edited_wording(balance_line="{account_type} {nonexistent}")
    with pytest.raises(knowledge.KnowledgeError, match="balance_line.*nonexistent"):
        fragment("balance_line", account_type="x", number="1", balance="2", available="3")
    with pytest.raises(knowledge.KnowledgeError, match="no fragment 'no_such_fragment'"):
        fragment("no_such_fragment")


def test_handoff_reasons_read_their_wording_from_the_table(tmp_path):
    assert {reason.value for reason in HandoffReason} <= set(reason_labels())
    assert HandoffReason.REQUESTED.label == knowledge.label("handoff_reason", "requested")
    edited = tmp_path / "wording.yml"
    edited.write_text("labels:\n  handoff_reason:\n    requested: 客户点了转人工\n", encoding="utf-8")
    assert reason_labels(edited) == {"requested": "客户点了转人工"}


def test_button_choices_must_be_canonical_channels():
    with pytest.raises(ValueError, match="未知渠道 网银"):
        knowledge.Choices(limit_channels=["手机银行", "网银"])
