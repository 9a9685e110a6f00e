"""bot/dialogue_states.py: every policy's list of dialogue states is stock Rasa's, while the
conversation is replayed once per tracker as it stands (not once per policy)."""
from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import dialogue_states

ROOT = Path(__file__).resolve().parents[2]
STOCK = Domain.states_for_tracker_history
if hasattr(STOCK, "__wrapped__"):  # installed by an earlier test in this process
    STOCK = STOCK.__wrapped__


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def conversation(domain: Domain) -> DialogueStateTracker:
    """A complaint form interrupted by a rule-only turn (hidden from ML policies), entities, slots."""
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_session_start"),
                                                     ActionExecuted("action_listen")], domain.slots)
    for event in [
        UserUttered("我要投诉", {"name": "complain", "confidence": 0.9}),
        ActionExecuted("complaint_form"), ActiveLoop("complaint_form"), SlotSet("requested_slot", "complaint_description"),
        BotUttered("发生了什么？"), ActionExecuted("action_listen"),
        UserUttered("转账手续费多少", {"name": "ask_transfer_fee", "confidence": 0.95},
                    entities=[{"entity": "channel", "value": "手机银行", "start": 0, "end": 2}]),
        ActionExecuted("utter_ask_transfer_fee", hide_rule_turn=True), BotUttered("免费"),
        ActionExecuted("complaint_form", hide_rule_turn=True), ActionExecuted("action_listen", hide_rule_turn=True),
        UserUttered("排队两个小时", {"name": "inform", "confidence": 0.8}),
        ActionExecuted("complaint_form"), SlotSet("complaint_description", "排队两个小时"), ActiveLoop(None),
        ActionExecuted("action_listen"),
    ]:
        tracker.update(event, domain)
    return tracker


RULE_ONLY = {"slots": ["requested_slot"], "loops": ["complaint_form"]}


@pytest.mark.parametrize("omit_unset_slots", [False, True])
@pytest.mark.parametrize("ignore_rule_only_turns,rule_only_data", [(False, None), (True, RULE_ONLY), (True, None)])
def test_every_prefix_gives_stock_rasas_states(domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data):
    full = conversation(domain)
    for end in range(1, len(full.events) + 1):
        tracker = DialogueStateTracker.from_events("s", list(full.events)[:end], domain.slots)
        args = dict(omit_unset_slots=omit_unset_slots, ignore_rule_only_turns=ignore_rule_only_turns,
                    rule_only_data=rule_only_data)
        expected = STOCK(domain, tracker, **args)
        assert dialogue_states.states_for_tracker_history(domain, tracker, **args) == expected
        assert dialogue_states.states_for_tracker_history(domain, tracker, **args) == expected  # remembered


def test_one_replay_serves_every_policy_until_the_tracker_changes(domain):
    tracker = conversation(domain)
    expected_ml = STOCK(domain, tracker, ignore_rule_only_turns=True, rule_only_data=RULE_ONLY)
    with mock.patch.object(DialogueStateTracker, "generate_all_prior_trackers", autospec=True,
                           side_effect=DialogueStateTracker.generate_all_prior_trackers) as replays:
        first = dialogue_states.states_for_tracker_history(domain, tracker)  # RulePolicy, by text
        first[-1]["user"]["intent"] = "changed by a policy"  # a policy changing its list changes nobody else's
        dialogue_states.states_for_tracker_history(domain, tracker)  # RulePolicy, by intent
        ml = dialogue_states.states_for_tracker_history(domain, tracker, ignore_rule_only_turns=True,
                                                        rule_only_data=RULE_ONLY)  # MemoizationPolicy
        assert replays.call_count == 1 and ml == expected_ml
        tracker.update(ActionExecuted("utter_anything_else"), domain)
        after = dialogue_states.states_for_tracker_history(domain, tracker)
        assert replays.call_count == 2  # replayed again for the new event
    assert after == STOCK(domain, tracker)
