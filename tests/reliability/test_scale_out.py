"""Scale-out on one machine: two Rasa servers and two action servers behind nginx, one Redis.

The Procfile's `rasa` and `actions` lines, each started twice on its own port with the same
environment (tests/support/stack.py `add_replica`); both Rasa servers share the Redis
tracker and lock stores (one key prefix) and call the action servers through nginx; nginx
(deploy/nginx/rasa-scale-out.conf.j2, one worker, round-robin) is the only way in for the
customers. nginx says which server answered (`X-Upstream`) and logs it.

What is proved, from the trackers both servers read back: every message of every
conversation is in its conversation's tracker once, in the order it was sent, and answered
once - the bot messages recorded for each turn are exactly the answer the customer got -
for concurrent conversations whose turns alternate between the servers, for a message
that reaches one server while the other still works on the same conversation, and for two
messages of one conversation arriving at both servers at the same moment (the lock store
guard in bot/rasa_server.py; without it some of those turns were lost). And the app
channel's socket.io is shared by the servers through Redis: an agent's reply delivered
through either Rasa server reaches a customer's socket that nginx put on one of them.
"""
from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Tuple

import pytest

from tests.support.unavailable import unavailable
import redis
import requests

from bot import model_cache
from tests.reliability.helpers import (
    KIND_MESSAGE, login, new_sender, set_core_banking_faults, stop_together, wait_until,
)
from tests.reliability.nginx import Nginx, nginx_binary
from tests.fakes.fake_core_banking import mint_customer_token
from tests.support.socketio_ws import CustomerSocket
from tests.support.stack import ARTIFACTS, RunningStack, build_stack, free_port

pytestmark = pytest.mark.stack

CUSTOMERS = ("C1001", "C1002", "C1003")
# Ten different questions: FAQ answers and answers from core banking (custom actions).
# None of them opens a form or calls a person, so every turn gets its own answer.
TURNS = [
    "你好",
    "转账多久能到账",
    "帮我查一下余额",
    "跨行转账收费吗",
    "手机银行转账限额是多少",
    "网点几点开门",
    "我的贷款批下来了吗",
    "新卡怎么激活",
    "我转的钱对方还没收到",
    "谢谢",
]
# Sent at the end, one conversation at a time, with no other traffic: round-robin then puts
# these two turns of each conversation on different Rasa servers, whatever happened before.
CLOSING_TURNS = ["你能做什么", "怎么开户"]
CONVERSATIONS = 6
SIMULTANEOUS_ROUNDS = 20


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Tuple[RunningStack, Nginx]:
    if nginx_binary() is None:
        unavailable("nginx is not installed: run scripts/install_system_packages.sh as root")
    if not model_cache.model_path().exists():
        pytest.fail(f"no trained model at {model_cache.model_path()}: run `python -m bot train`")
    run_dir = tmp_path_factory.mktemp("scale-out")
    nginx_rasa_port, nginx_actions_port = free_port(), free_port()
    # Both Rasa servers call the action servers through nginx.
    stack = build_stack(run_dir, extra_env={"ACTION_SERVER_URL": f"http://127.0.0.1:{nginx_actions_port}/webhook"})
    stack.log_dir = ARTIFACTS / "logs" / "reliability-scale-out"
    stack.add_replica("rasa-2", "rasa", free_port())
    stack.add_replica("actions-2", "actions", free_port())
    address = lambda name: stack.url(name).replace("http://", "")  # noqa: E731
    nginx = Nginx(run_dir=run_dir / "nginx", log_dir=stack.log_dir, rasa_port=nginx_rasa_port,
                  actions_port=nginx_actions_port, rasa_servers=[address("rasa"), address("rasa-2")],
                  action_servers=[address("actions"), address("actions-2")])
    try:
        nginx.start()
        stack.start(["core_banking", "actions", "actions-2", "rasa", "rasa-2"])
        yield stack, nginx
    finally:
        nginx.stop()
        stop_together(stack)


@pytest.fixture(scope="module")
def tokens(cluster) -> Dict[str, str]:
    stack, _ = cluster
    return {cid: login(stack.url("core_banking"), cid) for cid in CUSTOMERS}


@dataclass
class Turn:
    text: str
    answer: List[str]  # the texts of the bot messages the customer got
    server: str        # the Rasa server nginx passed the message to
    answered_at: float


