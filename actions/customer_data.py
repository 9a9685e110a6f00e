"""The base of every action that reads or changes the customer's own data.

It settles, in one place, what each such action would otherwise repeat:
- identity only from the authenticated channel (actions/identity.py); an anonymous
  customer gets `utter_please_login` (or the action's own anonymous answer), never data;
- the blocking core-banking client runs in a worker thread, so the action server's event
  loop keeps serving other conversations;
- failures get a short, kind message and the offer of a person, never a raw error:
  timeout/5xx -> `utter_core_banking_unavailable` (and the handoff reason is remembered),
  expired token -> `utter_please_login`;
- the conversation's context (actions/dialogue.py): an answer records its `topic` and pauses
  a form that was asking something; a question asked before logging in is remembered and
  answered after "登录好了".
"""
from __future__ import annotations

import abc
import asyncio
import functools
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.core_banking_client import (
    CoreBankingClient,
    CoreBankingError,
    CoreBankingUnavailable,
    NotAuthenticated,
    get_client,
)
from actions.dialogue import (PENDING_REQUEST_SLOT, TOPIC_SLOT, forget_pending, pause_active_form,
                              remember_pending)
from actions.forms import BankFormValidation
from actions.identity import authenticated_customer, verified_customer_id_earlier
from actions.knowledge import button
from bot.handoff_rules import HandoffReason
from bot.intents import HANDED_BACK
from bot.identity import Customer

logger = logging.getLogger(__name__)

Events = List[Dict[Text, Any]]
HUMAN_BUTTON = button("human")  # title and payload: data/knowledge/wording.yml


async def in_thread(function, *args, **kwargs):
    """Runs a blocking call (HTTP with requests) without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(function, *args, **kwargs))


class CustomerDataAction(Action, abc.ABC):
    """Subclasses implement `answer()`; it runs in a worker thread with a verified customer.

    Abstract, so rasa_sdk registers only the concrete actions built on it.
    `anonymous_faq` names the general answer (a domain response) an anonymous customer gets
    before the invitation to log in.
    """

    anonymous_faq: Optional[Text] = None
    #: the topic this action answers (data/knowledge/topics.yml); None for a form's own steps
    topic: Optional[Text] = None
    #: what to run once an anonymous customer has logged in (default: this action, if it
    #: answers a topic); a form's last step names its form
    resume_with: Optional[Text] = None

    @abc.abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
               customer: Customer, client: CoreBankingClient) -> Events:
        """The action's work, with a verified customer and a core-banking client."""

    def anonymous(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        if self.anonymous_faq:
            dispatcher.utter_message(response=self.anonymous_faq)
        dispatcher.utter_message(response="utter_please_login")
        return []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        customer = authenticated_customer(tracker)
        if customer is None:
            events = self.anonymous(dispatcher, tracker, domain)
            resume_with = self.resume_with or (self.name() if self.topic else None)
            events += remember_pending(tracker, resume_with) if resume_with else []
        else:
            events = forget_pending() if tracker.get_slot(PENDING_REQUEST_SLOT) else []
            events += await self._answer_customer(dispatcher, tracker, domain, customer)
        if self.topic:
            events += [SlotSet(TOPIC_SLOT, self.topic)] + pause_active_form(dispatcher, tracker)
        return events

    async def _answer_customer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                               customer: Customer) -> Events:
        try:
            return await in_thread(self.answer, dispatcher, tracker, domain, customer, get_client())
        except NotAuthenticated:
            dispatcher.utter_message(response="utter_please_login")
            return []
        except CoreBankingUnavailable as exc:
            logger.error("%s for %s: core banking unavailable (%s)", self.name(), tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_core_banking_unavailable")
            return [SlotSet("handoff_reason", HandoffReason.CORE_BANKING_UNAVAILABLE.value)]
        except CoreBankingError as exc:  # a 4xx we did not expect: our bug, not the customer's
            logger.error("%s for %s: unexpected core-banking answer (%s)", self.name(), tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_core_banking_unavailable")
            return []


class CustomerFormValidation(BankFormValidation, abc.ABC):
    """A form about the customer's own data asks an anonymous customer nothing: its last step
    (a CustomerDataAction) answers them with the log-in invitation instead."""

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        return domain_slots if authenticated_customer(tracker) is not None or _handed_back_to_a_customer(tracker) \
            else []


def _handed_back_to_a_customer(tracker: Tracker) -> bool:
    """An agent started this form for a logged-in customer (intent handed_back carries no token):
    ask its questions; the customer's answers bring their token before any data is read."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent == HANDED_BACK and verified_customer_id_earlier(tracker) is not None
