"""Which conversations are with a person right now (shared by actions and connectors).

`<prefix>:route:handoff:<sender_id>` holds {"handoff_id", "channel"} while a person has the
conversation. The handoff action sets it; the handoff connector removes it when the agent
closes. Customer-facing channels look it up on every message to forward it to the desk.
"""
from __future__ import annotations

import json
import os
from typing import Optional

from pydantic import BaseModel

from bot.settings import REDIS_KEY_PREFIX

ROUTE_TTL_SECONDS = 2 * 24 * 3600  # a forgotten handoff does not silence the bot forever


class HandoffRoute(BaseModel):
    handoff_id: str
    channel: str


def route_key(sender_id: str) -> str:
    prefix = os.environ.get("REDIS_KEY_PREFIX") or REDIS_KEY_PREFIX
    return f"{prefix}:route:handoff:{sender_id}"


def encode(route: HandoffRoute) -> str:
    return route.json()


def decode(raw: Optional[str]) -> Optional[HandoffRoute]:
    if not raw:
        return None
    try:
        return HandoffRoute.parse_obj(json.loads(raw))
    except (ValueError, TypeError):
        return None
