"""nginx for the scale-out test: deploy/nginx/rasa-scale-out.conf.j2 rendered with free
ports, run in the foreground (Debian's `nginx` package: scripts/install_system_packages.sh)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import jinja2

from bot.redis_setup import port_is_open
from bot.settings import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "rasa-scale-out.conf.j2"


def nginx_binary() -> Optional[str]:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def render(**variables) -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.from_string(TEMPLATE.read_text(encoding="utf-8")).render(**variables)


@dataclass
class Nginx:
    run_dir: Path
    log_dir: Path
    rasa_port: int
    actions_port: int
    rasa_servers: List[str]
    action_servers: List[str]
    process: Optional[subprocess.Popen] = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def access_log(self) -> Path:
        return self.log_dir / "nginx-access.log"

    def start(self, timeout: float = 10) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (scripts/install_system_packages.sh)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        config = self.run_dir / "nginx.conf"
        config.write_text(render(
            user="root" if os.geteuid() == 0 else "", daemon=False, worker_processes=1,
            run_dir=self.run_dir, log_dir=self.log_dir, listen_host="127.0.0.1",
            rasa_port=self.rasa_port, actions_port=self.actions_port,
            rasa_servers=self.rasa_servers, action_servers=self.action_servers,
        ), encoding="utf-8")
        for name in ("nginx-error.log", "nginx-access.log"):
            (self.log_dir / name).write_text("")
        command = [binary, "-p", str(self.run_dir), "-e", str(self.log_dir / "nginx-error.log"), "-c", str(config)]
        check = subprocess.run(command + ["-t", "-q"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejects {config}:\n{check.stderr}")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not (port_is_open("127.0.0.1", self.rasa_port) and port_is_open("127.0.0.1", self.actions_port)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("nginx did not start:\n" + (self.log_dir / "nginx-error.log").read_text())
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def upstream_counts(self, port: int) -> Counter:
        """Requests per upstream that came in on `port`, from the access log. A request nginx
        passed to more than one server shows as "a:1, b:2"."""
        counts: Counter = Counter()
        pattern = re.compile(r'^\S+ (\d+) ".*" \d+ "([^"]*)" \S+$')
        for line in self.access_log.read_text(encoding="utf-8", errors="replace").splitlines():
            match = pattern.match(line)
            if match and int(match.group(1)) == port:
                counts[match.group(2)] += 1
        return counts
