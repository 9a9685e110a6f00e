"""Who may use what: content users reach the content studio only, agents the console only,
supervisors both; and a content user never shows as an agent who can take handoffs."""
from __future__ import annotations

import asyncio
import json
from typing import Iterator, Tuple

import pytest
import requests
import websockets

from tests.services.agent_desk.harness import DeskProcess

SIGN_IN_ROUTES = {"/api/auth/login", "/api/auth/me", "/api/auth/logout"}


def _api_routes(desk: DeskProcess) -> Iterator[Tuple[str, str]]:
    spec = requests.get(desk.url + "/openapi.json", timeout=10).json()
    for path, methods in spec["paths"].items():
        if path.startswith("/api/") and path not in SIGN_IN_ROUTES:
            for method in methods:
                yield method.upper(), path


def _call(desk: DeskProcess, method: str, path: str, username: str) -> requests.Response:
    concrete = path.replace("{handoff_id}", "x").replace("{delivery_id}", "1").replace("{task_id}", "1")
    return requests.request(method, desk.url + concrete, headers=desk.agent_headers(username), json={}, timeout=30)


def test_a_content_user_signs_in_and_reaches_only_the_studio(desk: DeskProcess) -> None:
    me = desk.get("/api/auth/me", username="content1")
    assert me.status_code == 200 and me.json()["role"] == "content"
    console = [(m, p) for m, p in _api_routes(desk) if not p.startswith("/api/studio")]
    assert len(console) >= 14
    for method, path in console:
        r = _call(desk, method, path, "content1")
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert desk.get("/api/studio/history", username="content1").status_code == 200


def test_agents_are_refused_by_every_studio_route_and_supervisors_are_let_in(desk: DeskProcess) -> None:
    studio = [(m, p) for m, p in _api_routes(desk) if p.startswith("/api/studio")]
    assert len(studio) >= 3
    for method, path in studio:
        r = _call(desk, method, path, "agent1")
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    assert desk.get("/api/studio/history", username="supervisor1").status_code == 200


def test_a_content_user_is_not_an_agent_on_duty(desk: DeskProcess) -> None:
    desk.token("content1")  # signing in does not make them "online" for handoffs
    online = desk.get("/api/agents/online", username="supervisor1").json()
    assert "content1" not in json.dumps(online)

    async def attempt() -> int:
        async with websockets.connect(desk.url.replace("http", "ws") + "/api/live") as ws:
            await ws.send(json.dumps({"type": "auth", "token": desk.token("content1")}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            return closed.value.code

    assert asyncio.run(attempt()) == 4401
