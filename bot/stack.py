"""The processes that make up the assistant, and the environment they share.

Both `python -m bot run` (through honcho) and the test suite (through subprocess) start
processes from the same Procfile with the same environment, so tests run what users run.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping

from bot.redis_setup import RedisTarget
from bot.settings import PROJECT_ROOT, REDIS_KEY_PREFIX, own_origins

PROCFILE = PROJECT_ROOT / "Procfile"
EMBEDDED_REDIS_PROCESS = "redis"


def read_procfile(path: Path = PROCFILE) -> Dict[str, str]:
    processes: Dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    return processes


# Only core banking signs customer tokens (bot/identity.py); no other process sees the key.
SIGNING_PROCESS = "core_banking"
SIGNING_ONLY_VARIABLES = frozenset({"CORE_BANKING_JWT_PRIVATE_KEY"})
# The agent desk's read-only identity at core banking: those two processes only.
DESK_TOKEN_PROCESSES = frozenset({"core_banking", "agent_desk"})
DESK_TOKEN_VARIABLE = "CORE_BANKING_DESK_TOKEN"

# Rasa's Sanic workers when SANIC_WORKERS is unset: one per core, at most this many (each
# worker loads its own model, ≈1 GB: docs/performance.md "Issue 13 item 2").
MAX_DEFAULT_SANIC_WORKERS = 4


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else os.cpu_count())."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_sanic_workers() -> int:
    return min(MAX_DEFAULT_SANIC_WORKERS, available_cores())


@dataclass(frozen=True)
class Ports:
    rasa: int = 5005
    actions: int = 5055
    core_banking: int = 8001
    agent_desk: int = 8002


@dataclass(frozen=True)
class StackConfig:
    """Everything that differs between one running stack and another (dev, tests)."""

    redis: RedisTarget
    model_path: Path
    ports: Ports = field(default_factory=Ports)
    key_prefix: str = REDIS_KEY_PREFIX
    run_dir: Path = PROJECT_ROOT / ".run"
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
        env["PYTHONPATH"] = str(PROJECT_ROOT)
        env.update(self.redis.rasa_env(self.key_prefix))
        env.update({
            "RASA_MODEL": str(self.model_path),
            "RASA_PORT": str(self.ports.rasa),
            "ACTION_PORT": str(self.ports.actions),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.ports.actions}/webhook",
            "CORE_BANKING_PORT": str(self.ports.core_banking),
            "CORE_BANKING_URL": f"http://127.0.0.1:{self.ports.core_banking}",
            "AGENT_DESK_PORT": str(self.ports.agent_desk),
            "AGENT_DESK_URL": f"http://127.0.0.1:{self.ports.agent_desk}",
            "RASA_URL": f"http://127.0.0.1:{self.ports.rasa}",
            "EMBEDDED_REDIS_PORT": str(self.redis.port),
            "RUN_DIR": str(self.run_dir),
            # Keep TensorFlow quiet and off the GPU probe; Rasa telemetry off.
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        # Every core for Rasa unless SANIC_WORKERS says otherwise (Rasa reads it itself).
        if not env.get("SANIC_WORKERS", "").strip():
            env["SANIC_WORKERS"] = str(default_sanic_workers())
        env.setdefault("ALLOWED_ORIGINS", " ".join(own_origins(self.ports.rasa)))
        # A development stack: demo agents (agent1/agent2/supervisor1) and the desk's API docs.
        env.setdefault("AGENT_DESK_SEED_DEMO", "true")
        env.setdefault("AGENT_DESK_EXPOSE_DOCS", "true")
        return env

    @staticmethod
    def env_for(process: str, env: Mapping[str, str]) -> Dict[str, str]:
        """What one process is given: the customer-token signing key goes to core banking only,
        the desk's core-banking token to core banking and the desk only."""
        hidden = set() if process == SIGNING_PROCESS else set(SIGNING_ONLY_VARIABLES)
        if process not in DESK_TOKEN_PROCESSES:
            hidden.add(DESK_TOKEN_VARIABLE)
        return {k: v for k, v in env.items() if k not in hidden}

    def processes(self, embedded_redis: bool) -> Dict[str, str]:
        processes = read_procfile()
        if not embedded_redis:
            processes.pop(EMBEDDED_REDIS_PROCESS, None)
        return processes
