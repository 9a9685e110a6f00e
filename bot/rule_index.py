"""RulePolicy's rules looked up by their last previous action instead of tried one by one.

For every prediction, stock Rasa 3.6's RulePolicy (`_get_possible_keys`) tries each of its
rules (134 in this assistant) against the conversation's current state, parsing the rule and
matching it part by part, and then tries the survivors against the earlier states. Nearly every
rule ends in a different previous action, so almost all of them fail the first test on that
alone: 7 % of a worker's CPU in the live profile (docs/performance.md, "Issue 13 item 3, second round").

The index groups the rules by the previous action of their last state. The first test then
tries only the rules whose previous action the current state has (or, at a conversation's
start, the rules that start conversations); every later state is tried as stock does. The
first test of a rule requires exactly this of its previous action (`_is_rule_applicable`), so
the rules left out are the ones stock Rasa would drop, and the rules tried are tried by Rasa's
own test. The unit test and the equivalence test (tests/reliability/test_speedups_equivalence.py)
compare the rules found with stock's. RASA_SPEEDUPS_OFF=rule_index leaves it out.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Text, Tuple

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.domain import State

from bot.settings import speedup_on

_INDEXES = "_bank_rule_indexes"


@dataclass
class RuleIndex:
    """The rules of one lookup, by the previous action of their last state."""

    lookup: Dict[Text, Text]
    size: int
    conversation_starts: List[Text] = field(default_factory=list)  # no previous action
    # (sub-state key, value) -> rules whose previous action is just that, e.g. ("action_name", "utter_greet")
    by_action: Dict[Tuple[str, Any], List[Text]] = field(default_factory=dict)
    # any other previous action sub-state (several keys, lists, SHOULD_NOT_BE_SET): tested as Rasa does
    other: List[Tuple[Dict[str, Any], List[Text]]] = field(default_factory=list)

    def is_for(self, lookup: Dict[Text, Text]) -> bool:
        return self.lookup is lookup and self.size == len(lookup)

    def candidates(self, previous_action: Optional[Dict[str, Any]]) -> List[Text]:
        """The rules whose last state's previous action this previous action satisfies."""
        if not previous_action:
            return self.conversation_starts
        found: List[Text] = []
        for item in previous_action.items():
            found.extend(self.by_action.get(item, ()))
        for sub_state, keys in self.other:
            if RulePolicy._does_rule_match_state({PREVIOUS_ACTION: sub_state}, {PREVIOUS_ACTION: previous_action}):
                found.extend(keys)
        return found


def build_index(lookup: Dict[Text, Text]) -> RuleIndex:
    index = RuleIndex(lookup, len(lookup))
    others: Dict[str, Tuple[Dict[str, Any], List[Text]]] = {}
    for key in lookup:
        previous_action = RulePolicy._rule_key_to_state(key)[-1].get(PREVIOUS_ACTION)
        if not previous_action:
            index.conversation_starts.append(key)
        elif len(previous_action) == 1 and _plain(next(iter(previous_action.values()))):
            index.by_action.setdefault(next(iter(previous_action.items())), []).append(key)
        else:
            bucket = others.setdefault(json.dumps(previous_action, sort_keys=True), (previous_action, []))
            bucket[1].append(key)
    index.other = list(others.values())
    return index


def _plain(value: Any) -> bool:
    """A value `_does_rule_match_state` compares with == (not empty, a list or SHOULD_NOT_BE_SET)."""
    return isinstance(value, str) and bool(value) and value != SHOULD_NOT_BE_SET


def index_for(policy: RulePolicy, lookup: Dict[Text, Text]) -> RuleIndex:
    """The lookup's index, built on first use and again if the lookup was replaced or grew."""
    indexes: Dict[int, RuleIndex] = policy.__dict__.setdefault(_INDEXES, {})
    index = indexes.get(id(lookup))
    if index is None or not index.is_for(lookup):
        index = indexes[id(lookup)] = build_index(lookup)
    return index


def get_possible_keys(self: RulePolicy, lookup: Dict[Text, Text], states: List[State]) -> Set[Text]:
    """Rasa 3.6's `_get_possible_keys`, with the first state's test over the indexed rules only."""
    if not states:
        return set(lookup.keys())
    current = states[-1]
    candidates = index_for(self, lookup).candidates(current.get(PREVIOUS_ACTION))
    possible_keys = {key for key in candidates if self._is_rule_applicable(key, 0, current)}
    for turn_index, state in enumerate(reversed(states[:-1]), start=1):
        possible_keys = {key for key in possible_keys if self._is_rule_applicable(key, turn_index, state)}
    return possible_keys


def install() -> None:
    """Replaces RulePolicy._get_possible_keys."""
    if getattr(RulePolicy._get_possible_keys, "_bank_indexed", False) or not speedup_on("rule_index"):
        return
    replaced = functools.wraps(RulePolicy._get_possible_keys)(get_possible_keys)
    replaced._bank_indexed = True  # type: ignore[attr-defined]
    RulePolicy._get_possible_keys = replaced
