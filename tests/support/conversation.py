"""A customer talking to the running stack through Rasa's REST channel (tests/e2e, bench)."""
from __future__ import annotations

import uuid
from typing import List

import requests


def login(stack, customer_id: str) -> str:
    response = requests.post(f"{stack.url('core_banking')}/auth/login",
                             json={"username": customer_id, "password": "demo1234"}, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


class Customer:
    """One conversation: a fresh sender id and, when logged in, the token on every message."""

    def __init__(self, stack, token: str = "") -> None:
        self.stack, self.token = stack, token
        self.sender = "e2e-" + uuid.uuid4().hex[:12]

    def say(self, text: str) -> List[dict]:
        metadata = {"customer_token": self.token} if self.token else None
        return self.stack.say(self.sender, text, metadata=metadata)

    def says(self, text: str) -> str:
        return joined(self.say(text))

    def waiting(self) -> List[dict]:
        """The agent's replies waiting in this conversation's REST outbox (drains it)."""
        headers = {"X-Customer-Token": self.token} if self.token else {}
        response = requests.get(f"{self.stack.rasa_url}/webhooks/rest/messages", params={"sender": self.sender},
                                headers=headers, timeout=10)
        response.raise_for_status()
        return response.json()


def joined(messages: List[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)