class Conversation:
    """One customer's conversation through nginx; remembers what was sent and answered."""

    def __init__(self, nginx: Nginx, token: str, prefix: str = "scale") -> None:
        self.nginx, self.token = nginx, token
        self.sender = new_sender(prefix)
        self.turns: List[Turn] = []  # in the order they were sent

    def post(self, text: str) -> Turn:
        response = requests.post(f"{self.nginx.rasa_url}/webhooks/rest/webhook", timeout=60, json={
            "sender": self.sender, "message": text, "metadata": {"customer_token": self.token}})
        response.raise_for_status()
        return Turn(text, [m.get("text") or "" for m in response.json()], response.headers["X-Upstream"],
                    time.monotonic())

    def say(self, text: str) -> Turn:
        turn = self.post(text)
        self.turns.append(turn)
        return turn

    @property
    def servers(self) -> List[str]:
        return [turn.server for turn in self.turns]


def tracker(stack: RunningStack, server: str, sender: str) -> dict:
    response = requests.get(f"{stack.url(server)}/conversations/{sender}/tracker",
                            params={"token": stack.rasa_token}, timeout=10)
    response.raise_for_status()
    return response.json()


def turns_in(tracker_json: dict) -> List[Tuple[str, List[str]]]:
    """(user text, bot texts of that turn) for every user message, in tracker order."""
    turns: List[Tuple[str, List[str]]] = []
    for event in tracker_json["events"]:
        if event["event"] == "user":
            turns.append((event["text"], []))
        elif event["event"] == "bot" and turns:
            turns[-1][1].append(event.get("text") or "")
    return turns


def assert_every_turn_kept_once_in_order(stack: RunningStack, conversation: Conversation) -> None:
    from_first = tracker(stack, "rasa", conversation.sender)
    from_second = tracker(stack, "rasa-2", conversation.sender)
    assert from_first["events"] == from_second["events"]  # one shared store
    recorded = turns_in(from_first)
    # no turn lost, duplicated or reordered
    assert [text for text, _ in recorded] == [turn.text for turn in conversation.turns], conversation.sender
    # each answered once: what the tracker recorded for a turn is what the customer got
    for (text, bot_texts), turn in zip(recorded, conversation.turns):
        assert turn.answer and bot_texts == turn.answer, (conversation.sender, text, bot_texts, turn.answer)


def test_interleaved_concurrent_conversations_lose_duplicate_and_reorder_nothing(cluster, tokens):
    stack, nginx = cluster
    rasa_servers = set(nginx.rasa_servers)
    conversations = [Conversation(nginx, tokens[CUSTOMERS[i % len(CUSTOMERS)]]) for i in range(CONVERSATIONS)]

    def talk(index: int) -> None:
        conversation = conversations[index]
        for turn in range(len(TURNS)):
            conversation.say(TURNS[(index + turn) % len(TURNS)])  # each its own order

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        list(pool.map(talk, range(CONVERSATIONS)))  # re-raises the first failure
    concurrent_seconds = time.monotonic() - started
    for conversation in conversations:
        for text in CLOSING_TURNS:
            conversation.say(text)

    served = [server for c in conversations for server in c.servers]
    assert set(served) == rasa_servers, served  # single upstreams only: nothing passed on twice
    for conversation in conversations:
        assert len(set(conversation.servers[-2:])) == 2, conversation.servers  # interleaved for sure
        assert_every_turn_kept_once_in_order(stack, conversation)
    # The turns that need core banking went through both action servers, each call once.
    action_calls = nginx.upstream_counts(nginx.actions_port)
    assert set(action_calls) == set(nginx.action_servers), action_calls
    # Every custom action got its real answer (none of the action-failure messages).
    assert not any(KIND_MESSAGE in text for c in conversations for turn in c.turns for text in turn.answer)
    print(f"\n[scale-out] {CONVERSATIONS} conversations x {len(TURNS)} turns concurrently in "
          f"{concurrent_seconds:.1f} s; Rasa servers {dict((s, served.count(s)) for s in sorted(rasa_servers))}; "
          f"action servers {dict(action_calls)}")


