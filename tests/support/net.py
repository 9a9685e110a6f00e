"""Ports and start-up waits for the processes that tests and benchmarks start."""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from typing import Any, Optional, Set
from urllib.parse import urlsplit

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


def post_json_from(source: str, base_url: str, path: str, body: Any) -> int:
    """POSTs JSON from a given local address (127.0.0.x are all this machine) and returns the
    status: how tests play a second client, e.g. an attacker elsewhere."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(source, 0))
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()
