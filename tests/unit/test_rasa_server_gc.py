"""Guard 4 of bot/rasa_server.py: once the agent is loaded, its objects leave the garbage
collector's scans, so full collections no longer stall the event loop for half a second."""
from __future__ import annotations

import asyncio
import gc
from typing import Iterator

import pytest

from bot import rasa_server


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_rasa_app_freezes_the_model_after_the_server_starts() -> None:
    rasa_server.install()
    import rasa.core.run

    app = rasa.core.run.configure_app(enable_api=False)
    # Sanic 21.12 keeps after_server_start listeners as "server.init.after" signals until it starts.
    after_start = [s.handler.keywords.get("listener") for s in app._future_signals
                   if s.event == "server.init.after" and hasattr(s.handler, "keywords")]
    assert rasa_server._freeze_loaded_model in after_start


def test_frozen_objects_are_no_longer_scanned_by_full_collections(unfrozen: None) -> None:
    model_like = [{"weights": [float(i)] * 3} for i in range(50_000)]  # long-lived, gc-tracked
    scanned_before = len(gc.get_objects())

    asyncio.run(rasa_server._freeze_loaded_model(None, None))

    assert gc.get_freeze_count() >= len(model_like)
    assert len(gc.get_objects()) < scanned_before - len(model_like)
    assert all(item["weights"] for item in model_like[:10])  # frozen, not freed
