"""Burst: 1,000 distinct WeChat messages from 100 users, with WeChat-style retries, at
bounded concurrency against the running Rasa server. Every message must reach the bot
exactly once (tracker message ids) and be answered exactly once (passive replies + messages
on the fake customer-service API). Prints duplicates, lost and the p95 reply time."""
from __future__ import annotations

import concurrent.futures
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from typing import Dict, List

import pytest
import requests

from tests.channels.conftest import ChannelStack
from tests.fakes.wechat_sender import Reply, text_message

pytestmark = pytest.mark.timeout(1200)

USERS = 100
MESSAGES_PER_USER = 10
CONCURRENCY = 20
QUESTIONS = [
    "手机银行转账限额是多少", "转账多久到账", "贷款需要什么材料", "我的卡丢了怎么办", "怎么开户",
    "你好", "谢谢", "信用卡怎么还款", "经营贷利率多少", "跨行转账要手续费吗", "怎么提高转账额度",
    "你是机器人吗", "网银转账限额是多少", "挂失需要带什么", "好的",
]


def percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def test_burst_exactly_once(channel_stack: ChannelStack) -> None:
    rng = random.Random(20241123)
    run = uuid.uuid4().hex[:6]
    users = [f"oBURST{run}{i:04d}" for i in range(USERS)]
    plan: Dict[str, List[dict]] = {u: [text_message(u, rng.choice(QUESTIONS)) for _ in range(MESSAGES_PER_USER)]
                                   for u in users}
    retry_kind = {m["MsgId"]: rng.choices(["none", "after", "during"], weights=[70, 15, 15])[0]
                  for msgs in plan.values() for m in msgs}
    lock = threading.Lock()
    attempts: List[dict] = []
    first_latency: List[float] = []
    retry_pool = concurrent.futures.ThreadPoolExecutor(CONCURRENCY)

    def record(user: str, message: dict, reply: Reply, first: bool) -> None:
        with lock:
            attempts.append({"user": user, "msg_id": message["MsgId"], "status": reply.status,
                             "answered": bool(reply.content), "first": first})
            if first:
                first_latency.append(reply.seconds)

    def one_user(user: str) -> None:
        sender = channel_stack.sender()
        for message in plan[user]:
            kind = retry_kind[message["MsgId"]]
            pending = []
            if kind == "during":  # WeChat retries while the first delivery is still in flight
                def retry(message: dict = message) -> None:
                    time.sleep(0.2)
                    record(user, message, channel_stack.sender().send(message), False)
                pending.append(retry_pool.submit(retry))
            record(user, message, sender.send(message), True)
            if kind == "after":  # the first answer got lost on the way: WeChat retries twice
                for _ in range(2):
                    record(user, message, sender.send(message), False)
            for future in pending:
                future.result()

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one_user, users))
    retry_pool.shutdown(wait=True)
    elapsed = time.monotonic() - started

    # Wait for answers still travelling through the customer-service API.
    user_set = set(users)
    last, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        count = len([r for r in channel_stack.fake_wechat.records() if r["touser"] in user_set])
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since > 5:
            break
        time.sleep(0.5)

    api_answers = Counter(r["touser"] for r in channel_stack.fake_wechat.records() if r["touser"] in user_set)
    passive_answers = Counter(a["user"] for a in attempts if a["answered"])
    statuses = Counter(a["status"] for a in attempts)

    turns_per_msg: Counter = Counter()
    for user in users:
        tracker = requests.get(f"{channel_stack.rasa_url}/conversations/wechat-{user}/tracker",
                               params={"token": channel_stack.stack.rasa_token}, timeout=30).json()
        for event in tracker["events"]:
            if event["event"] == "user":
                turns_per_msg[event.get("message_id")] += 1
    sent_ids = [m["MsgId"] for msgs in plan.values() for m in msgs]
    duplicate_turns = sum(max(0, turns_per_msg[i] - 1) for i in sent_ids)
    missing_turns = sum(1 for i in sent_ids if turns_per_msg[i] == 0)
    answers = {u: passive_answers[u] + api_answers[u] for u in users}
    extra_answers = sum(max(0, n - MESSAGES_PER_USER) for n in answers.values())
    missing_answers = sum(max(0, MESSAGES_PER_USER - n) for n in answers.values())
    p95 = percentile(first_latency, 95)

    print(f"\n[burst] {len(sent_ids)} messages from {USERS} users, {len(attempts)} deliveries "
          f"({len(attempts) - len(sent_ids)} retries), concurrency {CONCURRENCY}, {elapsed:.1f} s")
    print(f"[burst] HTTP statuses {dict(statuses)}; answered passively {sum(passive_answers.values())}, "
          f"via customer-service API {sum(api_answers.values())}")
    print(f"[burst] bot turns: duplicates {duplicate_turns}, lost {missing_turns}; "
          f"answers: duplicates {extra_answers}, lost {missing_answers}")
    print(f"[burst] first-delivery reply time: p50 {statistics.median(first_latency):.3f} s, p95 {p95:.3f} s, "
          f"max {max(first_latency):.3f} s")

    assert statuses == Counter({200: len(attempts)})
    assert duplicate_turns == 0 and missing_turns == 0
    assert extra_answers == 0 and missing_answers == 0
    assert max(first_latency) < 5.0, "every delivery must be answered within WeChat's 5 s"
