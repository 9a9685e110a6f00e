"""The dialogue states of a conversation, worked out once per prediction for all policies.

Every policy describes the conversation as a list of states (the user's intent and entities,
the slots, the previous action, the active form at each step) and stock Rasa 3.6 works that
list out afresh for each one: `Domain.states_for_tracker_history` replays the tracker event by
event and reads the state at every action. Right after a customer's message RulePolicy does
it twice (by intent and by text) and MemoizationPolicy once more, then again for the next
prediction of the same turn: together a fifth of a worker's CPU in the live profile
(docs/performance.md, "Issue 13 item 3").

Here the replay is done once per tracker: the state at every step, with what the rule-only
filtering needs to know about that step. When the same tracker has grown (the next prediction
of its turn, after an action), the replay goes on from where it stopped over the new events
only, unless one of them restarts, undoes or reinterprets what came before (a restart, a
rewind, a form), where it starts again as Rasa's does. Each policy's list is then
made from it with Rasa's own filtering (the loop below is Rasa 3.6's, over remembered steps
instead of a fresh replay) on copies, so a policy that changes its list changes nobody else's.
The unit test and the equivalence test (tests/reliability/test_speedups_equivalence.py)
compare every list with stock Rasa's. RASA_SPEEDUPS_OFF=dialogue_states leaves it out;
RASA_SPEEDUPS_OFF=continued_replay leaves out only the continuing (a replay per tracker state).
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (ActionExecuted, ActionReverted, ActiveLoop, Restarted, SessionStarted,
                                     UserUtteranceReverted)
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


@dataclass
class Replay:
    """The steps of a tracker's events, and the replayed tracker after the last of them."""

    domain_id: int
    length: int
    first_event: Any
    last_event: Any
    loop_names: frozenset
    steps: List[Step]
    end: DialogueStateTracker


@dataclass
class ReplayCounts:
    full: int = 0
    extended: int = 0


counts = ReplayCounts()
continue_replays = True  # RASA_SPEEDUPS_OFF=continued_replay: replay afresh for every new tracker state

# Events after which the applied events are not the earlier ones plus the new ones
# (DialogueStateTracker.applied_events): they restart, undo or reinterpret what came before.
_REINTERPRETING = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)


def _step(domain: Domain, tr: DialogueStateTracker, hide: bool, flavours: Iterable[bool]) -> Step:
    return Step(hide, tr.followup_action, tr.latest_action_name, tr.active_loop_name,
                Domain._get_prev_action_sub_state(tr),
                {flavour: domain.get_active_state(tr, omit_unset_slots=flavour) for flavour in flavours})


def _replay(domain: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool) -> Replay:
    """Rasa's replay (`generate_all_prior_trackers`), the replayed tracker kept for what comes next."""
    events = tracker.events
    end = tracker.init_copy()
    steps: List[Step] = []
    for event in tracker.applied_events():
        if isinstance(event, ActionExecuted):
            steps.append(_step(domain, end, event.hide_rule_turn, (omit_unset_slots,)))
        end.update(event)
    steps.append(_step(domain, end, False, (omit_unset_slots,)))
    counts.full += 1
    return Replay(id(domain), len(events), events[0] if events else None, events[-1] if events else None,
                  frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name), steps, end)


def _extended(domain: Domain, tracker: DialogueStateTracker, replay: Replay) -> bool:
    """Continues the replay over the events added since (the same tracker, later in its turn).
    False where that would not be what a fresh replay gives: the replay then starts again."""
    events, known = tracker.events, replay.length
    if (replay.domain_id != id(domain) or known == 0 or len(events) <= known
            or events[0] is not replay.first_event or events[known - 1] is not replay.last_event):
        return False
    added = list(itertools.islice(events, known, None))
    if any(isinstance(e, _REINTERPRETING) or (isinstance(e, ActionExecuted) and e.action_name in replay.loop_names)
           for e in added):
        return False
    flavours = tuple(replay.steps[-1].states)
    replay.steps.pop()  # the state after the last event: read again below, after the new ones
    for event in added:
        if isinstance(event, ActionExecuted):
            replay.steps.append(_step(domain, replay.end, event.hide_rule_turn, flavours))
        replay.end.update(event)
    replay.steps.append(_step(domain, replay.end, False, flavours))
    replay.length, replay.last_event = len(events), events[-1]
    counts.extended += 1
    return True


def steps_of(domain: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool) -> List[Step]:
    """The tracker's steps, remembered on it: replayed once, then continued as it grows."""
    replay: Optional[Replay] = tracker.__dict__.get(_REMEMBERED)
    current = (replay is not None and replay.domain_id == id(domain) and replay.length == len(tracker.events)
               and (not tracker.events or tracker.events[-1] is replay.last_event))
    if not current and (replay is None or not continue_replays or not _extended(domain, tracker, replay)):
        replay = tracker.__dict__[_REMEMBERED] = _replay(domain, tracker, omit_unset_slots)
    steps = replay.steps
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
    global continue_replays
    continue_replays = speedup_on("continued_replay")
    replaced = functools.wraps(Domain.states_for_tracker_history)(states_for_tracker_history)
    replaced._bank_remembered = True  # type: ignore[attr-defined]
    Domain.states_for_tracker_history = replaced
