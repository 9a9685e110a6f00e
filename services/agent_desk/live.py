"""Live state in Redis: a projection of the SQL record that can be rebuilt from it at any time.

Keys (P = `<REDIS_KEY_PREFIX>:handoff`; all documented in services/agent_desk/README.md):
  P:queue:<queue>            ZSET  waiting handoff ids; score = (9 - priority) * 1e13 + waiting_since ms
  P:claim:<handoff_id>       STR   username of the agent handling it
  P:agent:<username>:active  SET   handoff ids an agent is handling
  P:conv:<conversation_id>   STR   id of the conversation's open handoff (waiting or active)
  P:state:<handoff_id>       HASH  status, queue, conversation_id, channel, claimed_by, priority
  P:handling_seconds         LIST  claim-to-close durations of recent handoffs (newest first)
  P:presence:<username>      STR   JSON {username, display_name, role, seen}, TTL = presence TTL
  P:viewed:<id>:<username>   STR   throttles "viewed" audit entries (TTL 300 s)
  P:login_failures:<user>:<address>  STR  failed logins of one username from one address (TTL = lock time)
  P:meta:built_at            STR   when the projection was last rebuilt from SQL
  P:events                   pub/sub channel of live events (JSON)

If a write fails (Redis down) the projection is marked dirty; the watchdog in main.py rebuilds
it from SQL once Redis answers again, and whenever P:meta:built_at is missing (Redis flushed or
restarted without persistence).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time as _time
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Set

import redis
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.agent_desk.models import Agent, Handoff
from services.agent_desk.scheduling import HANDLING_SAMPLES

log = logging.getLogger(__name__)

MAX_PRIORITY = 9
# Keys that are not part of the SQL projection: never deleted by a rebuild.
_EPHEMERAL = (":presence:", ":login_failures:", ":viewed:")


def queue_score(priority: int, waiting_since: datetime) -> float:
    """Lower score = served first: higher priority, then longer waiting."""
    return float((MAX_PRIORITY - priority) * 10 ** 13 + int(waiting_since.timestamp() * 1000))


class LiveKeys:
    def __init__(self, prefix: str):
        self.base = f"{prefix}:handoff"

    def queue(self, name: str) -> str:
        return f"{self.base}:queue:{name}"

    def claim(self, handoff_id: str) -> str:
        return f"{self.base}:claim:{handoff_id}"

    def agent_active(self, username: str) -> str:
        return f"{self.base}:agent:{username}:active"

    def conv(self, conversation_id: str) -> str:
        return f"{self.base}:conv:{conversation_id}"

    def state(self, handoff_id: str) -> str:
        return f"{self.base}:state:{handoff_id}"

    def presence(self, username: str) -> str:
        return f"{self.base}:presence:{username}"

    def viewed(self, handoff_id: str, username: str) -> str:
        return f"{self.base}:viewed:{handoff_id}:{username}"

    def login_failures(self, username: str, source: str) -> str:
        return f"{self.base}:login_failures:{username}:{source}"

    @property
    def handling(self) -> str:
        return f"{self.base}:handling_seconds"

    @property
    def built(self) -> str:
        return f"{self.base}:meta:built_at"

    @property
    def events(self) -> str:
        return f"{self.base}:events"


class LiveState:
    """Synchronous access (used from request handlers running in the thread pool)."""

    def __init__(self, client: redis.Redis, prefix: str, queues: Iterable[str], presence_ttl: int):
        self.client = client
        self.keys = LiveKeys(prefix)
        self.queues = list(queues)
        self.presence_ttl = presence_ttl
        self.dirty = False

    # -- projection ------------------------------------------------------------------
    def _write(self, pipe: "redis.client.Pipeline", h: Handoff) -> None:
        k = self.keys
        for name in set(self.queues) | {h.queue}:
            pipe.zrem(k.queue(name), h.id)
        if h.status == "closed":
            pipe.delete(k.claim(h.id), k.state(h.id))
            if h.claimed_by:
                pipe.srem(k.agent_active(h.claimed_by), h.id)
            # only drop the conversation pointer if it still points at this handoff
            pipe.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                      1, k.conv(h.conversation_id), h.id)
            return
        pipe.set(k.conv(h.conversation_id), h.id)
        pipe.hset(k.state(h.id), mapping={
            "status": h.status, "queue": h.queue, "conversation_id": h.conversation_id,
            "channel": h.channel, "claimed_by": h.claimed_by or "", "priority": h.priority})
        if h.status == "waiting":
            pipe.zadd(k.queue(h.queue), {h.id: queue_score(h.priority, h.waiting_since)})
            pipe.delete(k.claim(h.id))
        else:
            pipe.set(k.claim(h.id), h.claimed_by or "")
            pipe.sadd(k.agent_active(h.claimed_by or ""), h.id)

    def project(self, handoff: Handoff, previous_agent: Optional[str] = None) -> None:
        """Mirrors one handoff's SQL state into Redis (after the SQL commit)."""
        try:
            with self.client.pipeline(transaction=True) as pipe:
                if previous_agent and previous_agent != handoff.claimed_by:
                    pipe.srem(self.keys.agent_active(previous_agent), handoff.id)
                self._write(pipe, handoff)
                pipe.execute()
        except redis.RedisError as exc:
            self._failed("project", exc)

    def record_handling(self, seconds: float) -> None:
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.lpush(self.keys.handling, round(seconds, 3))
                pipe.ltrim(self.keys.handling, 0, HANDLING_SAMPLES - 1)
                pipe.execute()
        except redis.RedisError as exc:
            self._failed("record_handling", exc)

    def rebuild(self, session: Session) -> int:
        """Replaces the whole projection with what SQL says, in one MULTI. Returns open handoffs."""
        open_handoffs = session.execute(
            select(Handoff).where(Handoff.status.in_(("waiting", "active")))).scalars().all()
        recent = session.execute(
            select(Handoff.claimed_at, Handoff.closed_at).where(
                Handoff.status == "closed", Handoff.claimed_at.isnot(None), Handoff.closed_at.isnot(None))
            .order_by(Handoff.closed_at.desc()).limit(HANDLING_SAMPLES)).all()
        stale = [key for key in self.client.scan_iter(match=f"{self.keys.base}:*", count=500)
                 if not any(part in key for part in _EPHEMERAL)]
        with self.client.pipeline(transaction=True) as pipe:
            for i in range(0, len(stale), 500):
                pipe.delete(*stale[i:i + 500])
            for h in open_handoffs:
                self._write(pipe, h)
            durations = [(closed - claimed).total_seconds() for claimed, closed in recent]
            if durations:
                pipe.rpush(self.keys.handling, *[round(d, 3) for d in durations])
            pipe.set(self.keys.built, datetime.now(timezone.utc).isoformat())
            pipe.execute()
        self.dirty = False
        log.info("live state rebuilt from SQL: %d open handoffs", len(open_handoffs))
        return len(open_handoffs)

    def needs_rebuild(self) -> bool:
        if self.dirty:
            return True
        return not self.client.exists(self.keys.built)

    # -- reads -------------------------------------------------------------------------
    def positions(self, handoffs: List[Handoff]) -> Optional[Dict[str, int]]:
        """1-based queue positions of waiting handoffs, or None if Redis cannot answer."""
        waiting = [h for h in handoffs if h.status == "waiting"]
        if not waiting:
            return {}
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for h in waiting:
                    pipe.zrank(self.keys.queue(h.queue), h.id)
                ranks = pipe.execute()
        except redis.RedisError as exc:
            self._failed("positions", exc)
            return None
        if any(rank is None for rank in ranks):
            self.dirty = True  # projection is missing entries: let the watchdog rebuild it
            return None
        return {h.id: rank + 1 for h, rank in zip(waiting, ranks)}

    def queue_lengths(self) -> Optional[Dict[str, int]]:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for name in self.queues:
                    pipe.zcard(self.keys.queue(name))
                return dict(zip(self.queues, pipe.execute()))
        except redis.RedisError as exc:
            self._failed("queue_lengths", exc)
            return None

    def handling_samples(self) -> Optional[List[float]]:
        try:
            return [float(v) for v in self.client.lrange(self.keys.handling, 0, HANDLING_SAMPLES - 1)]
        except redis.RedisError as exc:
            self._failed("handling_samples", exc)
            return None

    # -- presence, throttles -------------------------------------------------------------
    def touch_presence(self, agent: Agent) -> None:
        value = json.dumps({"username": agent.username, "display_name": agent.display_name,
                            "role": agent.role, "seen": int(_time.time())}, ensure_ascii=False)
        try:
            self.client.set(self.keys.presence(agent.username), value, ex=self.presence_ttl)
        except redis.RedisError as exc:
            log.warning("presence update failed: %s", exc)

    def drop_presence(self, username: str) -> None:
        try:
            self.client.delete(self.keys.presence(username))
        except redis.RedisError as exc:
            log.warning("presence delete failed: %s", exc)

    def online_agents(self) -> List[Dict[str, Any]]:
        try:
            keys = list(self.client.scan_iter(match=self.keys.presence("*"), count=500))
            values = self.client.mget(keys) if keys else []
        except redis.RedisError as exc:
            log.warning("presence read failed: %s", exc)
            return []
        return sorted((json.loads(v) for v in values if v), key=lambda a: a["username"])

    # Counted per username and client address: someone guessing agent1's password from their
    # own address locks only themselves out, never agent1 at their desk.
    def login_locked(self, username: str, source: str, max_failures: int) -> bool:
        try:
            value = self.client.get(self.keys.login_failures(username, source))
        except redis.RedisError:
            return False
        return value is not None and int(value) >= max_failures

    def login_failed(self, username: str, source: str, lock_seconds: int) -> None:
        key = self.keys.login_failures(username, source)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, lock_seconds)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("login failure counter not updated: %s", exc)

    def login_succeeded(self, username: str, source: str) -> None:
        try:
            self.client.delete(self.keys.login_failures(username, source))
        except redis.RedisError:
            pass

    # -- events --------------------------------------------------------------------------
    def publish(self, event_type: str, handoff: Optional[Handoff] = None, **data: Any) -> None:
        event: Dict[str, Any] = {"type": event_type, "at": datetime.now(timezone.utc).isoformat()}
        if handoff is not None:
            event.update({"handoff_id": handoff.id, "conversation_id": handoff.conversation_id,
                          "status": handoff.status, "queue": handoff.queue, "claimed_by": handoff.claimed_by,
                          "closed_by": handoff.closed_by})
        event.update(data)
        try:
            self.client.publish(self.keys.events, json.dumps(event, ensure_ascii=False, default=str))
        except redis.RedisError as exc:
            log.warning("live event %s not published: %s", event_type, exc)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def _failed(self, what: str, exc: Exception) -> None:
        self.dirty = True
        log.warning("live state %s failed (will rebuild from SQL): %s", what, exc)


class EventHub:
    """One Redis subscription per process, fanned out to this process's WebSocket clients."""

    def __init__(self, url: str, channel: str):
        self.url = url
        self.channel = channel
        self._subscribers: Set[asyncio.Queue] = set()
        self._task: Optional[asyncio.Task] = None
        self.ready = asyncio.Event()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run(self) -> None:
        delay = 0.5
        while True:
            client = aioredis.from_url(self.url, decode_responses=True)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.ready.set()
                    delay = 0.5
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message and message.get("type") == "message":
                            self._fan_out(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis gone: clients keep their sockets, we resubscribe
                self.ready.clear()
                log.warning("live event subscription lost (%s); retrying in %.1fs", exc, delay)
                self._fan_out(json.dumps({"type": "resync"}))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                await client.close()

    def _fan_out(self, data: str) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(data)
            except asyncio.QueueFull:  # a stuck client: tell it to reload instead of blocking others
                self._subscribers.discard(queue)
