"""A test whose tool or server is missing skips on a developer's machine but fails in CI
(CI=true): there a missing Chromium, nginx or PostgreSQL is an install step to fix."""
from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this must be installed, not skipped)")
    pytest.skip(reason)
