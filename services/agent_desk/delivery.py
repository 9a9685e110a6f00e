"""Delivery of agent replies and close events to the bot side (transactional outbox + worker).

The desk POSTs `{base}/agent_message` and `{base}/closed` (base = AGENT_DESK_BOT_CALLBACK_URL,
default ${RASA_URL}/webhooks/handoff) with `Authorization: Bearer <AGENT_DESK_SERVICE_TOKEN>` and
`Idempotency-Key: delivery-<id>`. Connection errors, timeouts, 408, 429 and 5xx are retried
(AGENT_DESK_CALLBACK_MAX_ATTEMPTS attempts, exponential backoff); other 4xx fail at once. The
outcome is stored on the outbox row, shown in the transcript and pushed as a `delivery` event.
Rows still pending when the process stops are delivered after the next start.

The sender is injectable (`create_app(sender=...)`), and tests point the real one at a local
recording server through AGENT_DESK_BOT_CALLBACK_URL.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional, Protocol, Set

import aiohttp
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.agent_desk.models import AuditEvent, Delivery, Handoff

log = logging.getLogger(__name__)

CALLBACK_KINDS = ("agent_message", "closed")


class DeliveryFailed(Exception):
    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class CallbackSender(Protocol):
    async def send(self, kind: str, payload: Dict[str, Any], idempotency_key: str) -> None:
        """Delivers one callback or raises DeliveryFailed."""


class HttpCallbackSender:
    def __init__(self, base_url: str, service_token: str, timeout_seconds: float):
        self.base_url = base_url.rstrip("/")
        self.service_token = service_token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: Optional[aiohttp.ClientSession] = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send(self, kind: str, payload: Dict[str, Any], idempotency_key: str) -> None:
        if kind not in CALLBACK_KINDS:
            raise DeliveryFailed(f"unknown callback kind {kind}", retryable=False)
        headers = {"Authorization": f"Bearer {self.service_token}", "Idempotency-Key": idempotency_key}
        client = await self._client()
        try:
            async with client.post(f"{self.base_url}/{kind}", json=payload, headers=headers) as response:
                if 200 <= response.status < 300:
                    return
                retryable = response.status >= 500 or response.status in (408, 429)
                raise DeliveryFailed(f"HTTP {response.status}", retryable=retryable)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class DeliveryWorker:
    """Delivers outbox rows in order per handoff; one asyncio task per handoff with pending rows."""

    def __init__(self, session_factory: sessionmaker, sender: CallbackSender,
                 publish: Callable[..., None], max_attempts: int, backoff_seconds: float):
        self.session_factory = session_factory
        self.sender = sender
        self.publish = publish
        self.max_attempts = max(1, max_attempts)
        self.backoff_seconds = backoff_seconds
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._tasks: Dict[str, asyncio.Task] = {}
        self._again: Set[str] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for handoff_id in await asyncio.to_thread(self._handoffs_with_pending):
            self._ensure_task(handoff_id)

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        close = getattr(self.sender, "close", None)
        if close:
            await close()

    def kick(self, handoff_id: str) -> None:
        """Thread-safe: called from request handlers after the outbox row is committed."""
        if self._loop is None:
            return  # not started (e.g. CLI use): rows stay pending and go out on the next start
        self._loop.call_soon_threadsafe(self._ensure_task, handoff_id)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.sleep(0.05)

    def _ensure_task(self, handoff_id: str) -> None:
        task = self._tasks.get(handoff_id)
        if task is not None and not task.done():
            self._again.add(handoff_id)
            return
        self._tasks[handoff_id] = asyncio.create_task(self._drain(handoff_id))

    async def _drain(self, handoff_id: str) -> None:
        try:
            while True:
                self._again.discard(handoff_id)
                row_id = await asyncio.to_thread(self._next_pending, handoff_id)
                if row_id is None:
                    if handoff_id in self._again:
                        continue
                    return
                await self._deliver(row_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one bad row kill the worker silently
            log.exception("delivery worker for handoff %s failed", handoff_id)
        finally:
            if self._tasks.get(handoff_id) is asyncio.current_task():
                del self._tasks[handoff_id]

    async def _deliver(self, row_id: int) -> None:
        kind, payload, handoff_id, attempts_done = await asyncio.to_thread(self._load, row_id)
        error = ""
        for attempt in range(self.max_attempts):
            try:
                await self.sender.send(kind, payload, f"delivery-{row_id}")
            except DeliveryFailed as exc:
                error = str(exc)
                await asyncio.to_thread(self._record_attempt, row_id, error, None)
                log.warning("callback %s #%d attempt %d failed: %s", kind, row_id, attempts_done + attempt + 1, error)
                if not exc.retryable or attempt == self.max_attempts - 1:
                    break
                await asyncio.sleep(self.backoff_seconds * (2 ** attempt))
            else:
                await asyncio.to_thread(self._record_attempt, row_id, None, "delivered")
                await asyncio.to_thread(self.publish, "delivery", None, handoff_id=handoff_id,
                                        delivery_id=row_id, kind=kind, delivery_status="delivered",
                                        message_id=payload.get("message_id"))
                return
        await asyncio.to_thread(self._record_attempt, row_id, error, "failed")
        await asyncio.to_thread(self.publish, "delivery", None, handoff_id=handoff_id, delivery_id=row_id,
                                kind=kind, delivery_status="failed", message_id=payload.get("message_id"))

    # -- blocking DB helpers (run in threads) ------------------------------------------------
    def _handoffs_with_pending(self):
        with self.session_factory() as session:
            return list(session.execute(
                select(Delivery.handoff_id).where(Delivery.status == "pending").distinct()).scalars())

    def _next_pending(self, handoff_id: str) -> Optional[int]:
        with self.session_factory() as session:
            return session.execute(
                select(Delivery.id).where(Delivery.handoff_id == handoff_id, Delivery.status == "pending")
                .order_by(Delivery.id).limit(1)).scalar()

    def _load(self, row_id: int):
        with self.session_factory() as session:
            row = session.get(Delivery, row_id)
            return row.kind, row.payload, row.handoff_id, row.attempts

    def _record_attempt(self, row_id: int, error: Optional[str], final: Optional[str]) -> None:
        with self.session_factory() as session:
            row = session.get(Delivery, row_id)
            if final is None:
                row.attempts += 1
                row.last_error = error
            else:
                row.status = final
                if final == "delivered":
                    row.attempts += 1
                    row.delivered_at = datetime.now(timezone.utc)
                else:
                    session.add(AuditEvent(actor_type="system", actor="delivery", action="delivery_failed",
                                           handoff_id=row.handoff_id,
                                           detail={"delivery_id": row.id, "kind": row.kind, "error": error}))
            session.commit()


def handoff_callback_base(handoff: Handoff) -> Dict[str, Any]:
    return {"handoff_id": handoff.id, "conversation_id": handoff.conversation_id, "channel": handoff.channel}
