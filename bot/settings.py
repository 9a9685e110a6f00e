"""One settings object for every process of the project.

Values come from the environment (and an optional `.env` file in the project root);
`python -m bot run` fills in generated development secrets from `.run/secrets.env`.
Every process (Rasa, action server, connectors, services) reads the same names, so an
operator configures the system in one place.
"""
from __future__ import annotations

import re

from functools import lru_cache
from pathlib import Path
from typing import List, Optional

from pydantic import BaseSettings, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = PROJECT_ROOT / ".run"
MODELS_DIR = PROJECT_ROOT / "models"

# All Redis keys written by this project start with this prefix (see docs/architecture.md).
REDIS_KEY_PREFIX = "csbot"


class Settings(BaseSettings):
    redis_url: Optional[str] = Field(None, description="redis://host:port/db; unset = embedded Redis")
    embedded_redis_port: int = 6390

    rasa_port: int = 5005
    rasa_token: str = Field("", description="token for Rasa's HTTP API (generated for development)")
    allowed_origins: str = Field("", description="space-separated origins that may call Rasa from a browser "
                                 "(CORS) and open the app's socket.io; empty = Rasa's own address")
    rest_channel_token: str = Field("", description="when set, the REST channel needs `Authorization: Bearer <it>`")
    action_port: int = 5055
    action_server_url: str = "http://127.0.0.1:5055/webhook"

    core_banking_url: str = "http://127.0.0.1:8001"
    core_banking_port: int = 8001
    core_banking_service_token: str = ""
    core_banking_jwt_public_key: str = Field("", description="verifies customer tokens (bot/identity.py)")
    core_banking_timeout_seconds: float = 2.5

    agent_desk_url: str = "http://127.0.0.1:8002"
    agent_desk_port: int = 8002
    agent_desk_service_token: str = ""
    agent_desk_jwt_secret: str = ""

    database_url: Optional[str] = Field(None, description="SQLAlchemy URL; unset = SQLite under .run/")

    # Read by Rasa itself (its Sanic workers); `python -m bot run` sets it to the number of
    # cores (bot/stack.py). A string: Rasa falls back to one worker on a bad value, so do we.
    sanic_workers: str = Field("", description="Rasa's Sanic workers; unset = 1 (Rasa's default)")
    rasa_worker_header: bool = Field(False, description="tests: Rasa answers with `X-Rasa-Worker: <pid>`")
    rasa_speedups_off: str = Field("", description="speed-ups of bot/rasa_server.py to leave out, separated by "
                                   "`,` or `+` (e.g. rules_first, or all), to measure them side by side "
                                   "(docs/performance.md)")

    class Config:
        env_file = str(PROJECT_ROOT / ".env")
        env_file_encoding = "utf-8"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def own_origins(rasa_port: int) -> List[str]:
    """Where the demo chat page is served from: Rasa itself."""
    return [f"http://localhost:{rasa_port}", f"http://127.0.0.1:{rasa_port}"]


def allowed_origins(settings: Optional[Settings] = None) -> List[str]:
    """The browser origins allowed to talk to Rasa (ALLOWED_ORIGINS); `*` is never allowed."""
    settings = settings or get_settings()
    origins = settings.allowed_origins.split() or own_origins(settings.rasa_port)
    if "*" in origins:
        raise ValueError("ALLOWED_ORIGINS may not contain '*': list the origins the chat page is served from")
    return origins


def speedup_on(name: str, settings: Optional[Settings] = None) -> bool:
    """A speed-up of the Rasa server is on unless RASA_SPEEDUPS_OFF names it (or says `all`)."""
    # `+` as well as `,`: bench/load.py's --variant separates its variables with commas
    off = {part.strip() for part in re.split(r"[,+]", (settings or get_settings()).rasa_speedups_off)}
    return name not in off and "all" not in off


def sanic_workers(settings: Optional[Settings] = None) -> int:
    """How many Sanic workers Rasa runs (SANIC_WORKERS, as rasa.core.utils reads it)."""
    value = (settings or get_settings()).sanic_workers.strip()
    try:
        return max(1, int(value)) if value else 1
    except ValueError:
        return 1
