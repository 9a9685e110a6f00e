"""Actions by name, for the dialogue layer that answers a topic with another action's code
(a follow-up on "转账限额" runs `action_my_transfer_limits` again, "登录好了" runs the action
that was asked before logging in)."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Dict, Text

from rasa_sdk import Action


def _all_subclasses(cls: type):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


@lru_cache(maxsize=1)
def _actions() -> Dict[Text, Action]:
    import actions

    for module in pkgutil.iter_modules(actions.__path__):
        importlib.import_module(f"actions.{module.name}")
    found: Dict[Text, Action] = {}
    for cls in _all_subclasses(Action):
        try:
            action = cls()
            found.setdefault(action.name(), action)
        except (TypeError, NotImplementedError):  # abstract bases
            continue
    return found


def action_named(name: Text) -> Action:
    try:
        return _actions()[name]
    except KeyError:
        raise KeyError(f"no custom action named {name!r} (data/knowledge/topics.yml names it)") from None
