"""Rasa's ticket lock in Redis, each change of a lock made by one Lua script (bot/rasa_server.py, guard 3).

Rasa serialises a conversation's turns with a ticket lock (rasa.core.lock.TicketLock): a turn
takes a ticket, waits until its ticket is served, and gives the ticket back. Stock Rasa reads
the lock, changes it in Python and writes it back, so two servers changing the same lock at the
same moment can both hand out ticket 0 and run two turns at once (seen in 3 of 40 tries).

Here every change of a lock (issue a ticket, drop expired tickets, finish a ticket, clean up)
runs as one Lua script in Redis: atomic, and one round trip instead of the three of the
optimistic transaction (WATCH and GET, then MULTI/SET/EXEC) this guard used before. A turn
makes two changes (its ticket, then the clean-up), so its lock costs three round trips instead of
seven: the lock was 4 % of a worker's CPU and half of its Redis round trips in the live profile
(docs/performance.md, "Issue 13 item 3, second round").

The lock keeps Rasa's key and JSON (tickets are JSON texts of {"number", "expires"} inside the
lock's JSON), so `get_lock` and a stock server read it as before. Expiry is judged by the
calling server's clock, as TicketLock does (`time.time() > expires`), passed in as `now`.
"""
from __future__ import annotations

import time
from typing import Any, Optional

from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

# KEYS[1]: the lock. ARGV: what (issue | update | finish | cleanup), now, then for `issue` the new
# ticket's expiry and the conversation id, for `finish` and `cleanup` the ticket's number.
# Returns the new ticket's number for `issue`, else nothing. A missing lock is left missing,
# except by `issue`, which creates it.
CHANGE_LOCK = """
local what, now = ARGV[1], tonumber(ARGV[2])
local raw = redis.call('GET', KEYS[1])
if not raw and what ~= 'issue' then return false end
local lock = raw and cjson.decode(raw) or {conversation_id = ARGV[4], tickets = {}}
local remove = (what == 'finish' or what == 'cleanup') and tonumber(ARGV[3]) or nil
local kept, last = {}, -1
for _, text in ipairs(lock['tickets'] or {}) do
  local ticket = cjson.decode(text)
  if not (now > ticket['expires']) then  -- TicketLock.remove_expired_tickets
    last = ticket['number']
    if ticket['number'] == remove then remove = nil  -- TicketLock.remove_ticket_for: the first one
    else table.insert(kept, text) end
  end
end
local result = false
if what == 'issue' then
  result = last + 1
  table.insert(kept, string.format('{"number": %d, "expires": %s}', result, ARGV[3]))
end
if what == 'cleanup' and #kept == 0 then
  redis.call('DEL', KEYS[1])
  return result
end
local texts = {}
for i, text in ipairs(kept) do texts[i] = cjson.encode(text) end
redis.call('SET', KEYS[1], '{"conversation_id": ' .. cjson.encode(lock['conversation_id']) ..
           ', "tickets": [' .. table.concat(texts, ', ') .. ']}')
return result
"""


def _change(store: RedisLockStore, conversation_id: str, *args: Any) -> Optional[int]:
    script = store.__dict__.get("_bank_change_lock")
    if script is None:  # registered once per store; redis-py loads it again after a Redis restart
        script = store.__dict__["_bank_change_lock"] = store.red.register_script(CHANGE_LOCK)
    return script(keys=[store.key_prefix + conversation_id], args=[args[0], repr(time.time()), *args[1:]])


def issue_ticket(self: RedisLockStore, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
    try:
        return int(_change(self, conversation_id, "issue", repr(time.time() + lock_lifetime), conversation_id))
    except Exception as exc:  # as Rasa's own: the caller expects a LockError
        raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc


def update_lock(self: RedisLockStore, conversation_id: str) -> None:
    _change(self, conversation_id, "update")


def finish_serving(self: RedisLockStore, conversation_id: str, ticket_number: int) -> None:
    _change(self, conversation_id, "finish", str(ticket_number))


def cleanup(self: RedisLockStore, conversation_id: str, ticket_number: int) -> None:
    """Finishes the ticket and deletes the lock if nobody waits, in one step."""
    _change(self, conversation_id, "cleanup", str(ticket_number))


def install() -> None:
    if getattr(RedisLockStore.issue_ticket, "_bank_guarded", False):
        return
    for name, function in (("issue_ticket", issue_ticket), ("update_lock", update_lock),
                           ("finish_serving", finish_serving), ("cleanup", cleanup)):
        function._bank_guarded = True  # type: ignore[attr-defined]
        setattr(RedisLockStore, name, function)
