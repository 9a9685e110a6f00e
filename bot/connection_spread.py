"""Keep-alive connections closed after a number of requests, so they spread over the workers again.

With several Sanic workers (SANIC_WORKERS) the workers share one listening socket and a new
connection goes to whichever worker accepts it first. A client that keeps its connections
alive (the load bench, an nginx in front with upstream keep-alive, a busy WeChat gateway)
keeps the split it got when it connected: in the load bench ten connections split 6/4 and the
worker with six was the bottleneck while the other had CPU to spare (answered turns per worker
1916 / 1154 in one run). Like nginx's `keepalive_requests`, a connection is closed (`Connection:
close` on its response) after REQUESTS_PER_CONNECTION requests; the client connects again and
the worker with the shorter queue, back in its event loop sooner, tends to accept it. The
reply itself is complete: only the connection's reuse ends.

Only with more than one worker. RASA_SPEEDUPS_OFF=connection_spread leaves it out.
"""
from __future__ import annotations

from typing import Any

from bot.settings import sanic_workers, speedup_on

# A reconnection (TCP handshake) every 50 requests costs ~2 % of one request's CPU.
REQUESTS_PER_CONNECTION = 50


async def close_after_enough_requests(request: Any, response: Any) -> None:
    info, stream = getattr(request, "conn_info", None), getattr(request, "stream", None)
    if info is None or stream is None:
        return
    served = getattr(info.ctx, "bank_requests", 0) + 1
    info.ctx.bank_requests = served
    if served >= REQUESTS_PER_CONNECTION:
        stream.keep_alive = False  # Sanic then answers `Connection: close` and closes after the reply


def register(app: Any) -> None:
    if sanic_workers() > 1 and speedup_on("connection_spread"):
        app.register_middleware(close_after_enough_requests, "response")
