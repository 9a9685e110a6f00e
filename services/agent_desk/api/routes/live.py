"""Live updates over a WebSocket: GET /api/live (upgrade).

Authentication: either an `Authorization: Bearer <agent token>` header on the upgrade request
(non-browser clients), or - what the console does, so the token never appears in a URL or log -
a first message `{"type": "auth", "token": "<agent token>"}` within 5 seconds. Anything else
closes the socket with code 4401. The server then sends `{"type": "ready", "agent": {...}}`
followed by the events published on `<prefix>:handoff:events` (see README), and closes with
4401 when the token expires. Clients may send `{"type": "ping"}` (answered by `pong`), which
also keeps the agent's presence alive.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Optional

import jwt
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from services.agent_desk.api.deps import load_agent
from services.agent_desk.errors import DeskError
from services.agent_desk.security import bearer_token
from services.agent_desk.service import Actor
from services.agent_desk.visibility import visible_event

router = APIRouter(tags=["live"])

AUTH_TIMEOUT_SECONDS = 5.0
CLOSE_UNAUTHORIZED = 4401


def _authenticate(app, token: Optional[str]):
    with app.state.session_factory() as session:
        agent = load_agent(session, app.state.settings, token)
        session.expunge(agent)
        return agent


def _token_expiry(token: str) -> float:
    try:
        return float(jwt.decode(token, options={"verify_signature": False}).get("exp", 0))
    except jwt.PyJWTError:
        return 0.0


@router.websocket("/api/live")
async def live_updates(websocket: WebSocket) -> None:
    app = websocket.app
    token = bearer_token(websocket.headers.get("authorization"))
    await websocket.accept()
    try:
        if token is None:
            first = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_SECONDS)
            message = json.loads(first)
            token = message.get("token") if isinstance(message, dict) and message.get("type") == "auth" else None
        agent = await asyncio.to_thread(_authenticate, app, token)
    except (asyncio.TimeoutError, ValueError, DeskError, WebSocketDisconnect):
        try:
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized")
        except RuntimeError:
            pass
        return

    live = app.state.live
    hub = app.state.hub
    await asyncio.to_thread(live.touch_presence, agent)
    queue = hub.subscribe()
    expires_in = max(0.0, _token_expiry(token) - time.time())
    await websocket.send_json({"type": "ready", "agent": {"username": agent.username,
                                                          "display_name": agent.display_name, "role": agent.role}})

    viewer = Actor.of(agent)

    async def forward() -> None:
        while True:
            data = await queue.get()
            try:
                event = json.loads(data)
            except ValueError:
                continue
            await websocket.send_text(json.dumps(visible_event(event, viewer), ensure_ascii=False))

    async def receive() -> None:
        while True:
            text = await websocket.receive_text()
            try:
                kind = json.loads(text).get("type")
            except (ValueError, AttributeError):
                continue
            if kind == "ping":
                await asyncio.to_thread(live.touch_presence, agent)
                await websocket.send_json({"type": "pong"})

    async def heartbeat() -> None:
        interval = max(1.0, app.state.settings.presence_ttl_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(live.touch_presence, agent)

    tasks = [asyncio.create_task(c) for c in (forward(), receive(), heartbeat())]
    try:
        done, _ = await asyncio.wait(tasks, timeout=expires_in, return_when=asyncio.FIRST_COMPLETED)
        if not done:  # token expired while connected
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason="token expired")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        hub.unsubscribe(queue)
