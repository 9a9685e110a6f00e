"""A dialogue policy that hands the conversation to a person when the bot is not helping.

It predicts `action_handoff_to_human` right after a user message when
`bot.handoff_rules.automatic_reason` finds a reason (repeated fallback, low confidence
twice, an emotional complaint), and sets the `handoff_reason` slot with it. Its priority
is above RulePolicy's, so no rule or story can keep a struggling customer in a loop.
It abstains inside forms (free-text answers score low by nature) and after a handoff.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationResumed, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.handoff_rules import LOW_CONFIDENCE, UserTurn, automatic_reason, turn_from_parse_data

HANDOFF_ACTION = "action_handoff_to_human"
HANDOFF_REASON_SLOT = "handoff_reason"
TWO_STAGE_FALLBACK = "action_two_stage_fallback"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class HandoffTriggerPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7, "low_confidence": LOW_CONFIDENCE}

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource  # rule-based: nothing to learn

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "HandoffTriggerPolicy":
        return cls(config, model_storage, resource, execution_context)

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[Text, Any]] = None,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        reason = self._reason(tracker)
        if reason is None or HANDOFF_ACTION not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(HANDOFF_ACTION)] = 1.0
        return self._prediction(probabilities, events=[SlotSet(HANDOFF_REASON_SLOT, reason.value)])

    def _reason(self, tracker: DialogueStateTracker):
        if tracker.latest_action_name != ACTION_LISTEN_NAME or tracker.is_paused():
            return None
        active_loop = tracker.active_loop_name
        if active_loop and active_loop != TWO_STAGE_FALLBACK:
            return None
        latest = tracker.latest_message
        if latest and (latest.intent or {}).get("name") == "request_human":
            return None  # the rules handle an explicit request
        return automatic_reason(recent_user_turns(tracker.events), self.config["low_confidence"])


def recent_user_turns(events: Iterable[Event], limit: int = 3) -> List[UserTurn]:
    """The latest user turns (oldest first) of this session since a person last handed the
    conversation back: what the bot was told before a handoff does not count against it."""
    turns: List[UserTurn] = []
    for event in reversed(list(events)):
        if isinstance(event, (SessionStarted, ConversationResumed)):
            break
        if isinstance(event, UserUttered):
            turns.append(turn_from_parse_data(event.text, event.parse_data))
            if len(turns) == limit:
                break
    return list(reversed(turns))