def test_overlapping_messages_of_one_conversation_are_serialised_across_servers(cluster, tokens):
    """The second message reaches the other Rasa server while the first still holds the
    conversation's lock; it waits for it, then both turns are in the tracker in order."""
    stack, nginx = cluster
    store = redis.Redis.from_url(stack.config.redis.url)
    slow_ms = 1000  # the first turn needs core banking: slowed, but within the client's timeout
    set_core_banking_faults(stack, latency_ms=slow_ms)
    try:
        for index in range(3):
            conversation = Conversation(nginx, tokens[CUSTOMERS[index]], prefix="scale-lock")
            lock_key = f"{stack.key_prefix}:lock:{conversation.sender}"
            with ThreadPoolExecutor(max_workers=1) as pool:
                first_future = pool.submit(conversation.post, "帮我查一下余额")
                # Send the second message only once the first one holds the lock (its ticket
                # is in Redis): the order of the two is then the order they were sent in.
                wait_until(lambda: store.get(lock_key) or first_future.done(), timeout=10, interval=0.005,
                           what="the first turn holds the lock")
                assert not first_future.done(), "the slow turn was over before the second message"
                second = conversation.post("网点几点开门")
                first = first_future.result(timeout=30)
            conversation.turns += [first, second]
            assert any("您的账户余额" in text for text in first.answer), first.answer
            assert first.server != second.server, (first.server, second.server)
            assert second.answered_at >= first.answered_at, "the second turn did not wait for the first"
            assert_every_turn_kept_once_in_order(stack, conversation)
            assert not store.exists(lock_key)  # released: nobody waits any more
    finally:
        set_core_banking_faults(stack)


def test_simultaneous_messages_of_one_conversation_on_both_servers_are_both_kept(cluster, tokens):
    """Two messages of one conversation reach the two servers at the same moment, 20 times:
    the lock store lets one wait for the other; both turns are kept and answered once."""
    stack, nginx = cluster
    texts = ("转账多久能到账", "网点几点开门")
    for round_number in range(SIMULTANEOUS_ROUNDS):
        conversation = Conversation(nginx, tokens[CUSTOMERS[round_number % len(CUSTOMERS)]], prefix="scale-race")
        together = threading.Barrier(len(texts))

        def send(text: str) -> Turn:
            together.wait()
            return conversation.post(text)

        with ThreadPoolExecutor(max_workers=len(texts)) as pool:
            turns = list(pool.map(send, texts))
        assert turns[0].server != turns[1].server, [t.server for t in turns]  # round-robin: one each
        # Which one went first is up to the lock store; the tracker says, and must hold both.
        order = [text for text, _ in turns_in(tracker(stack, "rasa", conversation.sender))]
        assert sorted(order) == sorted(texts), (round_number, order)
        conversation.turns = sorted(turns, key=lambda turn: order.index(turn.text))
        assert_every_turn_kept_once_in_order(stack, conversation)


def socket_upstream(nginx: Nginx, timeout: float = 10) -> str:
    """The Rasa server nginx passed the (closed) websocket to: its 101 line in the access log."""
    pattern = re.compile(r'^\S+ \d+ "GET /webhooks/app/socket.io/" 101 "([^"]+)" \S+$')
    return wait_until(lambda: next((m.group(1) for line in nginx.access_log.read_text().splitlines()
                                    for m in [pattern.match(line)] if m), None),
                      timeout=timeout, what="the websocket in nginx's access log")


def test_an_agent_reply_through_either_server_reaches_a_socket_held_by_one(cluster):
    """The customer's socket.io connection (websocket, through nginx) is held by one Rasa
    server; the agent desk's callback with the agent's replies reaches each server directly.
    Both replies arrive on the socket, once each: the one through the other server via Redis."""
    stack, nginx = cluster
    customer = "C7" + uuid.uuid4().hex[:6]
    sender = f"app-{customer}"
    token = mint_customer_token(stack.env["CORE_BANKING_JWT_PRIVATE_KEY"], customer)  # as core banking signs
    texts = {server: f"客服小王（经 {server}）：您好" for server in ("rasa", "rasa-2")}

    def agent_reply(server: str) -> requests.Response:
        return requests.post(f"{stack.url(server)}/webhooks/handoff/agent_message", timeout=30,
                             headers={"Authorization": f"Bearer {stack.env['AGENT_DESK_SERVICE_TOKEN']}"},
                             json={"handoff_id": "h-" + uuid.uuid4().hex[:8], "conversation_id": sender,
                                   "channel": "app", "text": texts[server], "agent": "agent2"})

    async def scenario():
        loop = asyncio.get_running_loop()
        socket = await CustomerSocket().connect(nginx.rasa_url, token)
        try:
            await socket.client.emit("session_request", {})
            assert await socket.next_event("session_confirm") == sender
            for server in texts:
                response = await loop.run_in_executor(None, agent_reply, server)
                assert response.status_code == 200 and response.json() == {"delivered": True}, response.text
            return await socket.texts_until(list(texts.values()), 15)
        finally:
            await socket.close()

    received = asyncio.run(scenario())
    assert sorted(received) == sorted(texts.values()), received  # both, once each
    holder = socket_upstream(nginx)
    other = next(server for server in texts if stack.url(server).replace("http://", "") != holder)
    assert texts[other] in received, (holder, other, received)
    print(f"\n[scale-out] socket held by {holder}; the reply through {other} reached it too")
