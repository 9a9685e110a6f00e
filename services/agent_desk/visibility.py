"""Who at the desk may see what of a handoff.

Every agent sees the waiting queue (to pick up the next customer). A handoff someone holds,
or held until it closed, is that agent's: its transcript, slots and customer data are shown
to them and to supervisors only; others see that it exists (status, queue, who holds it) so
the queue view stays right, never what was said. Services (the bot) act for the customer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

from services.agent_desk.models import Handoff

if TYPE_CHECKING:  # service.py uses this module
    from services.agent_desk.service import Actor

# What any agent may see of an event about someone else's handoff.
PUBLIC_EVENT_KEYS = frozenset({"type", "at", "handoff_id", "status", "queue", "claimed_by"})


def may_read(handoff: Handoff, actor: "Actor") -> bool:
    if actor.type != "agent" or actor.is_supervisor or handoff.status == "waiting":
        return True
    return actor.name in (handoff.claimed_by, handoff.closed_by)


def visible_event(event: Dict[str, Any], agent: "Actor") -> Dict[str, Any]:
    """The live event as this agent may receive it."""
    holder = event.get("claimed_by")
    if agent.is_supervisor or not event.get("handoff_id") or holder in (None, agent.name) \
            or event.get("status") == "waiting":
        return event
    return {k: v for k, v in event.items() if k in PUBLIC_EVENT_KEYS}
