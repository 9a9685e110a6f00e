"""The agent desk's one settings object.

Names shared with the rest of the project (REDIS_URL, REDIS_KEY_PREFIX, DATABASE_URL, RUN_DIR,
RASA_URL, AGENT_DESK_JWT_SECRET, AGENT_DESK_SERVICE_TOKEN) are read under the same names as in
bot/settings.py; desk-only options are AGENT_DESK_*.
"""
from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

from pydantic import BaseSettings, Field, validator

from bot.settings import PROJECT_ROOT, REDIS_KEY_PREFIX, RUN_DIR

# Queues an agent can transfer to: name -> label shown in the console.
DEFAULT_QUEUES = "general:综合服务,cards:信用卡,loans:贷款,wealth:理财,complaints:投诉建议"


class DeskSettings(BaseSettings):
    host: str = Field("127.0.0.1", env="AGENT_DESK_HOST")
    port: int = Field(8002, env="AGENT_DESK_PORT")

    jwt_secret: str = Field("", env="AGENT_DESK_JWT_SECRET")
    service_token: str = Field("", env="AGENT_DESK_SERVICE_TOKEN")
    token_ttl_seconds: int = Field(8 * 3600, env="AGENT_DESK_TOKEN_TTL_SECONDS")

    redis_url: str = Field("", env="REDIS_URL", description="unset = the embedded Redis on EMBEDDED_REDIS_PORT")
    embedded_redis_port: int = Field(6390, env="EMBEDDED_REDIS_PORT")
    redis_key_prefix: str = Field(REDIS_KEY_PREFIX, env="REDIS_KEY_PREFIX")

    # AGENT_DESK_DATABASE_URL wins over the project-wide DATABASE_URL.
    database_url: str = Field("", env=["AGENT_DESK_DATABASE_URL", "DATABASE_URL"])
    run_dir: Path = Field(RUN_DIR, env="RUN_DIR")

    # The customer panel reads core banking with the desk's own, read-only identity.
    core_banking_url: str = Field("http://127.0.0.1:8001", env="CORE_BANKING_URL")
    core_banking_desk_token: str = Field("", env="CORE_BANKING_DESK_TOKEN",
                                         description="unset = the customer panel says core banking is not connected")
    core_banking_timeout_seconds: float = Field(3.0, env="AGENT_DESK_CORE_BANKING_TIMEOUT_SECONDS")

    rasa_url: str = Field("http://127.0.0.1:5005", env="RASA_URL")
    bot_callback_url: str = Field("", env="AGENT_DESK_BOT_CALLBACK_URL",
                                  description="unset = ${RASA_URL}/webhooks/handoff")
    callback_timeout_seconds: float = Field(3.0, env="AGENT_DESK_CALLBACK_TIMEOUT_SECONDS")
    callback_max_attempts: int = Field(4, env="AGENT_DESK_CALLBACK_MAX_ATTEMPTS")
    callback_backoff_seconds: float = Field(0.5, env="AGENT_DESK_CALLBACK_BACKOFF_SECONDS")

    service_hours: str = Field("08:00-22:00", env="AGENT_DESK_SERVICE_HOURS")
    timezone: str = Field("Asia/Shanghai", env="AGENT_DESK_TIMEZONE")
    default_handling_seconds: int = Field(300, env="AGENT_DESK_DEFAULT_HANDLING_SECONDS")
    queues: str = Field(DEFAULT_QUEUES, env="AGENT_DESK_QUEUES")

    presence_ttl_seconds: int = Field(60, env="AGENT_DESK_PRESENCE_TTL_SECONDS")
    live_check_seconds: float = Field(5.0, env="AGENT_DESK_LIVE_CHECK_SECONDS")
    login_max_failures: int = Field(5, env="AGENT_DESK_LOGIN_MAX_FAILURES")
    login_lock_seconds: int = Field(300, env="AGENT_DESK_LOGIN_LOCK_SECONDS")
    # Reverse proxies (comma-separated addresses, "*" = any) whose X-Forwarded-For names the
    # client; the login lock-out counts failures per username *and* client address.
    trusted_proxies: str = Field("", env="AGENT_DESK_TRUSTED_PROXIES")
    # Off unless asked for: `python -m bot run` (make run) and the tests ask for both.
    seed_demo_agents: bool = Field(False, env="AGENT_DESK_SEED_DEMO")
    expose_docs: bool = Field(False, env="AGENT_DESK_EXPOSE_DOCS")
    # /ready answers 503 while Redis is down (the desk itself keeps serving from SQL; false =
    # stay ready on SQL alone, see deploy/README.md "Probes").
    ready_requires_redis: bool = Field(True, env="AGENT_DESK_READY_REQUIRES_REDIS")

    # The content studio (studio/): the git project whose content it edits, on which branch, and
    # where its worktree, trained models and job logs live (default <RUN_DIR>/studio).
    studio_project: Path = Field(PROJECT_ROOT, env="AGENT_DESK_STUDIO_PROJECT")
    studio_branch: str = Field("content/studio", env="AGENT_DESK_STUDIO_BRANCH")
    studio_dir: Optional[Path] = Field(None, env="AGENT_DESK_STUDIO_DIR")
    # Rasa's HTTP API token (the same RASA_TOKEN Rasa is started with): the studio activates models.
    rasa_token: str = Field("", env="RASA_TOKEN")
    # Check and train (studio/training.py): the gates a new model must pass before it may be
    # activated and how long Rasa may take to load a model (PUT /model).
    studio_min_accuracy: float = Field(0.8, env="AGENT_DESK_STUDIO_MIN_ACCURACY")
    studio_max_accuracy_drop: float = Field(0.02, env="AGENT_DESK_STUDIO_MAX_ACCURACY_DROP")
    studio_min_conversation_pass_rate: float = Field(0.9, env="AGENT_DESK_STUDIO_MIN_CONVERSATION_PASS_RATE")
    studio_model_load_timeout_seconds: float = Field(300.0, env="AGENT_DESK_STUDIO_MODEL_LOAD_TIMEOUT_SECONDS")

    class Config:
        env_file = str(PROJECT_ROOT / ".env")
        env_file_encoding = "utf-8"

    @validator("redis_key_prefix")
    def _prefix_is_simple(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError("REDIS_KEY_PREFIX must be alphanumeric")
        return value

    # -- derived values ---------------------------------------------------------------
    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.run_dir) / 'agent_desk.db'}"

    @property
    def effective_studio_dir(self) -> Path:
        return Path(self.studio_dir or Path(self.run_dir) / "studio")

    @property
    def effective_callback_url(self) -> str:
        return (self.bot_callback_url or f"{self.rasa_url.rstrip('/')}/webhooks/handoff").rstrip("/")

    @property
    def queue_labels(self) -> List[Tuple[str, str]]:
        pairs = []
        for item in self.queues.split(","):
            name, _, label = item.strip().partition(":")
            if name:
                pairs.append((name.strip(), (label or name).strip()))
        return pairs

    @property
    def queue_names(self) -> List[str]:
        return [name for name, _ in self.queue_labels]

    @property
    def default_queue(self) -> str:
        return self.queue_names[0]

    @property
    def service_window(self) -> Tuple[time, Optional[time]]:
        """(start, end); end None means until midnight ("24:00")."""
        start_text, _, end_text = self.service_hours.partition("-")
        return _parse_clock(start_text), (None if end_text.strip() == "24:00" else _parse_clock(end_text))

    def problems(self) -> List[str]:
        """Configuration that must be fixed before serving (fail closed on missing secrets)."""
        found = []
        if len(self.jwt_secret) < 16:
            found.append("AGENT_DESK_JWT_SECRET is missing or shorter than 16 characters")
        if len(self.service_token) < 16:
            found.append("AGENT_DESK_SERVICE_TOKEN is missing or shorter than 16 characters")
        if not self.queue_names:
            found.append("AGENT_DESK_QUEUES names no queue")
        try:
            self.service_window
        except ValueError as exc:
            found.append(f"AGENT_DESK_SERVICE_HOURS: {exc}")
        return found


def _parse_clock(text: str) -> time:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


@lru_cache(maxsize=1)
def get_settings() -> DeskSettings:
    return DeskSettings()
