"""Demo customers' tokens for the end-to-end tests, from a real core-banking login."""
import pytest

from tests.support.conversation import login


@pytest.fixture(scope="module")
def tokens(stack):
    return {cid: login(stack, cid) for cid in ("C1001", "C1002", "C1003")}
