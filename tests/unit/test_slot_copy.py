"""bot/slot_copy.py: a slot's direct copy is what `copy.copy` makes of it through its protocol."""
from __future__ import annotations

import copy
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.slots import Slot

from bot import slot_copy

ROOT = Path(__file__).resolve().parents[2]


def test_every_slot_of_the_domain_copies_as_copy_copy_does(monkeypatch):
    monkeypatch.delattr(Slot, "__copy__", raising=False)  # stock: copy.copy's generic protocol
    slots = Domain.load(str(ROOT / "domain.yml")).slots
    for value, slot in enumerate(slots):
        slot.value = slot.initial_value if value % 2 else ["a value", value]
    stock = [copy.copy(slot) for slot in slots]
    direct = [slot_copy.copy_slot(slot) for slot in slots]
    assert len(slots) > 20
    for original, expected, made in zip(slots, stock, direct):
        assert type(made) is type(expected) and made is not original
        assert made.__dict__ == expected.__dict__
        assert all(made.__dict__[name] is expected.__dict__[name] for name in expected.__dict__)  # shallow, as stock
        made.value = "changed"
        assert original.value != "changed"


def test_installed_it_is_what_copy_copy_uses(monkeypatch):
    monkeypatch.delattr(Slot, "__copy__", raising=False)
    slot_copy.install()
    try:
        slot = Domain.load(str(ROOT / "domain.yml")).slots[0]
        assert Slot.__copy__ is slot_copy.copy_slot and copy.copy(slot).__dict__ == slot.__dict__
    finally:
        del Slot.__copy__
