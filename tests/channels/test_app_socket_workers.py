"""Rasa with two Sanic workers (SANIC_WORKERS=2, what `make run` gives it on this machine):
the app channel's socket.io shared between the workers through Redis, and a model replaced
with `PUT /model` reaching both workers (bot/rasa_server.py guard 8).

The stack is the real Rasa line of the Procfile with RASA_WORKER_HEADER=true, so every answer
says which worker (process id) gave it (`X-Rasa-Worker`). Requests go on fresh connections,
which the kernel hands to either worker; a test repeats them until both workers answered. The
customer's socket is python-socketio's AsyncClient over the websocket transport
(tests/support/socketio_ws.py), as the app connects."""
from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest
import redis
import requests

from bot import model_cache
from tests.fakes.fake_core_banking import mint_customer_token
from tests.support.socketio_ws import CustomerSocket
from tests.support.stack import ARTIFACTS, RunningStack, build_stack

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]

WORKERS = 2
WORKER_HEADER = "X-Rasa-Worker"
BOTH_WORKERS_TIMEOUT = 240  # the second worker loads its own model after the first answers
MAX_PUSHES = 40


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    if not model_cache.model_path().exists():
        pytest.fail(f"no trained model at {model_cache.model_path()}: run `python -m bot train` first")
    running = build_stack(tmp_path_factory.mktemp("socket-workers"),
                          extra_env={"SANIC_WORKERS": str(WORKERS), "RASA_WORKER_HEADER": "true"})
    running.log_dir = ARTIFACTS / "logs" / "socket-workers"
    try:
        running.start(["rasa"])
        wait_for_workers(running, WORKERS)
        yield running
    finally:
        running.stop_all()
        try:
            client = store(running)
            for key in list(client.scan_iter(f"{running.key_prefix}:*", count=1000)):
                client.delete(key)
        except redis.RedisError:
            pass


def store(stack: RunningStack) -> redis.Redis:
    return redis.Redis.from_url(stack.config.redis.url, decode_responses=True)


def fresh(method: str, url: str, **kwargs) -> requests.Response:
    """One request on its own connection (so that either worker may take it)."""
    headers = {"Connection": "close", **kwargs.pop("headers", {})}
    return requests.request(method, url, headers=headers, timeout=kwargs.pop("timeout", 60), **kwargs)


def wait_for_workers(stack: RunningStack, count: int) -> Set[str]:
    workers: Set[str] = set()
    deadline = time.monotonic() + BOTH_WORKERS_TIMEOUT
    while len(workers) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only workers {workers} answered after {BOTH_WORKERS_TIMEOUT}s\n"
                               + stack.log_tail("rasa"))
        response = fresh("GET", f"{stack.rasa_url}/", timeout=10)
        assert WORKER_HEADER in response.headers, "RASA_WORKER_HEADER is not honoured"
        workers.add(response.headers[WORKER_HEADER])
        time.sleep(0.1)
    return workers


def agent_reply(stack: RunningStack, sender: str, text: str) -> requests.Response:
    """What the agent desk does with an agent's reply: the handoff connector's callback."""
    return fresh("POST", f"{stack.rasa_url}/webhooks/handoff/agent_message",
                 headers={"Authorization": f"Bearer {stack.env['AGENT_DESK_SERVICE_TOKEN']}"},
                 json={"handoff_id": "h-" + uuid.uuid4().hex[:8], "conversation_id": sender, "channel": "app",
                       "text": text, "agent": "agent1"})


def test_an_agent_reply_reaches_the_socket_whichever_worker_takes_it(two_workers: RunningStack) -> None:
    stack = two_workers
    customer = "C9" + uuid.uuid4().hex[:6]
    sender = f"app-{customer}"
    token = mint_customer_token(stack.env["CORE_BANKING_JWT_PRIVATE_KEY"], customer)

    async def scenario() -> Tuple[List[Tuple[str, str, List[str]]], List[str]]:
        loop = asyncio.get_running_loop()
        socket = await CustomerSocket().connect(stack.rasa_url, token)
        deliveries: List[Tuple[str, str, List[str]]] = []  # (text, worker that took the push, texts received)
        try:
            await socket.client.emit("session_request", {})
            assert await socket.next_event("session_confirm") == sender
            # The socket is live in Redis for every worker (module docstring of connectors/app.py).
            assert store(stack).zcard(f"{stack.key_prefix}:app:live:{sender}") == 1
            for number in range(MAX_PUSHES):
                text = f"客服小李：第{number}条回复"
                response = await loop.run_in_executor(None, agent_reply, stack, sender, text)
                assert response.status_code == 200 and response.json() == {"delivered": True}, response.text
                deliveries.append((text, response.headers[WORKER_HEADER], await socket.texts_until([text], 10)))
                if len({worker for _, worker, _ in deliveries}) == WORKERS and number >= 3:
                    break
        finally:
            await socket.close()
        await asyncio.sleep(0.5)
        after = await loop.run_in_executor(None, agent_reply, stack, sender, "客服小李：您还在吗？")
        assert after.status_code == 200, after.text
        outbox = await loop.run_in_executor(None, lambda: fresh(
            "GET", f"{stack.rasa_url}/webhooks/app/messages", headers={"Authorization": f"Bearer {token}"}).json())
        return deliveries, [m["text"] for m in outbox["messages"]]

    deliveries, outbox_after_close = asyncio.run(scenario())
    workers = {worker for _, worker, _ in deliveries}
    # Both workers took pushes and the socket is held by one of them: so pushes taken by the
    # other worker reached it too.
    assert len(workers) == WORKERS, f"only worker {workers} took the {len(deliveries)} pushes"
    for text, worker, received in deliveries:
        assert received == [text], (text, worker, received)  # each once, nothing else
    print(f"\n[socket workers] {len(deliveries)} agent replies, taken by workers "
          f"{ {w: sum(1 for _, x, _ in deliveries if x == w) for w in sorted(workers)} }: all on the socket")
    # Once the socket is closed, nobody holds it: the reply waits in the outbox.
    assert store(stack).zcard(f"{stack.key_prefix}:app:live:{sender}") == 0
    assert outbox_after_close == ["客服小李：您还在吗？"]


