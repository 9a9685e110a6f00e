"""Ports and start-up waits for the processes that tests and benchmarks start."""
from __future__ import annotations

import socket
import subprocess
import time
from typing import Optional, Set

import requests


_handed_out: Set[int] = set()


def free_port() -> int:
    """A port free right now and never handed out before by this process: the processes of a
    stack bind theirs only seconds later, so the kernel may offer the same port again meanwhile
    (seen once: two processes of two stacks on one port). Another program may still take it."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def answers_ok(url: str, process: Optional[subprocess.Popen], timeout: float, interval: float = 0.2) -> bool:
    """Polls `url` until it answers 200 (True); False once `process` has exited or `timeout`
    seconds have passed. The caller says what went wrong, with its own log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(interval)
    return False
