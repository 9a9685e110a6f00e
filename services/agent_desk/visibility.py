"""Who at the desk may see what of a handoff.

A waiting handoff is seen by the agents who serve its queue (to pick up the next customer).
A handoff someone holds, or held until it closed, is that agent's: its transcript, slots and
customer data are shown to them and to supervisors only. Live events follow the same rule;
an agent who may not see a handoff still learns that it changed (status, queue, who holds it)
so their queue view stays right, never what was said. Services (the bot) act for the customer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from services.agent_desk.models import Handoff

if TYPE_CHECKING:  # service.py uses this module
    from services.agent_desk.service import Actor

# What any agent may see of an event about a handoff they may not read.
PUBLIC_EVENT_KEYS = frozenset({"type", "at", "handoff_id", "status", "queue", "claimed_by"})


def may_see(actor: "Actor", status: Optional[str], queue: Optional[str], *holders: Optional[str]) -> bool:
    """The one rule, for stored handoffs and for live events alike."""
    if actor.type != "agent" or actor.is_supervisor:
        return True
    if status == "waiting":
        return queue is not None and actor.serves(queue)
    return actor.name in holders


def may_read(handoff: Handoff, actor: "Actor") -> bool:
    return may_see(actor, handoff.status, handoff.queue, handoff.claimed_by, handoff.closed_by)


def visible_event(event: Dict[str, Any], agent: "Actor") -> Dict[str, Any]:
    """The live event as this agent may receive it."""
    if not event.get("handoff_id") or may_see(agent, event.get("status"), event.get("queue"),
                                                event.get("claimed_by"), event.get("closed_by")):
        return event
    return {k: v for k, v in event.items() if k in PUBLIC_EVENT_KEYS}
