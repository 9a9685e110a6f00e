"""What the bot collected, as an agent reads it: labels and values from context_labels.yml.

Used for the handoff summary (actions/handoff_context.py) and by the agent desk for its
"已收集的信息" panel and the intents of the NLU trail, so both speak the same language:
`desired_overseas_limit=50000.0` reads 期望的境外额度：5 万元. A slot the table does not name
is shown under its own name (it is a content gap `make check` reports), hidden slots not at all.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, List, Mapping, NamedTuple

from actions import knowledge
from actions.formatting import yuan
from actions.knowledge import fragment, joined


def yes_no(value: bool) -> str:
    """是 / 否 (data/knowledge/wording.yml `desk_yes`, `desk_no`)."""
    return fragment("desk_yes") if value else fragment("desk_no")


class ShownSlot(NamedTuple):
    name: str
    label: str
    value: str


def shown_slots(slots: Mapping[str, Any]) -> List[ShownSlot]:
    """The slots an agent should see, in the table's order, each with its label and value."""
    table = knowledge.context_labels().slots
    order = {name: i for i, name in enumerate(table)}
    shown = []
    for name in sorted(slots, key=lambda n: (order.get(n, len(order)), n)):
        value, spec = slots[name], table.get(name)
        if value in (None, "", [], {}) or (spec is not None and spec.hidden):
            continue
        label = spec.label if spec is not None and spec.label else name
        shown.append(ShownSlot(name, label, _value_text(value, spec)))
    return shown


def intent_label(intent: str) -> str:
    return knowledge.intent_labels().label(intent)


def _value_text(value: Any, spec: "knowledge.SlotLabel | None") -> str:
    if isinstance(value, (list, tuple)):
        return joined(_value_text(v, spec) for v in value)
    if spec is None:
        return _plain(value)
    if spec.format == "amount" and _is_number(value):
        return yuan(float(value))
    if spec.format == "yes_no" and isinstance(value, bool):
        return yes_no(value)
    if spec.format == "date":
        return _date_text(value)
    if spec.format == "form":
        return knowledge.topics().forms.get(str(value), str(value))
    if spec.format == "topic":
        topic = knowledge.topics().topics.get(str(value))
        return topic.label if topic is not None else str(value)
    return spec.values.get(str(value), _plain(value))


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _date_text(value: Any) -> str:
    try:
        moment = value if isinstance(value, (date, datetime)) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return fragment("desk_date", year=moment.year, month=moment.month, day=moment.day)
