"""Guard 7 of bot/rasa_server.py: lookups stock Rasa repeats on every call are remembered,
with the same answers (and the same error for an unknown event type)."""
from __future__ import annotations

import pytest
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.shared.core.events import Event, SlotSet, UserUttered

from bot import rasa_server


def node(*needs: str) -> SchemaNode:
    return SchemaNode(needs={f"in{i}": n for i, n in enumerate(needs)}, uses=object, constructor_name="create",
                      fn="run", config={})


def test_the_minimal_graph_schema_is_computed_once_per_target_set_with_the_same_nodes():
    original = GraphSchema.minimal_graph_schema
    schema = GraphSchema({"a": node(), "b": node("a"), "c": node("a", "b"), "d": node("c"), "other": node()})
    expected = set(original(schema, ["d"]).nodes)
    rasa_server._cache_per_call_lookups()
    first = schema.minimal_graph_schema(["d"])
    assert set(first.nodes) == expected == {"a", "b", "c", "d"}
    assert schema.minimal_graph_schema(["d"]) is first  # remembered
    assert set(schema.minimal_graph_schema(["other"]).nodes) == {"other"}


def test_event_types_resolve_as_before_and_an_unknown_one_still_fails():
    rasa_server._cache_per_call_lookups()
    assert Event.resolve_by_type("slot") is SlotSet and Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert isinstance(Event.from_parameters({"event": "slot", "name": "topic", "value": "转账"}), SlotSet)
