"""Guard 5 of bot/rasa_server.py: the action server's answers are still validated against
Rasa's schema, but the schema is checked against the meta-schema once, not on every call."""
from __future__ import annotations

import pytest
from jsonschema.exceptions import ValidationError, best_match
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


EVENTS = [
    {"event": "slot", "name": "topic", "value": "转账限额"},
    {"event": "slot", "value": "no name"},
    {"event": "bot", "text": "您好", "data": {"buttons": []}, "metadata": {}},
    {"event": "bot", "text": 5},
    {"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet", "confidence": 0.9}}},
    {"event": "user", "parse_data": {"intent": {"name": 1}}},
    {"event": "followup", "name": "action_listen"},
    {"event": "active_loop", "name": None},
    {"event": "action", "name": "utter_greet", "timestamp": "yesterday"},
    {"event": "reset_slots"},
    {"event": "restart", "metadata": []},
    {"event": "no such event"},
    {"event": 7},
    {"name": "no event key"},
    "not an object",
]


@pytest.mark.parametrize("event", EVENTS, ids=[str(e)[:40] for e in EVENTS])
def test_the_split_check_gives_the_whole_schemas_verdict(action, event):
    whole = rasa_server.action_response_validator()
    for answer in ({"events": [event], "responses": []}, {"events": [GOOD["events"][0], event]}):
        expected = whole.is_valid(answer)
        assert rasa_server._passes(answer) is expected
        if expected:
            assert action._validate_action_result(answer) is True
        else:
            with pytest.raises(ValidationError) as refused:
                action._validate_action_result(answer)
            assert refused.value.message == best_match(whole.iter_errors(answer)).message + rasa_server.RESPONSE_FORMAT_HELP


def test_the_split_covers_every_event_of_rasas_schema():
    outline, by_name = rasa_server.action_response_outline()
    alternatives = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]["oneOf"]
    assert len(by_name) == len(alternatives) > 20 and {"slot", "bot", "user", "followup"} <= set(by_name)
