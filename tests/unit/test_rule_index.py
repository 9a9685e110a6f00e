"""bot/rule_index.py: RulePolicy finds exactly the rules stock Rasa finds, trying only the rules
whose last previous action the conversation's current state has."""
from __future__ import annotations

import itertools
import json
from typing import Any, Dict, List

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import SHOULD_NOT_BE_SET

from bot import rule_index

STOCK = RulePolicy._get_possible_keys
if hasattr(STOCK, "__wrapped__"):  # installed by an earlier test in this process
    STOCK = STOCK.__wrapped__

LISTEN = {"action_name": "action_listen"}
GREETED = {"action_name": "utter_greet"}


def rule(*states: Dict[str, Any]) -> str:
    """A rule key as RulePolicy stores it: its states as JSON."""
    return json.dumps(list(states), sort_keys=True)


RULES: Dict[str, str] = {
    rule({"user": {"intent": "greet"}}): "utter_greet",  # starts a conversation
    rule({"prev_action": LISTEN, "user": {"intent": "greet"}}): "utter_greet",
    rule({"prev_action": LISTEN, "user": {"intent": "ask_fee"}}): "utter_fee",
    rule({"prev_action": LISTEN, "user": {"intent": "ask_fee"}, "slots": {"channel": (1.0,)}}): "utter_fee_online",
    rule({"prev_action": LISTEN, "user": {"intent": "ask_fee"}},
         {"prev_action": {"action_name": "utter_fee"}}): "action_listen",
    rule({"prev_action": GREETED}): "action_listen",
    rule({"prev_action": {"action_text": "你好"}}): "action_listen",
    rule({"prev_action": {"action_name": "complaint_form"}, "active_loop": {"name": "complaint_form"}}): "action_listen",
    rule({"prev_action": {"action_name": SHOULD_NOT_BE_SET}, "user": {"intent": "deny"}}): "utter_sorry",
    rule({"prev_action": {"action_name": "utter_greet", "action_text": "您好"}}): "action_listen",
    rule({"prev_action": LISTEN, "user": {"intent": "greet"}},
         {"prev_action": GREETED, "user": {"intent": "greet"}}): "utter_again",
}

STATES: List[Dict[str, Any]] = [
    {},
    {"user": {"intent": "greet"}},
    {"prev_action": LISTEN, "user": {"intent": "greet"}},
    {"prev_action": LISTEN, "user": {"intent": "ask_fee"}},
    {"prev_action": LISTEN, "user": {"intent": "ask_fee"}, "slots": {"channel": (1.0,)}},
    {"prev_action": {"action_name": "utter_fee"}, "user": {"intent": "ask_fee"}},
    {"prev_action": GREETED, "user": {"intent": "greet"}},
    {"prev_action": {"action_text": "你好"}},
    {"prev_action": {"action_name": "complaint_form"}, "active_loop": {"name": "complaint_form"}},
    {"prev_action": {"action_name": "utter_greet", "action_text": "您好"}},
    {"prev_action": {"action_name": "utter_other"}, "user": {"intent": "deny"}},
]


@pytest.fixture
def policy() -> RulePolicy:
    return RulePolicy.__new__(RulePolicy)  # the methods used need no trained state


def test_every_history_of_up_to_three_states_finds_stock_rasas_rules(policy):
    histories = [list(h) for n in range(0, 4) for h in itertools.product(STATES, repeat=n)]
    found_some = 0
    for states in histories:
        expected = STOCK(policy, RULES, states)
        assert rule_index.get_possible_keys(policy, RULES, states) == expected, states
        found_some += bool(expected)
    assert found_some > len(histories) // 4  # the histories match rules, not only miss them


def test_the_first_state_tries_only_the_rules_ending_in_its_previous_action(policy, monkeypatch):
    tried: List[str] = []
    stock_test = RulePolicy._is_rule_applicable
    monkeypatch.setattr(RulePolicy, "_is_rule_applicable",
                        lambda self, key, i, state: tried.append(key) or stock_test(self, key, i, state))
    rule_index.get_possible_keys(policy, RULES, [{"prev_action": GREETED, "user": {"intent": "greet"}}])
    assert 0 < len(tried) <= 3 < len(RULES)


def test_a_replaced_or_grown_lookup_is_indexed_again(policy):
    lookup = dict(RULES)
    state = [{"prev_action": {"action_name": "utter_new"}}]
    assert rule_index.get_possible_keys(policy, lookup, state) == set()
    lookup[rule({"prev_action": {"action_name": "utter_new"}})] = "action_listen"
    assert rule_index.get_possible_keys(policy, lookup, state) == STOCK(policy, lookup, state) != set()
