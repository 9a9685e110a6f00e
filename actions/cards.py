"""Lost card: which card -> confirm -> freeze at once -> how to get a new one.

card_lost_form asks `lost_card` (buttons with the customer's own cards, by last 4 digits)
and `confirm_freeze` (affirm/deny), then `action_freeze_card` freezes it in core banking.
Identity is the authenticated channel's: an anonymous customer is told how to freeze
immediately by phone and invited to log in, and the form asks nothing.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.core_banking_client import CoreBankingClient, CoreBankingError, get_client
from actions.customer_data import CustomerFormValidation, HUMAN_BUTTON, CustomerDataAction, Events, in_thread
from actions.formatting import last4
from actions.identity import authenticated_customer
from connectors.common import Customer

CARD_TYPE_LABELS = {"debit": "借记卡", "credit": "信用卡"}
_FOUR_DIGITS = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def card_title(card) -> str:
    return f"{CARD_TYPE_LABELS.get(card.card_type.value, card.card_type.value)} 尾号{last4(card.masked_number)}"


def match_card(text: str, cards) -> Optional[Any]:
    """The one card the customer means: by last 4 digits, else by type if that is unique."""
    digits = _FOUR_DIGITS.findall(text or "")
    for card in cards:
        if last4(card.masked_number) in digits:
            return card
    by_type = [c for c in cards if CARD_TYPE_LABELS.get(c.card_type.value, "") in (text or "")]
    return by_type[0] if len(by_type) == 1 else None


class ActionAskLostCard(CustomerDataAction):
    """Asks which card, offering the customer's own active cards as buttons."""

    def name(self) -> Text:
        return "action_ask_lost_card"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        cards = [c for c in client.cards(customer.token) if c.status.value == "active"]
        buttons = [{"title": card_title(c), "payload": card_title(c)} for c in cards]
        dispatcher.utter_message(text="请问丢的是哪张卡？点一下，或告诉我卡号后四位。", buttons=buttons + [HUMAN_BUTTON])
        return []


class ValidateCardLostForm(CustomerFormValidation):
    def name(self) -> Text:
        return "validate_card_lost_form"

    async def validate_lost_card(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        customer = authenticated_customer(tracker)
        try:
            cards = await in_thread(get_client().cards, customer.token)
        except CoreBankingError:
            dispatcher.utter_message(response="utter_core_banking_unavailable")
            return {"lost_card": None, "requested_slot": None}
        card = match_card(str(value), [c for c in cards if c.status.value == "active"])
        if card is None:
            dispatcher.utter_message(text="没找到这张卡。请点选下面的卡，或告诉我卡号后四位。")
            return {"lost_card": None}
        return {"lost_card": card.card_id, "card_type": CARD_TYPE_LABELS.get(card.card_type.value)}


class ActionFreezeCard(CustomerDataAction):
    def name(self) -> Text:
        return "action_freeze_card"

    def anonymous(self, dispatcher, tracker, domain) -> Events:
        dispatcher.utter_message(response="utter_card_lost_anonymous")
        return []

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        card_id = tracker.get_slot("lost_card")
        reset = [SlotSet("lost_card", None), SlotSet("confirm_freeze", None)]
        if not card_id:
            return reset
        if tracker.get_slot("confirm_freeze") is not True:
            dispatcher.utter_message(text="好的，卡没有冻结。如果找不到卡，随时告诉我“挂失”。", buttons=[HUMAN_BUTTON])
            return reset
        result = client.freeze_card(customer.token, card_id, reason="客户在线挂失")
        dispatcher.utter_message(
            text=f"{card_title(result.card)} 已冻结，现在不能消费和取款了。{result.message}")
        dispatcher.utter_message(response="utter_card_replacement")
        return reset
