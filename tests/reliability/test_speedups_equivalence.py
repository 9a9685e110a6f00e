"""The speed-ups of the Rasa server (bot/rules_first.py, bot/tf_calls.py, bot/dialogue_states.py,
bot/rule_index.py, bot/slot_copy.py, bot/graph_runner.py) decide exactly what stock Rasa decides:
every conversation of the conversation set is played through the trained model in-process
(custom actions on the stack's action server), and every NLU parse, prediction, TensorFlow call,
list of dialogue states and set of rules found is made both ways on the same input and compared
(docs/performance.md). Slots are copied directly throughout, including in the stock side's
replays: tests/unit/test_slot_copy.py compares every slot's copy with `copy.copy`'s.
"""
from __future__ import annotations

import asyncio
from unittest import mock
from typing import Any, Dict, List, Optional

import numpy as np
import pytest
from rasa.core.agent import load_agent
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.utils.endpoints import EndpointConfig
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.utils.tensorflow.models import RasaModel

from bot import model_cache, rasa_server, rules_first
from tests.conversations.runner import ANONYMOUS, Stack, load_set

pytestmark = [pytest.mark.stack, pytest.mark.slow]


class Differences:
    def __init__(self) -> None:
        self.predictions = 0
        self.tf_calls = 0
        self.state_lists = 0
        self.parses = 0
        self.rule_lookups = 0
        self.found: List[str] = []


def same_prediction(stock: PolicyPrediction, fast: PolicyPrediction) -> Optional[str]:
    for field in ("policy_name", "probabilities", "is_end_to_end_prediction", "is_no_user_prediction",
                  "hide_rule_turn", "action_metadata"):
        if getattr(stock, field) != getattr(fast, field):
            return f"{field}: stock {getattr(stock, field)!r} != {getattr(fast, field)!r}"
    if events(stock) != events(fast):
        return f"events: stock {events(stock)} != {events(fast)}"
    return None


def events(prediction: PolicyPrediction) -> List[Dict[str, Any]]:
    """The prediction's events, without the time each was made at."""
    return [{k: v for k, v in event.as_dict().items() if k != "timestamp"} for event in prediction.events]


def same_outputs(stock: Dict[str, Any], fast: Dict[str, Any]) -> bool:
    if stock.keys() != fast.keys():
        return False
    for key, value in stock.items():
        if isinstance(value, dict):
            if not same_outputs(value, fast[key]):
                return False
        elif isinstance(value, np.ndarray):
            if not np.array_equal(value, fast[key]):
                return False
        elif value != fast[key]:
            return False
    return True


