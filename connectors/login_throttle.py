"""Failed logins through the app channel's `/login` proxy, counted per client address.

The demo page's `/login` forwards a username and password to core banking; without a limit
it is a free password-guessing oracle. Each failed attempt increments
`<prefix>:app:login_failures:<address>` (expires `window_seconds` after the first failure of
the window); at `max_failures` the address is refused (429) until the window ends, before core
banking is asked. A success clears the counter. Redis down: logins are not throttled (and the
failure is logged), because core banking's own checks still apply.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from connectors.common import redis_client, redis_key

logger = logging.getLogger(__name__)

DEFAULT_MAX_FAILURES = 10
DEFAULT_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class LoginThrottle:
    max_failures: int = DEFAULT_MAX_FAILURES
    window_seconds: int = DEFAULT_WINDOW_SECONDS

    @staticmethod
    def key(address: str) -> str:
        return redis_key("app", "login_failures", address or "unknown")

    async def blocked(self, address: str) -> bool:
        try:
            count = await redis_client().get(self.key(address))
        except aioredis.RedisError as exc:
            logger.warning("login throttle not checked: %s", exc)
            return False
        return count is not None and int(count) >= self.max_failures

    async def failed(self, address: str) -> None:
        key = self.key(address)
        try:
            async with redis_client().pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=self.window_seconds, nx=True)  # the window starts at the first failure
                pipe.incr(key)
                await pipe.execute()
        except aioredis.RedisError as exc:
            logger.warning("login failure not counted: %s", exc)

    async def succeeded(self, address: str) -> None:
        try:
            await redis_client().delete(self.key(address))
        except aioredis.RedisError as exc:
            logger.warning("login throttle not cleared: %s", exc)
