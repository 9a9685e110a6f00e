"""bot/action_session.py: while the server runs, Rasa's calls to the action server share one
kept-alive connection pool per worker; otherwise (and after it stops) Rasa's own behaviour."""
from __future__ import annotations

import asyncio
from typing import List

from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from bot import action_session


async def _serve_and_call(calls: int, pooled: bool) -> List[int]:
    """Answers `calls` POSTs through EndpointConfig.request; returns the client port of each."""
    ports: List[int] = []

    async def webhook(request: web.Request) -> web.Response:
        ports.append(request.transport.get_extra_info("peername")[1])
        return web.json_response({"events": [], "responses": [], "echo": await request.json()})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
    try:
        if pooled:
            await action_session.open_pools(None, None)
        for number in range(calls):
            answer = await endpoint.request(json={"next_action": f"action_{number}"}, method="post")
            assert answer["echo"] == {"next_action": f"action_{number}"}  # the same request, the same answer
    finally:
        if pooled:
            await action_session.close_pools(None, None)
        await runner.cleanup()
    return ports


def test_calls_share_one_connection_while_the_server_runs():
    ports = asyncio.run(_serve_and_call(5, pooled=True))
    assert len(ports) == 5 and len(set(ports)) == 1


def test_rasas_own_behaviour_outside_a_running_server_and_after_it_stops():
    assert len(set(asyncio.run(_serve_and_call(3, pooled=False)))) == 3  # a connection per call
    asyncio.run(_serve_and_call(2, pooled=True))
    assert EndpointConfig.session is action_session._stock_session and not action_session._sessions
