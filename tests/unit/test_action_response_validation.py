"""Guard 5 of bot/rasa_server.py: the action server's answers are still validated against
Rasa's schema, but the schema is checked against the meta-schema once, not on every call."""
from __future__ import annotations

import pytest
from jsonschema.exceptions import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

from bot import rasa_server

GOOD = {"events": [{"event": "slot", "name": "topic", "value": "transfer_fee", "timestamp": None}],
        "responses": [{"response": "utter_ask_transfer_fee"}]}


@pytest.fixture()
def action() -> RemoteAction:
    rasa_server.install()
    return RemoteAction("action_answer_topic", None)


def test_a_well_formed_answer_passes(action):
    assert action._validate_action_result(GOOD) is True


@pytest.mark.parametrize("bad", [
    {"events": "not a list", "responses": []},
    {"events": [{"no_event_key": 1}], "responses": []},
    {"events": [], "responses": "not a list"},
])
def test_a_malformed_answer_is_refused_with_rasas_hint(action, bad):
    with pytest.raises(ValidationError) as refused:
        action._validate_action_result(bad)
    assert "Failed to validate Action server response" in refused.value.message


def test_the_same_error_as_stock_rasa():
    import jsonschema

    bad = {"events": [{"no_event_key": 1}], "responses": []}
    with pytest.raises(ValidationError) as stock:
        jsonschema.validate(bad, RemoteAction.action_response_format_spec())
    with pytest.raises(ValidationError) as ours:
        rasa_server._validate_action_result(RemoteAction("x", None), bad)
    assert ours.value.message.startswith(stock.value.message)


def test_the_meta_schema_check_runs_once(action, monkeypatch):
    validator_class = validator_for(RemoteAction.action_response_format_spec())
    calls = []
    original = validator_class.check_schema
    monkeypatch.setattr(validator_class, "check_schema", classmethod(lambda cls, s: calls.append(1) or original(s)))
    rasa_server.action_response_validator.cache_clear()
    for _ in range(20):
        action._validate_action_result(GOOD)
    assert calls == [1]
