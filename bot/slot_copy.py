"""Slots copied directly instead of through the `copy` module's generic protocol.

Every new tracker copies each of the domain's slots (51 here) with `copy.copy`:
`DialogueStateTracker.__init__`, which every retrieve, `tracker.copy()` and every replay of the
dialogue states (`init_copy`) goes through. For a plain object `copy.copy` asks it how to be
reduced (`__reduce_ex__`), then rebuilds it from that answer: 4 % of a worker's CPU in the live
profile (docs/performance.md, "Issue 13 item 3, second round"). A slot is a plain object with a
`__dict__` and no state hooks, so its copy is a new object of its class with a copy of that
`__dict__`: what `copy.copy` ends up doing, without asking. The unit test compares both.
RASA_SPEEDUPS_OFF=slot_copy leaves it out.
"""
from __future__ import annotations

from typing import TypeVar

from rasa.shared.core.slots import Slot

from bot.settings import speedup_on

S = TypeVar("S", bound=Slot)


def copy_slot(self: S) -> S:
    """A shallow copy, as `copy.copy` makes of an object without state hooks."""
    new = type(self).__new__(type(self))
    new.__dict__.update(self.__dict__)
    return new


def install() -> None:
    """Gives Slot a `__copy__` (which `copy.copy` uses when a class has one)."""
    if "__copy__" in Slot.__dict__ or not speedup_on("slot_copy"):
        return
    Slot.__copy__ = copy_slot  # type: ignore[attr-defined]
