"""An agent at the running agent desk (tests/e2e): log in, call the API, wait for things."""
from __future__ import annotations

import time
from typing import Callable

import requests


class Desk:
    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        response = requests.post(f"{url}/api/auth/login", json={"username": username, "password": password}, timeout=10)
        response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def get(self, path: str, **params) -> dict:
        response = requests.get(self.url + path, headers=self.headers, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def status(self, path: str) -> int:
        """The HTTP status of a GET (for the answers that must be refusals)."""
        return requests.get(self.url + path, headers=self.headers, timeout=10).status_code

    def post(self, path: str, body: dict = None) -> dict:
        response = requests.post(self.url + path, headers=self.headers, json=body or {}, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def hand_over(stack, customer, *said: str, username: str = "agent1") -> tuple:
    """The customer says these (the last one gets a person); the agent claims the handoff.
    Returns the agent's Desk and the handoff id."""
    for text in said:
        reply = customer.says(text)
    assert "人工" in reply, reply
    agent = Desk(stack.url("agent_desk"), username, f"{username}-demo")
    handoff = next(h for h in agent.get("/api/handoffs", status="waiting") if h["conversation_id"] == customer.sender)
    agent.post(f"/api/handoffs/{handoff['id']}/claim")
    return agent, handoff["id"]
