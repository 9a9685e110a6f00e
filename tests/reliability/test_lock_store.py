"""The Redis ticket lock shared by several Rasa servers (bot/ticket_lock.py, guard 3 of bot/rasa_server.py).

Two lock stores (two "servers") on one real Redis hammer the same conversation's lock from
two threads: every ticket is issued once, in order, and no change of the lock is lost.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from typing import List

import pytest
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import RedisLockStore

from bot import rasa_server
from tests.support.stack import _redis_for_tests

pytestmark = pytest.mark.stack

ROUNDS = 150


@pytest.fixture(scope="module")
def redis_target(tmp_path_factory):
    target, embedded = _redis_for_tests(tmp_path_factory.mktemp("lock-redis"))
    yield target
    if embedded is not None:
        embedded.terminate()
        embedded.wait(timeout=10)


def stores(target, prefix: str) -> List[RedisLockStore]:
    rasa_server.install()
    return [RedisLockStore(host=target.host, port=target.port, db=target.db, password=target.password or None,
                           key_prefix=prefix) for _ in range(2)]


def test_tickets_issued_concurrently_by_two_servers_are_unique_and_none_is_lost(redis_target):
    prefix = "csbottest" + uuid.uuid4().hex[:10]
    first, second = stores(redis_target, prefix)
    conversation = "lock-" + uuid.uuid4().hex[:8]
    issued: List[List[int]] = [[], []]
    start = threading.Barrier(2)

    def issue(store: RedisLockStore, into: List[int]) -> None:
        start.wait()
        for _ in range(ROUNDS):
            into.append(store.issue_ticket(conversation))
            store.update_lock(conversation)  # what a waiting server does every second

    threads = [threading.Thread(target=issue, args=(store, into)) for store, into in zip((first, second), issued)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    tickets = issued[0] + issued[1]
    assert sorted(tickets) == list(range(2 * ROUNDS))  # unique, none skipped
    assert all(a < b for a, b in zip(issued[0], issued[0][1:]))  # each server's in order
    lock = first.get_lock(conversation)
    assert [t.number for t in lock.tickets] == list(range(2 * ROUNDS))  # every ticket kept

    # Both servers finish their tickets at the same time: the lock goes away exactly when
    # the last ticket is done, never earlier (a waiting ticket is never dropped).
    start = threading.Barrier(2)

    def finish(store: RedisLockStore, numbers: List[int]) -> None:
        start.wait()
        for number in numbers:
            store.cleanup(conversation, number)

    threads = [threading.Thread(target=finish, args=(store, numbers)) for store, numbers in zip((first, second), issued)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert first.get_lock(conversation) is None
    first.red.delete(*first.red.keys(prefix + "*") or ["-"])


def test_the_guard_keeps_rasas_lock_format(redis_target):
    """A stock server and a guarded one can share the keys: same key, same JSON."""
    prefix = "csbottest" + uuid.uuid4().hex[:10]
    store, _ = stores(redis_target, prefix)
    conversation = "fmt-" + uuid.uuid4().hex[:8]
    assert store.issue_ticket(conversation) == 0
    assert store.issue_ticket(conversation) == 1
    assert store.red.exists(f"{prefix}:lock:{conversation}")
    lock = store.get_lock(conversation)
    assert lock.now_serving == 0 and lock.is_locked(1) and not lock.is_locked(0)
    store.cleanup(conversation, 0)
    assert store.get_lock(conversation).now_serving == 1
    store.cleanup(conversation, 1)
    assert store.get_lock(conversation) is None


def test_each_change_is_the_one_stock_rasa_makes_to_the_same_lock(redis_target):
    """Expired tickets dropped, the first ticket of a number finished, a missing lock left missing,
    and a lock written by stock Rasa's Python (TicketLock.dumps) changed in place."""
    prefix = "csbottest" + uuid.uuid4().hex[:10]
    store, _ = stores(redis_target, prefix)
    conversation = "客户-" + uuid.uuid4().hex[:8]
    key = f"{prefix}:lock:{conversation}"
    now = time.time()
    stock = TicketLock(conversation, deque([Ticket(3, now - 1), Ticket(4, now + 60), Ticket(5, now + 60)]))
    store.red.set(key, stock.dumps())

    assert store.issue_ticket(conversation) == 6  # after the last live ticket; 3 had expired
    assert [(t.number, t.expires) for t in store.get_lock(conversation).tickets][:2] == [(4, now + 60), (5, now + 60)]
    store.finish_serving(conversation, 5)
    store.finish_serving(conversation, 99)  # not a ticket of this lock: nothing changes
    lock = store.get_lock(conversation)
    assert lock.conversation_id == conversation and [t.number for t in lock.tickets] == [4, 6]
    assert lock.now_serving == 4 and lock.is_locked(6)
    store.cleanup(conversation, 4)
    assert store.get_lock(conversation).now_serving == 6
    store.finish_serving(conversation, 6)  # finished, not cleaned up: the empty lock stays, as stock's
    assert store.red.exists(key) and not store.get_lock(conversation).tickets

    missing = "missing-" + uuid.uuid4().hex[:8]
    store.update_lock(missing)
    store.cleanup(missing, 0)
    store.finish_serving(missing, 0)
    assert not store.red.exists(f"{prefix}:lock:{missing}")
    store.red.delete(*store.red.keys(prefix + "*") or ["-"])


def test_an_expired_ticket_is_dropped_by_update(redis_target):
    prefix = "csbottest" + uuid.uuid4().hex[:10]
    store, _ = stores(redis_target, prefix)
    conversation = "exp-" + uuid.uuid4().hex[:8]
    assert store.issue_ticket(conversation, lock_lifetime=0.05) == 0
    assert store.issue_ticket(conversation) == 1
    time.sleep(0.1)
    store.update_lock(conversation)  # what a server waiting for ticket 1 does
    lock = store.get_lock(conversation)
    assert [t.number for t in lock.tickets] == [1] and not lock.is_locked(1)
    store.red.delete(*store.red.keys(prefix + "*") or ["-"])
