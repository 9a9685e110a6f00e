"""The core-banking service's one settings object.

It reads the same environment names as `bot/settings.py` for the values shared with other
processes (CORE_BANKING_SERVICE_TOKEN, DATABASE_URL, RUN_DIR) plus CORE_BANKING_JWT_PRIVATE_KEY
(the key it alone signs customer tokens with) and
its own CORE_BANKING_* names. In development `python -m bot run` exports the secrets from
`.run/secrets.env`; when they are missing the service refuses to start with a clear message
(`ConfigError`) instead of running with a guessable secret.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from pydantic import BaseSettings, Field, confloat, conint

from bot.identity import InvalidKey, public_key_of
from bot.settings import PROJECT_ROOT

MIN_SECRET_LENGTH = 16


class ConfigError(RuntimeError):
    """The service is not configured well enough to start."""


class CoreBankingSettings(BaseSettings):
    # Signs customer tokens (bot/identity.py); only core banking has it.
    jwt_private_key: str = Field("", env="CORE_BANKING_JWT_PRIVATE_KEY")
    service_token: str = Field("", env="CORE_BANKING_SERVICE_TOKEN")
    # The agent desk's own identity: read-only customer overviews (/internal/desk), nothing else.
    desk_token: str = Field("", env="CORE_BANKING_DESK_TOKEN")
    # CORE_BANKING_DATABASE_URL wins over the shared DATABASE_URL (pydantic takes the first set).
    database_url: Optional[str] = Field(None, env=["CORE_BANKING_DATABASE_URL", "DATABASE_URL"])
    run_dir: Path = Field(PROJECT_ROOT / ".run", env="RUN_DIR")
    host: str = Field("127.0.0.1", env="CORE_BANKING_HOST")  # 0.0.0.0 in a container (deploy/)
    port: int = Field(8001, env="CORE_BANKING_PORT")

    token_ttl_minutes: conint(ge=1, le=24 * 60) = Field(30, env="CORE_BANKING_TOKEN_TTL_MINUTES")
    wechat_token_ttl_seconds: conint(ge=30, le=3600) = Field(300, env="CORE_BANKING_WECHAT_TOKEN_TTL_SECONDS")

    fault_latency_ms: conint(ge=0, le=60_000) = Field(0, env="CORE_BANKING_FAULT_LATENCY_MS")
    fault_error_rate: confloat(ge=0.0, le=1.0) = Field(0.0, env="CORE_BANKING_FAULT_ERROR_RATE")

    max_body_bytes: conint(ge=1024) = Field(64 * 1024, env="CORE_BANKING_MAX_BODY_BYTES")

    class Config:
        env_file = str(PROJECT_ROOT / ".env")
        env_file_encoding = "utf-8"

    @property
    def jwt_public_key(self) -> str:
        return public_key_of(self.jwt_private_key)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            # Heroku-style URLs name the scheme "postgres"; SQLAlchemy 1.4 wants "postgresql".
            if self.database_url.startswith("postgres://"):
                return "postgresql://" + self.database_url[len("postgres://"):]
            return self.database_url
        return f"sqlite:///{self.run_dir / 'core_banking.db'}"

    def check_secrets(self) -> None:
        """Raises ConfigError unless both secrets are set and long enough."""
        problems = []
        if not self.service_token:
            problems.append("CORE_BANKING_SERVICE_TOKEN is not set")
        elif len(self.service_token) < MIN_SECRET_LENGTH:
            problems.append(f"CORE_BANKING_SERVICE_TOKEN is shorter than {MIN_SECRET_LENGTH} characters")
        if not self.jwt_private_key:
            problems.append("CORE_BANKING_JWT_PRIVATE_KEY is not set")
        else:
            try:
                public_key_of(self.jwt_private_key)
            except InvalidKey as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigError(
                "core banking cannot start: " + "; ".join(problems) + ". "
                "Start everything with `python -m bot run` (it exports the development secrets "
                "from .run/secrets.env), or export them yourself, e.g. "
                "`set -a; . .run/secrets.env; set +a`."
            )


@lru_cache(maxsize=1)
def get_settings() -> CoreBankingSettings:
    return CoreBankingSettings()
