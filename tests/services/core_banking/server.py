"""Start the real core-banking service (`python -m services.core_banking serve`) as a
subprocess on a free port with a temporary SQLite file (or any database URL) and fresh
secrets. Used by the service tests and the client tests."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import requests

from bot.identity import generate_key_pair, public_key_of
from bot.settings import PROJECT_ROOT
from tests.support.net import answers_ok, free_port

START_TIMEOUT_SECONDS = 60


def service_env(run_dir: Path, database_url: Optional[str] = None, **extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CORE_BANKING_") and k not in ("DATABASE_URL", "RUN_DIR")}
    env.update({
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONUNBUFFERED": "1",
        "RUN_DIR": str(run_dir),
        "CORE_BANKING_JWT_PRIVATE_KEY": generate_key_pair()[0],
        "CORE_BANKING_SERVICE_TOKEN": "svc-" + secrets.token_urlsafe(32),
        "CORE_BANKING_DESK_TOKEN": "desk-" + secrets.token_urlsafe(32),
        "CORE_BANKING_DATABASE_URL": database_url or f"sqlite:///{run_dir / 'core_banking.db'}",
    })
    env.update(extra)
    return env


class CoreBankingServer:
    def __init__(self, run_dir: Path, database_url: Optional[str] = None, **extra_env: str) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = run_dir
        self.env = service_env(run_dir, database_url, **extra_env)
        self.log_path = run_dir / "core_banking.log"
        self.port = 0
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def signing_key(self) -> str:
        return self.env["CORE_BANKING_JWT_PRIVATE_KEY"]

    @property
    def public_key(self) -> str:
        return public_key_of(self.signing_key)

    @property
    def service_token(self) -> str:
        return self.env["CORE_BANKING_SERVICE_TOKEN"]

    @property
    def desk_token(self) -> str:
        return self.env["CORE_BANKING_DESK_TOKEN"]

    def start(self) -> "CoreBankingServer":
        for _attempt in range(3):  # another process may grab the free port before we bind it
            self.port = free_port()
            log = open(self.log_path, "a")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.core_banking", "serve", "--port", str(self.port)],
                cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            if answers_ok(self.url + "/health", self.process, START_TIMEOUT_SECONDS):
                return self
            self.stop()
        raise RuntimeError("core banking did not start:\n" + self.log_tail())

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "CoreBankingServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    # -- helpers for tests --------------------------------------------------------------
    def login(self, customer_id: str, password: str = "demo1234") -> str:
        response = requests.post(self.url + "/auth/login", json={"username": customer_id, "password": password},
                                 timeout=10)
        response.raise_for_status()
        return response.json()["access_token"]

    def service_headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.service_token}"}

    def set_faults(self, latency_ms: int = 0, error_rate: float = 0.0) -> dict:
        response = requests.put(self.url + "/internal/faults", json={"latency_ms": latency_ms, "error_rate": error_rate},
                                headers=self.service_headers(), timeout=10)
        response.raise_for_status()
        return response.json()

    def faults(self) -> dict:
        response = requests.get(self.url + "/internal/faults", headers=self.service_headers(), timeout=10)
        response.raise_for_status()
        return response.json()


def run_command(env: Dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.core_banking", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
