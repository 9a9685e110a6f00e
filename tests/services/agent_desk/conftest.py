"""Fixtures: a real Redis, a recording callback server and the real desk process."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from tests.services.agent_desk.harness import DeskProcess, RecordingServer, RedisForTests


@pytest.fixture(scope="session")
def redis_for_tests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisForTests]:
    server = RedisForTests(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.stop()


def _cleanup_prefix(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def desk(redis_for_tests: RedisForTests, recorder: RecordingServer,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskProcess]:
    """One desk for the session (temp SQLite, random Redis prefix); tests use fresh conversation ids."""
    run_dir = tmp_path_factory.mktemp("desk_run")
    process = DeskProcess.configure(redis_url=redis_for_tests.url, database_url=f"sqlite:///{run_dir / 'desk.db'}",
                                    callback_url=recorder.base_url, run_dir=run_dir, name="session")
    process.start()
    yield process
    process.stop()
    _cleanup_prefix(redis_for_tests.url, process.prefix)


@pytest.fixture
def make_desk(redis_for_tests: RedisForTests, recorder: RecordingServer,
              tmp_path: Path) -> Iterator[Callable[..., DeskProcess]]:
    """A private desk (own database and prefix) for tests that need an empty queue or restarts."""
    started: List[DeskProcess] = []

    def factory(database_url: str = "", **extra: str) -> DeskProcess:
        process = DeskProcess.configure(redis_url=redis_for_tests.url,
                                        database_url=database_url or f"sqlite:///{tmp_path / 'desk.db'}",
                                        callback_url=recorder.base_url, run_dir=tmp_path,
                                        name=f"private{len(started)}", **extra)
        started.append(process)
        return process.start()

    yield factory
    for process in started:
        process.stop()
        _cleanup_prefix(redis_for_tests.url, process.prefix)
