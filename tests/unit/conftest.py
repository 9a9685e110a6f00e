"""Fixtures shared by the unit tests."""
from __future__ import annotations

import pytest

from actions import knowledge


@pytest.fixture
def edited_wording(monkeypatch):
    """Replaces some fragments of the loaded wording table for one test."""
    original = knowledge.wording()

    def edit(**fragments: str) -> None:
        table = original.copy(update={"fragments": {**original.fragments, **fragments}})
        monkeypatch.setattr(knowledge, "wording", lambda: table)

    return edit
