"""The model's graph run node after node, without dask's scheduler, while serving.

Rasa 3.6 runs every NLU parse and every dialogue prediction as a small graph (the parse: a
dozen components; a prediction: the policies and the ensemble) through `dask.get`, dask's
synchronous scheduler. For graphs this small its bookkeeping (dependency scans, task queues,
result caches, callbacks) is a sixth of a parse's CPU in the live profile (docs/performance.md,
"Issue 13 item 3"). While the Rasa server serves, `DaskGraphRunner.run` does what dask does for
such a graph: it calls each node once, after the nodes it needs, with their `(name, output)`
pairs (a need no node provides is passed as its name, as dask passes an unknown key), the
inputs standing in for the nodes of their names. The order of the nodes is worked out once per
set of targets. The same nodes, the same calls, the same outputs: the equivalence test
(tests/reliability/test_speedups_equivalence.py) compares every parse and prediction with
dask's. RASA_SPEEDUPS_OFF=graph_runner leaves it out.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner

from bot.settings import speedup_on

_ORDERS = "_bank_node_orders"


def node_order(schema: GraphSchema) -> Tuple[Text, ...]:
    """Every node of the schema, each after the nodes it needs (depth first, in schema order)."""
    order: List[Text] = []
    placed: set = set()

    def place(name: Text, path: Tuple[Text, ...] = ()) -> None:
        if name in placed or name not in schema.nodes:
            return
        if name in path:
            raise GraphRunError(f"the graph has a cycle through '{name}'")
        for needed in schema.nodes[name].needs.values():
            place(needed, path + (name,))
        placed.add(name)
        order.append(name)

    for name in schema.nodes:
        place(name)
    return tuple(order)


def run_in_order(runner: DaskGraphRunner, inputs: Optional[Dict[Text, Any]] = None,
                 targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
    """`DaskGraphRunner.run`, each node called directly (see the module's docstring)."""
    run_targets = targets if targets else runner._graph_schema.target_names
    orders: Dict[Tuple[Text, ...], Tuple[GraphSchema, Tuple[Text, ...]]] = runner.__dict__.setdefault(_ORDERS, {})
    key = tuple(run_targets)
    if key not in orders:
        minimal = runner._graph_schema.minimal_graph_schema(run_targets)
        orders[key] = (minimal, node_order(minimal))
    minimal, order = orders[key]
    outputs: Dict[Text, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
    try:
        for name in order:
            if name not in outputs:
                needs = minimal.nodes[name].needs.values()
                outputs[name] = runner._instantiated_nodes[name](*[outputs.get(need, need) for need in needs])
    except RuntimeError as e:  # as dask's runner
        raise GraphRunError("Error running runner.") from e
    return dict(outputs[target] for target in run_targets)


def install() -> None:
    """Replaces DaskGraphRunner.run in the Rasa server's process (bot/rasa_server.py)."""
    if getattr(DaskGraphRunner.run, "_bank_in_order", False) or not speedup_on("graph_runner"):
        return
    replaced = functools.wraps(DaskGraphRunner.run)(run_in_order)
    replaced._bank_in_order = True  # type: ignore[attr-defined]
    DaskGraphRunner.run = replaced
