"""What the reliability tests share: demo logins, conversations, reading trackers."""
from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Callable, List, Optional

import requests

from bot.settings import Settings

KIND_MESSAGE = "抱歉，银行系统现在有点忙，暂时查不到。您可以稍后再试，或者转人工，工作人员会接着帮您办。"
RAW_ERROR_WORDS = ("Exception", "Traceback", "Error", "error", "Failed", "500", "null", "None")


def login(core_banking_url: str, customer_id: str) -> str:
    response = requests.post(f"{core_banking_url}/auth/login",
                             json={"username": customer_id, "password": "demo1234"}, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


def new_sender(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def joined(messages: List[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def button_titles(messages: List[dict]) -> List[str]:
    return [b["title"] for m in messages for b in m.get("buttons") or []]


def assert_kind_unavailable_message(messages: List[dict]) -> None:
    """Exactly one message: the kind 'try later or a person' answer, no raw error."""
    assert [m.get("text") for m in messages] == [KIND_MESSAGE], messages
    assert button_titles(messages) == ["转人工"], messages
    assert not any(word in joined(messages) for word in RAW_ERROR_WORDS), messages


def user_texts(tracker: dict) -> List[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def comparable(events: List[dict]) -> List[tuple]:
    """Events as (type, timestamp, name or text): what 'nothing was lost' compares."""
    return [(e["event"], e.get("timestamp"), e.get("name") or e.get("text")) for e in events]


def core_banking_timeout(env: dict) -> float:
    default = Settings.__fields__["core_banking_timeout_seconds"].default
    return float(env.get("CORE_BANKING_TIMEOUT_SECONDS", default))


def set_core_banking_faults(stack, latency_ms: int = 0, error_rate: float = 0.0) -> None:
    """Core banking's own fault injection (PUT /internal/faults, service token)."""
    response = requests.put(f"{stack.url('core_banking')}/internal/faults",
                            json={"latency_ms": latency_ms, "error_rate": error_rate},
                            headers={"Authorization": f"Bearer {stack.env['CORE_BANKING_SERVICE_TOKEN']}"},
                            timeout=10)
    response.raise_for_status()


def wait_until(condition: Callable[[], Optional[object]], timeout: float, what: str, interval: float = 0.1):
    """Polls `condition` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (requests.RequestException, AssertionError) as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what}: not after {timeout}s" + (f" (last error: {last_error})" if last_error else ""))


def stop_together(stack) -> None:
    """Stops all of a stack's processes at once (SIGTERM to each, then stop_all waits):
    Rasa and Sanic take seconds to shut down, no need to wait for them one by one."""
    for process in stack.processes.values():
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    stack.stop_all()
