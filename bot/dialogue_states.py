"""The dialogue states of a conversation, worked out once per prediction for all policies.

Every policy describes the conversation as a list of states (the user's intent and entities,
the slots, the previous action, the active form at each step) and stock Rasa 3.6 works that
list out afresh for each one: `Domain.states_for_tracker_history` replays the tracker event by
event and reads the state at every action. Right after a customer's message RulePolicy does
it twice (by intent and by text) and MemoizationPolicy once more, then again for the next
prediction of the same turn: together a fifth of a worker's CPU in the live profile
(docs/performance.md, "Issue 13 item 3").

Here the replay is done once per tracker as it stands (its events): the state at every step,
with what the rule-only filtering needs to know about that step. Each policy's list is then
made from it with Rasa's own filtering (the loop below is Rasa 3.6's, over remembered steps
instead of a fresh replay) on copies, so a policy that changes its list changes nobody else's.
The unit test and the equivalence test (tests/reliability/test_speedups_equivalence.py)
compare every list with stock Rasa's. RASA_SPEEDUPS_OFF=dialogue_states leaves it out.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.trackers import DialogueStateTracker

from bot.settings import speedup_on

_REMEMBERED = "_bank_dialogue_steps"


@dataclass
class Step:
    """The tracker before one of its actions (and once more at the end)."""

    hide_rule_turn: bool
    followup_action: Optional[str]
    latest_action_name: Optional[str]
    active_loop_name: Optional[str]
    prev_action: Optional[Dict[str, Any]]
    states: Dict[bool, State]  # omit_unset_slots -> the state, as get_active_state gives it


def copy_state(state: State) -> State:
    """A state's own dicts (its values are strings and tuples)."""
    return {part: dict(sub_state) for part, sub_state in state.items()}


def steps_of(domain: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool) -> List[Step]:
    """The tracker's steps, replayed once for its current events and remembered on it."""
    key = (id(domain), len(tracker.events), id(tracker.events[-1]) if tracker.events else None)
    remembered: Optional[Tuple[Any, List[Step]]] = tracker.__dict__.get(_REMEMBERED)
    if remembered is None or remembered[0] != key:
        steps = [Step(hide, tr.followup_action, tr.latest_action_name, tr.active_loop_name,
                      Domain._get_prev_action_sub_state(tr),
                      {omit_unset_slots: domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)})
                 for tr, hide in tracker.generate_all_prior_trackers()]
        remembered = tracker.__dict__[_REMEMBERED] = (key, steps)
    steps = remembered[1]
    if steps and omit_unset_slots not in steps[0].states:  # the other flavour of slots: replay once more
        for step, (tr, _) in zip(steps, tracker.generate_all_prior_trackers()):
            step.states[omit_unset_slots] = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
    return steps


def states_for_tracker_history(self: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: Optional[Dict[str, Any]] = None) -> List[State]:
    """Rasa 3.6's `Domain.states_for_tracker_history`, over the remembered steps."""
    states: List[State] = []
    last_ml_action_sub_state = None
    turn_was_hidden = False
    for step in steps_of(self, tracker, omit_unset_slots):
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action_sub_state = dict(step.prev_action) if step.prev_action is not None else None
            if not step.followup_action and not step.latest_action_name == step.active_loop_name:
                turn_was_hidden = step.hide_rule_turn
            if turn_was_hidden:
                continue
        state = copy_state(step.states[omit_unset_slots])
        if ignore_rule_only_turns:
            self._remove_rule_only_features(state, rule_only_data)
            if states:
                self._substitute_rule_only_user_input(state, states[-1])
            if last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = last_ml_action_sub_state
        states.append(self._clean_state(state))
    return states


def install() -> None:
    """Replaces Domain.states_for_tracker_history (what `tracker.past_states` calls)."""
    if getattr(Domain.states_for_tracker_history, "_bank_remembered", False) or not speedup_on("dialogue_states"):
        return
    replaced = functools.wraps(Domain.states_for_tracker_history)(states_for_tracker_history)
    replaced._bank_remembered = True  # type: ignore[attr-defined]
    Domain.states_for_tracker_history = replaced
