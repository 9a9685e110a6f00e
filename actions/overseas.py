"""Credit-card overseas spending limit: the bot gathers, a person decides.

overseas_limit_form asks which card, where, when and how much — except what the first message
already says ("下个月去日本，想把信用卡境外额度调到5万" leaves the card and the dates) — reads it
back, and `action_handoff_overseas_limit` hands over with all of it in the context package, so
the agent asks nothing again. Every answer is kept as the customer said it (an agent reads
them), except the limit, which must be a number.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.customer_words import last4_digits, travel_dates
from actions.dialogue import message_parameters
from actions.formatting import yuan
from actions.knowledge import fragment
from actions.forms import BankFormValidation, text_of
from bot.masking import mask_text
from bot.nlu.normalizer import default_normalizer

MAX_OVERSEAS_LIMIT = 1_000_000
FORM_SLOTS = ("overseas_card", "travel_destination", "travel_dates", "desired_overseas_limit", "overseas_confirmed")
TRIP_ENTITIES = ("destination", "amount")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def limit_from(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    found = _NUMBER.search(default_normalizer()(str(value or "")))
    return float(found.group(0)) if found else 0.0


class ValidateOverseasLimitForm(BankFormValidation):
    trigger_intents = frozenset({"adjust_overseas_limit"})
    free_text_slots = frozenset({"travel_destination"})
    form_topic = "overseas_limit"

    def name(self) -> Text:
        return "validate_overseas_limit_form"

    def prefill(self, tracker: Tracker) -> Dict[Text, Any]:
        said = message_parameters(tracker, TRIP_ENTITIES)
        digits = last4_digits(text_of(tracker))
        return {"overseas_card": fragment("card_last4", last4=digits) if digits else None,
                "travel_destination": said.get("destination"),
                "travel_dates": travel_dates(text_of(tracker)), "desired_overseas_limit": said.get("amount")}

    async def extract_overseas_card(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = text_of(tracker)
        return self.from_start(tracker, "overseas_card") or \
            self.answer(tracker, "overseas_card", text, recognized=last4_digits(text))

    async def extract_travel_destination(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = text_of(tracker)
        named = message_parameters(tracker, TRIP_ENTITIES).get("destination")
        if named is None and travel_dates(text):  # asked where, told when: that is the dates
            return self.from_start(tracker, "travel_destination")
        return self.from_start(tracker, "travel_destination") or \
            self.answer(tracker, "travel_destination", named or text, recognized=named)

    async def extract_travel_dates(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        """The dates, also when said with the answer to another question ("日本，12月10号走")."""
        text = text_of(tracker)
        dates, asked = travel_dates(text), self.asked(tracker)
        if dates and asked and asked != "travel_dates" and self.answers(tracker, asked, recognized=dates):
            return {"travel_dates": dates}
        return self.from_start(tracker, "travel_dates") or \
            self.answer(tracker, "travel_dates", text, recognized=dates)

    async def extract_desired_overseas_limit(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        said = message_parameters(tracker).get("amount")
        return self.from_start(tracker, "desired_overseas_limit") or \
            self.answer(tracker, "desired_overseas_limit", said if said is not None else text_of(tracker), recognized=said)

    async def validate_overseas_card(self, value: Any, dispatcher: CollectingDispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"overseas_card": mask_text(str(value).strip())[:60]}

    async def validate_travel_destination(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"travel_destination": str(value).strip()[:60]}

    async def validate_travel_dates(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"travel_dates": str(value).strip()[:60]}

    async def validate_desired_overseas_limit(self, value: Any, dispatcher: CollectingDispatcher,
                                              tracker, domain) -> Dict[Text, Any]:
        amount = limit_from(value)
        if not 0 < amount <= MAX_OVERSEAS_LIMIT:
            dispatcher.utter_message(response="utter_invalid_amount")
            return {"desired_overseas_limit": None}
        return {"desired_overseas_limit": amount}

    async def validate_overseas_confirmed(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if value is False:
            dispatcher.utter_message(response="utter_form_start_over")
            return {slot: None for slot in FORM_SLOTS}
        return {"overseas_confirmed": value}


class ActionAskOverseasConfirmed(Action):
    """Reads the request back before a person takes it over."""

    def name(self) -> Text:
        return "action_ask_overseas_confirmed"

    def run(self, dispatcher, tracker: Tracker, domain) -> list:
        dispatcher.utter_message(response="utter_ask_overseas_confirmed", card=tracker.get_slot("overseas_card"),
                                 destination=tracker.get_slot("travel_destination"),
                                 dates=tracker.get_slot("travel_dates"),
                                 limit=yuan(tracker.get_slot("desired_overseas_limit")))
        return []
