"""Rules first: TEDPolicy is asked only when no rule or memorised story has decided.

Stock Rasa 3.6 runs every policy for every prediction, then its ensemble
(DefaultPolicyPredictionEnsemble) keeps the most confident one, ties going to the higher
priority. When a policy with a higher priority than TED's (RulePolicy, MemoizationPolicy,
the handoff trigger) is certain (confidence 1.0), TED cannot win: its confidences are a
softmax, at most 1.0, and it loses the tie. Yet it was computed: featurising the window's
states and one TensorFlow call, the largest share of a turn's CPU in the live profile
(docs/performance.md, "Issue 13 item 3"). Most of this assistant's turns are decided by
rules (FAQ answers, look-ups, forms), so TED is now run only when nobody certain spoke.

The choice is the stock ensemble's, on the same predictions; only TED's is left out when it
cannot change the outcome, which holds when
- TED makes no end-to-end predictions (they would overrule the others): it was trained
  without story texts (checked once per model; otherwise everything runs as stock);
- the last action was not rejected (the ensemble then zeroes it in every prediction, so a
  certain rule may stop being certain): such predictions run as stock;
- TED adds no mandatory events (Rasa 3.6's TED returns optional ones only, used if it wins).
"""
from __future__ import annotations

import functools
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Tuple

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.processor import MessageProcessor
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.nlu.constants import TEXT
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker

from bot.settings import speedup_on

logger = logging.getLogger(__name__)

CERTAIN = 1.0


@dataclass
class Counts:
    """How many predictions did and did not need TED (logged, read by tests and the bench)."""

    decided_without_ted: int = 0
    asked_ted: int = 0


counts = Counts()


def ted_cannot_win(predictions: Iterable[PolicyPrediction], ted_priority: int) -> bool:
    """A certain prediction from a policy that outranks TED: the ensemble would not pick TED."""
    return any(p.max_confidence >= CERTAIN and p.policy_priority > ted_priority for p in predictions)


def last_action_rejected(tracker: DialogueStateTracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecutionRejected):
            return True
        if isinstance(event, ActionExecuted):
            return False
    return False


@dataclass(frozen=True)
class PredictionGraph:
    """The prediction part of a loaded model's graph: the ensemble node and what it needs."""

    ensemble: GraphNode
    needs: Dict[str, str]             # the ensemble's parameter -> the node that provides it
    ted_nodes: Tuple[str, ...]
    first_nodes: Tuple[str, ...]      # everything else the ensemble needs, except the tracker
    ted_priority: int

    def predict(self, runner: DaskGraphRunner, tracker: DialogueStateTracker) -> PolicyPrediction:
        inputs = {PLACEHOLDER_TRACKER: tracker}
        outputs = runner.run(inputs=inputs, targets=list(self.first_nodes))
        first = [value for value in outputs.values() if isinstance(value, PolicyPrediction)]
        if ted_cannot_win(first, self.ted_priority):
            counts.decided_without_ted += 1
            # The ensemble node takes every input it was built with: TED's place holds a
            # prediction of nothing, which cannot win either.
            outputs.update({node: self.stand_in(len(first[0].probabilities)) for node in self.ted_nodes})
        else:
            counts.asked_ted += 1
            outputs.update(runner.run(inputs=inputs, targets=list(self.ted_nodes)))
        outputs[PLACEHOLDER_TRACKER] = tracker
        # Called as the graph runner calls a node: (provider, output) for each input.
        _, prediction = self.ensemble(*[(node, outputs[node]) for node in self.needs.values()])
        return prediction

    def stand_in(self, actions: int) -> PolicyPrediction:
        return PolicyPrediction([0.0] * actions, TEDPolicy.__name__, self.ted_priority)


_graphs: "weakref.WeakKeyDictionary[Any, Optional[PredictionGraph]]" = weakref.WeakKeyDictionary()


def prediction_graph(runner: Any, core_target: Optional[str]) -> Optional[PredictionGraph]:
    """The model's prediction graph if rules-first applies to it, else None (worked out once
    per loaded model)."""
    if runner not in _graphs:
        _graphs[runner] = _read_graph(runner, core_target)
    return _graphs[runner]


def _read_graph(runner: Any, core_target: Optional[str]) -> Optional[PredictionGraph]:
    nodes: Dict[str, GraphNode] = getattr(runner, "_instantiated_nodes", None) or {}
    schema = getattr(runner, "_graph_schema", None)
    if not isinstance(runner, DaskGraphRunner) or schema is None or core_target not in nodes:
        return None
    needs = dict(schema.nodes[core_target].needs)
    ted_nodes = tuple(node for node in needs.values()
                      if node in schema.nodes and issubclass(schema.nodes[node].uses, TEDPolicy))
    teds = [nodes[node]._component for node in ted_nodes]
    if not teds or any(ted is None or TEXT in getattr(ted, "fake_features", {TEXT: None}) for ted in teds):
        logger.info("rules first: off for this model (no TEDPolicy, or one trained on story texts)")
        return None
    first_nodes = tuple(node for node in needs.values() if node not in ted_nodes and node != PLACEHOLDER_TRACKER)
    return PredictionGraph(ensemble=nodes[core_target], needs=needs, ted_nodes=ted_nodes, first_nodes=first_nodes,
                           ted_priority=max(ted.priority for ted in teds))


def install() -> None:
    """Wraps MessageProcessor._predict_next_with_tracker (every prediction: turns, the
    suggested replies, Rasa's /predict API). Follow-up actions and predictions after a
    rejected action run as stock. RASA_SPEEDUPS_OFF=rules_first leaves it out."""
    if getattr(MessageProcessor._predict_next_with_tracker, "_bank_rules_first", False) or not speedup_on("rules_first"):
        return
    original = MessageProcessor._predict_next_with_tracker

    @functools.wraps(original)  # __wrapped__: stock Rasa's, for the equivalence test
    def _predict_next_with_tracker(self: MessageProcessor, tracker: DialogueStateTracker) -> PolicyPrediction:
        graph = prediction_graph(self.graph_runner, self.model_metadata.core_target)
        if graph is None or tracker.followup_action or last_action_rejected(tracker):
            return original(self, tracker)
        return graph.predict(self.graph_runner, tracker)

    _predict_next_with_tracker._bank_rules_first = True  # type: ignore[attr-defined]
    MessageProcessor._predict_next_with_tracker = _predict_next_with_tracker
