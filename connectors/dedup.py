"""Exactly-once processing of WeChat callbacks that WeChat may deliver up to 3 times.

Each message id gets one Redis key `<prefix>:wechat:dedup:<id>` (SET NX with a TTL):

  processing  the first delivery claimed it and is working on it
  retried     a retry arrived while the first delivery was still working: WeChat has given
              up on the first HTTP connection, so its answer must go out through the
              customer-service API instead of the (now dead) passive reply
  done        answered

Only the first delivery reaches the bot; retries are answered with `success` at once.
"""
from __future__ import annotations

from connectors.common import redis_client, redis_key

PROCESSING, RETRIED, DONE = "processing", "retried", "done"

_MARK_RETRY = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
"""
_FINISH = """
local old = redis.call('GET', KEYS[1])
if old then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
return old
"""


def dedup_key(message_id: str) -> str:
    return redis_key("wechat", "dedup", message_id)


async def claim(message_id: str, ttl_seconds: int) -> bool:
    """True for the first delivery of this message id, False for retries."""
    return bool(await redis_client().set(dedup_key(message_id), PROCESSING, nx=True, ex=ttl_seconds))


async def mark_retry(message_id: str) -> bool:
    """Records that a retry arrived while the first delivery is still processing."""
    return bool(await redis_client().eval(_MARK_RETRY, 1, dedup_key(message_id), PROCESSING, RETRIED))


async def finish(message_id: str) -> str:
    """Marks the message answered; returns the previous state (RETRIED means: answer via API)."""
    return (await redis_client().eval(_FINISH, 1, dedup_key(message_id), DONE)) or ""
