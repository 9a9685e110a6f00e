from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "uses_model: needs the trained Rasa model (trained once via "
                            "bot.model_cache.ensure_trained(), then reused)")


def real_nlu_files():
    return sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml"))


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
