"""Fixtures shared by the whole suite. The running stack is started once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from tests.support.stack import RunningStack, build_stack

# Processes of the Procfile the shared stack starts (the embedded Redis is handled apart).
STACK_PROCESSES = ["core_banking", "agent_desk", "actions", "rasa"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> RunningStack:
    """Rasa, actions and the services, started from the Procfile on free ports."""
    from bot import model_cache

    model = model_cache.model_path()
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `python -m bot train` (make test does)")
    run_dir = tmp_path_factory.mktemp("run")
    running = build_stack(run_dir)
    try:
        running.start(STACK_PROCESSES)
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = PROJECT_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