@pytest.fixture
def compared(monkeypatch) -> Differences:
    """Both ways for every prediction and TensorFlow call; the speed-ups' answer is used."""
    rasa_server.install()
    differences = Differences()
    predict = MessageProcessor._predict_next_with_tracker
    rasa_predict = RasaModel._rasa_predict
    states_for_history = Domain.states_for_tracker_history
    parse = MessageProcessor._parse_message_with_graph
    dask_run = DaskGraphRunner.run.__wrapped__
    possible_keys = RulePolicy._get_possible_keys
    assert all(hasattr(f, "__wrapped__") for f in (predict, rasa_predict, states_for_history, DaskGraphRunner.run,
                                                    possible_keys)), \
        "speed-ups not installed"

    def checked_predict(self: MessageProcessor, tracker) -> PolicyPrediction:
        stock = None
        if not tracker.followup_action:  # what stock Rasa runs for every other prediction, with dask
            target = self.model_metadata.core_target
            stock = dask_run(self.graph_runner, inputs={PLACEHOLDER_TRACKER: tracker.copy()}, targets=[target])[target]
        fast = predict(self, tracker)
        if stock is not None:
            differences.predictions += 1
            problem = same_prediction(stock, fast)
            if problem:
                differences.found.append(f"{tracker.sender_id} after {tracker.latest_action_name}: {problem}")
        return fast

    def checked_rasa_predict(self: RasaModel, batch_in):
        stock = rasa_predict.__wrapped__(self, batch_in)
        fast = rasa_predict(self, batch_in)
        differences.tf_calls += 1
        if not same_outputs(stock, fast):
            differences.found.append(f"TensorFlow outputs of {type(self).__name__} differ")
        return fast

    def checked_parse(self: MessageProcessor, message: UserMessage, tracker=None, only_output_properties=True):
        fast = parse(self, message, tracker, only_output_properties)
        with mock.patch.object(DaskGraphRunner, "run", dask_run):
            stock = parse(self, message, tracker, only_output_properties)
        differences.parses += 1
        if stock != fast:
            differences.found.append(f"parse of {message.text!r}: stock {stock} != {fast}")
        return fast

    def checked_states(self: Domain, tracker, *args: Any, **kwargs: Any):
        stock = states_for_history.__wrapped__(self, tracker, *args, **kwargs)
        fast = states_for_history(self, tracker, *args, **kwargs)
        differences.state_lists += 1
        if stock != fast:
            differences.found.append(f"{tracker.sender_id}: states {args} {kwargs}: stock {stock} != {fast}")
        return fast

    def checked_possible_keys(self: RulePolicy, lookup, states):
        stock = possible_keys.__wrapped__(self, lookup, states)
        fast = possible_keys(self, lookup, states)
        differences.rule_lookups += 1
        if stock != fast:
            differences.found.append(f"rules for {states}: stock {sorted(stock)} != {sorted(fast)}")
        return fast

    monkeypatch.setattr(RulePolicy, "_get_possible_keys", checked_possible_keys)
    monkeypatch.setattr(MessageProcessor, "_predict_next_with_tracker", checked_predict)
    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", checked_parse)
    monkeypatch.setattr(Domain, "states_for_tracker_history", checked_states)
    monkeypatch.setattr(RasaModel, "_rasa_predict", checked_rasa_predict)
    return differences


def test_every_prediction_and_tensorflow_call_of_the_conversation_set_is_stock_rasas(stack, compared):
    conversations = load_set()
    talk = Stack(stack.rasa_url, stack.url("core_banking"), stack.env["CORE_BANKING_SERVICE_TOKEN"])
    customers = sorted({c.customer for c in conversations if c.customer != ANONYMOUS})
    talk.unfreeze_all(customers)
    before = (rules_first.counts.decided_without_ted, rules_first.counts.asked_ted)

    async def play() -> int:
        endpoints = AvailableEndpoints(action=EndpointConfig(url=stack.url("actions") + "/webhook"))
        agent = await load_agent(model_path=str(model_cache.model_path()), endpoints=endpoints)
        turns = 0
        for number, conversation in enumerate(conversations):
            logged_in = {conversation.customer} - {ANONYMOUS}
            token = talk.login(conversation.customer) if logged_in else None
            for turn in conversation.turns:
                if turn.login:
                    token = talk.login(turn.login)
                    logged_in.add(turn.login)
                metadata = {"customer_token": token} if token else None
                await agent.handle_message(UserMessage(turn.say, sender_id=f"equiv-{number}", metadata=metadata))
                turns += 1
            talk.unfreeze_all(sorted(logged_in))  # as the conversation set's runner leaves them
        return turns

    turns = asyncio.run(play())
    talk.unfreeze_all(customers)
    skipped = rules_first.counts.decided_without_ted - before[0]
    asked = rules_first.counts.asked_ted - before[1]
    print(f"\n{len(conversations)} conversations, {turns} turns: {compared.predictions} predictions compared "
          f"({skipped} decided without TED, {asked} with it), {compared.parses} NLU parses, "
          f"{compared.tf_calls} TensorFlow calls, {compared.state_lists} lists of dialogue states and "
          f"{compared.rule_lookups} rule look-ups compared")
    assert not compared.found, "\n".join(compared.found[:20])
    assert compared.predictions > turns and compared.parses >= turns and compared.tf_calls >= turns
    assert compared.state_lists > 2 * turns and compared.rule_lookups > 2 * turns
    assert skipped > 0 and asked > 0  # both paths were exercised
