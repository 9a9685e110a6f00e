"""python-socketio's AsyncClient over the websocket transport, as the app's clients connect.

python-engineio 4.x builds its websocket options with `aiohttp.ClientWSTimeout` (aiohttp >=
3.10); Rasa pins aiohttp 3.9, whose `ws_connect(timeout=...)` takes the close timeout as a
number. `websocket_client()` supplies that one name when it is missing (the same value
python-engineio means: the close timeout) and returns a client that connects with
`transports=["websocket"]` only, so it never needs a sticky long-polling session."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import socketio

SOCKETIO_PATH = "/webhooks/app/socket.io"


def _aiohttp_39_close_timeout(ws_receive: Optional[float] = None, ws_close: Optional[float] = None) -> float:
    return 10.0 if ws_close is None else ws_close


if not hasattr(aiohttp, "ClientWSTimeout"):
    aiohttp.ClientWSTimeout = _aiohttp_39_close_timeout  # type: ignore[attr-defined]


class CustomerSocket:
    """One customer's socket.io connection (websocket transport); collects what it receives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: "asyncio.Queue[Tuple[str, Any]]" = asyncio.Queue()
        for event in ("session_confirm", "bot_uttered", "error"):
            self.client.on(event, self._collector(event))

    def _collector(self, event: str):
        async def collect(data: Any = None) -> None:
            await self.received.put((event, data))
        return collect

    async def connect(self, base_url: str, token: str, headers: Optional[Dict[str, str]] = None) -> "CustomerSocket":
        await self.client.connect(base_url, socketio_path=SOCKETIO_PATH, auth={"token": token},
                                  transports=["websocket"], headers=headers or {}, wait_timeout=10)
        return self

    async def next_event(self, name: str, timeout: float = 20) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            event, data = await asyncio.wait_for(self.received.get(), max(left, 0.01))
            if event == name:
                return data

    async def texts_until(self, wanted: List[str], timeout: float = 10) -> List[str]:
        """The texts of `bot_uttered` events until every text in `wanted` came (or timeout)."""
        got: List[str] = []
        try:
            while not set(wanted) <= set(got):
                got.append((await self.next_event("bot_uttered", timeout)).get("text"))
        except asyncio.TimeoutError:
            pass
        return got

    async def close(self) -> None:
        await self.client.disconnect()