def test_a_bot_turn_over_the_websocket_is_answered_on_it(two_workers: RunningStack) -> None:
    stack = two_workers
    customer = "C8" + uuid.uuid4().hex[:6]
    token = mint_customer_token(stack.env["CORE_BANKING_JWT_PRIVATE_KEY"], customer)

    async def talk() -> dict:
        socket = await CustomerSocket().connect(stack.rasa_url, token)
        try:
            await socket.client.emit("user_uttered", {"message": "你好"})
            return await socket.next_event("bot_uttered", 60)
        finally:
            await socket.close()

    assert asyncio.run(talk()).get("text")


def test_long_polling_is_refused_with_several_workers(two_workers: RunningStack) -> None:
    """A polling session lives in one worker's memory; the other worker cannot serve it, so
    with several workers the server says so at once (clients use transports=["websocket"])."""
    stack = two_workers
    response = fresh("GET", f"{stack.rasa_url}/webhooks/app/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert response.status_code == 400, (response.status_code, response.text)


def test_put_model_reaches_every_worker(two_workers: RunningStack, tmp_path: Path) -> None:
    stack = two_workers
    replacement = tmp_path / "bank-replacement.tar.gz"
    shutil.copyfile(model_cache.model_path(), replacement)
    status_url = f"{stack.rasa_url}/status"
    token = {"token": stack.rasa_token}
    before = fresh("GET", status_url, params=token).json()
    assert before["model_file"] == model_cache.model_path().name

    started = time.monotonic()
    put = fresh("PUT", f"{stack.rasa_url}/model", params=token, json={"model_file": str(replacement)}, timeout=300)
    assert put.status_code == 204, put.text
    put_seconds = time.monotonic() - started
    record = json.loads(store(stack).get(f"{stack.key_prefix}:rasa:active-model"))
    assert record["path"] == str(replacement) and record["changed_at"]

    # Then 20 consecutive /status answers, from both workers, all report the new model.
    consecutive: List[Dict[str, str]] = []
    deadline = time.monotonic() + 180
    while len(consecutive) < 20 or len({s["worker"] for s in consecutive}) < WORKERS:
        assert time.monotonic() < deadline, f"not every worker runs the new model: {consecutive[-5:]}\n" \
                                            + stack.log_tail("rasa")
        response = fresh("GET", status_url, params=token, timeout=30)
        assert response.status_code == 200, response.text
        status = {"worker": response.headers[WORKER_HEADER], "model_file": response.json()["model_file"]}
        consecutive = consecutive + [status] if status["model_file"] == replacement.name else []
        if len(consecutive) > 60:
            consecutive = consecutive[-20:]
        time.sleep(0.1)
    all_seconds = time.monotonic() - started
    print(f"\n[socket workers] PUT /model answered after {put_seconds:.1f} s; every worker on the new "
          f"model after {all_seconds:.1f} s")
    # Each worker's own record says so too (what the content studio reads to show the switch).
    live = store(stack).zrangebyscore(f"{stack.key_prefix}:rasa:workers", time.time(), "+inf")
    records = [json.loads(r) for r in store(stack).hmget(f"{stack.key_prefix}:rasa:worker-models", live)]
    assert len(live) == WORKERS and {r["name"] for r in records} == {replacement.name}, records
    # Conversations go on with it, in both workers.
    for _ in range(4):
        answer = fresh("POST", f"{stack.rasa_url}/webhooks/rest/webhook",
                       json={"sender": "w-" + uuid.uuid4().hex[:8], "message": "你好"})
        assert answer.status_code == 200 and answer.json(), answer.text
