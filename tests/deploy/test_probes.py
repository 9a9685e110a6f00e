"""The probes of the descriptors answer on the real processes.

Each Procfile process is started the way its container starts it — `deploy/entrypoint.sh
NAME` with the environment of its compose service — on free local ports (SQLite instead of
PostgreSQL, the test Redis with a random key prefix). Then every probe path of the
Kubernetes manifests and of the compose healthchecks is requested over HTTP, and
deploy/healthcheck.py itself is run against it, as Docker would. Rasa loads the real model.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

from tests.support.unavailable import unavailable
import requests

from bot.settings import PROJECT_ROOT
from tests.deploy import descriptors as d
from tests.services.agent_desk.harness import RedisForTests, free_port

LOGS = PROJECT_ROOT / "test-artifacts" / "logs"
START_TIMEOUT = {"rasa": 300.0, "actions": 90.0, "core_banking": 60.0, "agent_desk": 60.0}
LIVENESS = {"rasa": "/", "actions": "/health", "core_banking": "/health", "agent_desk": "/health"}


def probe_paths() -> Dict[str, Set[str]]:
    """process -> every path its Kubernetes probes and compose healthchecks request."""
    paths: Dict[str, Set[str]] = {}
    for process, found in d.k8s_workloads_by_process().items():
        for _, container in found:
            for _, probe in d.probes(container):
                target = d.http_probe_target(container, probe)
                if target:
                    paths.setdefault(process, set()).add(target[1])
    for service in d.compose_raw()["services"].values():
        process = d.compose_process(service)
        if process:
            paths.setdefault(process, set()).add(d.healthcheck_target(service["healthcheck"]["test"][1:])[1])
    return paths


def healthcheck_commands(process: str) -> List[List[str]]:
    """The exec probes and compose healthchecks of a process (`python /app/deploy/healthcheck.py ...`)."""
    commands = []
    for _, container in d.k8s_workloads_by_process()[process]:
        for _, probe in d.probes(container):
            if "exec" in probe:
                commands.append(probe["exec"]["command"])
    for service in d.compose_raw()["services"].values():
        if d.compose_process(service) == process:
            commands.append(service["healthcheck"]["test"][1:])
    return commands


class Container:
    """A Procfile process started through deploy/entrypoint.sh, like its container."""

    def __init__(self, process: str, env: Dict[str, str]) -> None:
        self.process = process
        self.env = env
        self.port = int(env[d.port_var(process)])
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"deploy-{process}-{self.port}.log"
        with open(self.log_path, "w") as log:
            self.popen = subprocess.Popen(["sh", str(d.ENTRYPOINT), process], cwd="/", env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_live(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT[self.process]
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                pytest.fail(f"{self.process} exited ({self.popen.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(self.url + LIVENESS[self.process], timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        pytest.fail(f"{self.process} did not answer {LIVENESS[self.process]} in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def healthcheck(self, command: List[str]) -> subprocess.CompletedProcess:
        """Runs deploy/healthcheck.py as the container would, pointed at this local port."""
        assert command[0] == "python" and command[1] == f"{d.IMAGE_APP_DIR}/deploy/healthcheck.py"
        port, _ = d.healthcheck_target(command)
        url = command[-1].replace(f"127.0.0.1:{port}", f"127.0.0.1:{self.port}")
        return subprocess.run([sys.executable, str(d.DEPLOY / "healthcheck.py"), *command[2:-1], url],
                              env=self.env, capture_output=True, text=True, timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = RedisForTests(tmp_path_factory.mktemp("deploy-redis"))
    yield server.url
    server.stop()


def container_env(process: str, redis_url: str, run_dir: Path) -> Dict[str, str]:
    """The compose service's environment (secrets filled in), made local: free port, loopback,
    SQLite, the test Redis under a random prefix."""
    from urllib.parse import urlsplit

    compose = d.interpolate_tree(d.compose_raw(), d.fake_secret_values(d.env_example_keys()))
    service = next(s for s in compose["services"].values() if d.compose_process(s) == process)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CORE_BANKING_", "AGENT_DESK_", "REDIS_", "RASA_", "ACTION_"))
           and key not in ("DATABASE_URL", "RUN_DIR")}
    env.update(d.compose_environment(service))
    redis = urlsplit(redis_url)
    env.update({
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(PROJECT_ROOT),
        "APP_DIR": str(PROJECT_ROOT),  # the image's /app
        d.port_var(process): str(free_port()),
        "RUN_DIR": str(run_dir),
        "REDIS_URL": redis_url, "REDIS_HOST": redis.hostname, "REDIS_PORT": str(redis.port),
        "REDIS_DB": redis.path.lstrip("/") or "0", "REDIS_PASSWORD": redis.password or "",
        "REDIS_KEY_PREFIX": "csbottest" + secrets.token_hex(4),
    })
    if process in d.HOST_VARS:
        env[d.HOST_VARS[process]] = "127.0.0.1"
    if process in d.DATABASE_URL_VARS:
        env[d.DATABASE_URL_VARS[process]] = f"sqlite:///{run_dir / (process + '.db')}"
    if process == "rasa":
        from bot import model_cache

        model = model_cache.model_path()
        if not model.exists():
            unavailable(f"no trained model at {model}: run `python -m bot train` (make test does)")
        env["RASA_MODEL"] = str(model)  # the image's /app/models/current.tar.gz links to it
    return env


def test_every_deployed_process_has_probes():
    paths = probe_paths()
    assert set(paths) == set(d.deployed_processes())
    assert paths["core_banking"] == {"/health", "/ready"} and paths["agent_desk"] == {"/health", "/ready"}


@pytest.mark.parametrize("process", ["core_banking", "agent_desk", "actions"])
def test_probes_answer_on_the_process_started_like_its_container(process, redis_url, tmp_path):
    container = Container(process, container_env(process, redis_url, tmp_path))
    try:
        container.wait_live()
        for path in sorted(probe_paths()[process]):
            response = requests.get(container.url + path, timeout=10)
            assert response.status_code == 200, f"{process} {path}: {response.status_code} {response.text[:200]}"
        for command in healthcheck_commands(process):
            result = container.healthcheck(command)
            assert result.returncode == 0, f"{command}: {result.stderr}"
        if process in ("core_banking", "agent_desk"):
            metrics = requests.get(container.url + "/metrics", timeout=10)
            assert metrics.status_code == 200 and f"{process}_http_requests_total" in metrics.text
    finally:
        container.stop()
    with pytest.raises(requests.ConnectionError):  # and the probe fails once the process is gone
        requests.get(container.url + LIVENESS[process], timeout=2)


@pytest.mark.slow
def test_rasa_probes_answer_once_the_model_is_loaded(redis_url, tmp_path):
    """Liveness `/` and readiness `/status` (with the token, through healthcheck.py) on the
    real Rasa server started from the entrypoint with the trained model."""
    env = container_env("rasa", redis_url, tmp_path)
    container = Container("rasa", env)
    try:
        container.wait_live()  # the port opens after the model is loaded
        for path in sorted(probe_paths()["rasa"]):
            params = {"token": env["RASA_TOKEN"]} if path == "/status" else None
            response = requests.get(container.url + path, params=params, timeout=10)
            assert response.status_code == 200, f"rasa {path}: {response.status_code} {response.text[:200]}"
        status = requests.get(container.url + "/status", params={"token": env["RASA_TOKEN"]}, timeout=10).json()
        assert Path(status["model_file"]).name == Path(env["RASA_MODEL"]).name
        assert requests.get(container.url + "/status", timeout=10).status_code == 401  # hence --token-env
        commands = healthcheck_commands("rasa")
        assert commands, "rasa readiness runs deploy/healthcheck.py with the token"
        for command in commands:
            result = container.healthcheck(command)
            assert result.returncode == 0, f"{command}: {result.stderr}"
        wrong = container.healthcheck(commands[0][:2] + ["--token-env", "NO_SUCH_TOKEN_VAR", commands[0][-1]])
        assert wrong.returncode != 0
    finally:
        container.stop()
