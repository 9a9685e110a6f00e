"""bot/connection_spread.py: a keep-alive connection is closed after REQUESTS_PER_CONNECTION replies,
and only with several workers."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from bot import connection_spread


def request_on(connection: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(conn_info=connection, stream=SimpleNamespace(keep_alive=True))


def test_the_connection_closes_after_its_last_request_and_another_is_untouched():
    first, second = SimpleNamespace(ctx=SimpleNamespace()), SimpleNamespace(ctx=SimpleNamespace())
    kept = []
    for _ in range(connection_spread.REQUESTS_PER_CONNECTION):
        request = request_on(first)
        asyncio.run(connection_spread.close_after_enough_requests(request, object()))
        kept.append(request.stream.keep_alive)
    assert kept == [True] * (connection_spread.REQUESTS_PER_CONNECTION - 1) + [False]
    other = request_on(second)
    asyncio.run(connection_spread.close_after_enough_requests(other, object()))
    assert other.stream.keep_alive is True


def test_a_request_without_connection_details_is_left_alone():
    asyncio.run(connection_spread.close_after_enough_requests(SimpleNamespace(), object()))


def test_registered_only_with_several_workers(monkeypatch):
    registered = []
    app = SimpleNamespace(register_middleware=lambda f, kind: registered.append((f, kind)))
    for workers, off, expected in (("1", "", 0), ("2", "", 1), ("2", "connection_spread", 0)):
        monkeypatch.setattr("bot.connection_spread.sanic_workers", lambda: int(workers))
        monkeypatch.setattr("bot.connection_spread.speedup_on", lambda name: name != off)
        registered.clear()
        connection_spread.register(app)
        assert len(registered) == expected
