"""bot/graph_runner.py runs a graph as dask's runner does: each node once, after what it needs,
inputs in place of the nodes of their names, an unknown need passed as its name. (The real
model's parses and predictions are compared in tests/reliability/test_speedups_equivalence.py.)"""
from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema, SchemaNode

from bot.graph_runner import node_order, run_in_order


class Node:
    """Stands in for a GraphNode: records its calls, answers (name, what it was given)."""

    def __init__(self, name: str, calls: List[str]) -> None:
        self.name, self.calls = name, calls

    def __call__(self, *inputs: Any):
        self.calls.append(self.name)
        return self.name, [i[1] if isinstance(i, tuple) else f"unresolved:{i}" for i in inputs]


def schema(**needs: Dict[str, str]) -> GraphSchema:
    return GraphSchema({name: SchemaNode(needs=n, uses=object, constructor_name="create", fn="run", config={},
                                         is_target=name.startswith("t")) for name, n in needs.items()})


class Runner:
    def __init__(self, graph: GraphSchema) -> None:
        self._graph_schema, self.calls = graph, []
        self._instantiated_nodes = {name: Node(name, self.calls) for name in graph.nodes}


GRAPH = dict(t_out={"a": "b", "b": "c"}, b={"x": "c", "m": "__message__"}, c={}, other={})


def test_each_node_runs_once_after_what_it_needs_and_only_for_its_targets():
    runner = Runner(schema(**GRAPH))
    result = run_in_order(runner, inputs={"__message__": "你好"}, targets=["t_out"])
    assert runner.calls == ["c", "b", "t_out"]  # "other" is not needed
    assert result == {"t_out": [[[], "你好"], []]}


def test_an_input_stands_in_for_a_node_and_an_unknown_need_is_passed_by_name():
    runner = Runner(schema(**GRAPH))
    assert run_in_order(runner, inputs={"c": "given"}, targets=["b"]) == {"b": ["given", "unresolved:__message__"]}
    assert runner.calls == ["b"]


def test_the_order_is_worked_out_once_per_target_set_and_a_cycle_is_refused():
    assert node_order(schema(**GRAPH)) == ("c", "b", "t_out", "other")
    runner = Runner(schema(**GRAPH))
    run_in_order(runner, targets=["t_out"])
    run_in_order(runner, targets=["t_out"])
    assert list(runner.__dict__["_bank_node_orders"]) == [("t_out",)]
    with pytest.raises(GraphRunError, match="cycle"):
        node_order(schema(a={"x": "b"}, b={"y": "a"}))
