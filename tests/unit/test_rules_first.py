"""bot/rules_first.py: when TED cannot change the ensemble's choice, it is not asked.

The equivalence on the real model, prediction by prediction over the conversation set, is
tests/reliability/test_speedups_equivalence.py."""
from __future__ import annotations

from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rules_first import ted_cannot_win, last_action_rejected

TED_PRIORITY = 1


def prediction(probabilities, name: str, priority: int) -> PolicyPrediction:
    return PolicyPrediction(list(probabilities), name, priority)


def test_a_certain_prediction_of_a_higher_priority_leaves_ted_no_chance():
    rule = prediction([0.0, 1.0, 0.0], "RulePolicy", 6)
    assert ted_cannot_win([rule], TED_PRIORITY)
    # ...which is what the stock ensemble does with TED's best possible answer beside it
    ted = prediction([1.0, 0.0, 0.0], "TEDPolicy", TED_PRIORITY)
    assert DefaultPolicyPredictionEnsemble._pick_best_policy([rule, ted]).policy_name == "RulePolicy"


def test_ted_is_asked_when_nobody_is_certain_or_the_certain_one_does_not_outrank_it():
    assert not ted_cannot_win([prediction([0.3, 0.0], "RulePolicy", 6)], TED_PRIORITY)  # RulePolicy's fallback
    assert not ted_cannot_win([prediction([0.999, 0.0], "MemoizationPolicy", 3)], TED_PRIORITY)
    assert not ted_cannot_win([prediction([1.0, 0.0], "SamePriority", TED_PRIORITY)], TED_PRIORITY)
    assert not ted_cannot_win([], TED_PRIORITY)


def test_a_rejected_last_action_sends_the_prediction_the_stock_way():
    tracker = DialogueStateTracker.from_events("s", [
        ActionExecuted("action_listen"), UserUttered("我要投诉", intent={"name": "complain", "confidence": 1.0}),
        ActionExecuted("complaint_form"), ActionExecutionRejected("complaint_form"),
    ])
    assert last_action_rejected(tracker)
    tracker.update(ActionExecuted("utter_ask_rephrase"))
    assert not last_action_rejected(tracker)
