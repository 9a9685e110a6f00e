"""Request-body size limit and masked request logging (pure ASGI middleware)."""
from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.masking import mask_text
from services.core_banking.errors import PayloadTooLarge, error_response

access_logger = logging.getLogger("core_banking.access")


class BodySizeLimitMiddleware:
    """Rejects bodies above `max_bytes` with 413 before they reach validation, whether the
    client announces the size (Content-Length) or streams it chunked. Bodies are small (the
    limit is 64 KB by default), so the middleware reads the body first and replays it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"请求内容超过 {self.max_bytes // 1024} KB",
                                    f"Request body larger than {self.max_bytes // 1024} KB")
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await error_response(too_large)(scope, receive, send)
                return
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await error_response(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AccessLogMiddleware:
    """One log line per request: method, path (ids only; numbers masked anyway), status, time.
    Query strings are not logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            access_logger.info("%s %s -> %s (%.0f ms)", scope.get("method"), mask_text(scope.get("path", "")),
                               status, (time.perf_counter() - started) * 1000)


class MaskingFormatter(logging.Formatter):
    """Masks card, ID and mobile numbers in the whole formatted record, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))
