"""Which customer a REST conversation belongs to.

The app and WeChat channels derive the sender id from a verified identity (`app-<customer>`,
`wechat-<openid>`), so nobody can speak in those conversations without it. The REST channel
takes the sender id from the request body; so that a guessed or leaked sender id does not let
a stranger speak as the customer (or read the agent's replies), the first verified customer
token a REST conversation carries binds it to that customer (Redis `<prefix>:owner:<sender>`),
and from then on every message and outbox read for that sender must carry a token of the same
customer. An anonymous conversation stays open until someone logs in inside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from connectors.common import redis_client, redis_key

# A bound conversation stays bound this long after its last verified message.
OWNER_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Refusal:
    """Why a request for a conversation is refused: HTTP status and a message for the caller."""

    status: int
    error: str


NEEDS_TOKEN = Refusal(401, "this conversation belongs to a logged-in customer: send that customer's token")
OTHER_CUSTOMER = Refusal(403, "this conversation belongs to another customer")


def owner_key(sender_id: str) -> str:
    return redis_key("owner", sender_id)


async def check_owner(sender_id: str, customer_id: Optional[str]) -> Optional[Refusal]:
    """None when `customer_id` (None = anonymous) may use the conversation, else the refusal.

    A verified customer on an unbound conversation binds it (atomically: two customers racing
    for one sender id cannot both win)."""
    redis = redis_client()
    key = owner_key(sender_id)
    if customer_id is None:
        return NEEDS_TOKEN if await redis.exists(key) else None
    if await redis.set(key, customer_id, nx=True, ex=OWNER_TTL_SECONDS):
        return None
    owner = await redis.get(key)
    if owner is not None and owner != customer_id:
        return OTHER_CUSTOMER
    await redis.expire(key, OWNER_TTL_SECONDS)
    return None
