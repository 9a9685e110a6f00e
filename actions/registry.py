"""Actions by name, for the dialogue layer that answers a topic with another action's code
(a follow-up on "转账限额" runs `action_my_transfer_limits` again, "登录好了" runs the action
that was asked before logging in)."""
from __future__ import annotations

import importlib
import logging
import pkgutil
from functools import lru_cache
from typing import Any, Dict, List, Text, Union

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.read_only_actions import is_preview, may_run_for_suggestion

logger = logging.getLogger(__name__)


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


def action_named(name: Text) -> Union[Action, "_NotForSuggestions"]:
    try:
        action = _actions()[name]
    except KeyError:
        raise KeyError(f"no custom action named {name!r} (data/knowledge/topics.yml names it)") from None
    return action if may_run_for_suggestion(name) else _NotForSuggestions(action)


def slots_of_form(form: Text) -> List[Text]:
    """The slots a form's validation action fills (validate_<form>: its `extract_`/`validate_`
    methods), asked for or only kept when said (a complaint's place); empty for another form."""
    validation = _actions().get(f"validate_{form}")
    own_slots = getattr(type(validation), "own_slots", None)
    return sorted(own_slots()) if own_slots else []


class _NotForSuggestions:
    """An action that changes something (files, freezes, hands off): never run to work out a
    suggested reply for the agent (bot/read_only_actions.py), whatever topics.yml names.
    Not an `Action` subclass: rasa_sdk registers (and instantiates) every one of those."""

    def __init__(self, action: Action) -> None:
        self._action = action

    def name(self) -> Text:
        return self._action.name()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        if is_preview(tracker.latest_message):
            logger.info("not running %s for a suggested reply: it is not read-only", self.name())
            return []
        return await self._action.run(dispatcher, tracker, domain)
