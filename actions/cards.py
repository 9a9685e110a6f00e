"""Lost card: which card -> confirm -> freeze at once -> how to get a new one.

card_lost_form asks `lost_card` (buttons with the customer's own cards, by last 4 digits; a
card named in the first message, "我的信用卡丢了", is taken without asking) and
`confirm_freeze` (affirm/deny; "我说错了，是借记卡" changes the card and asks again), then
`action_freeze_card` freezes it in core banking. Identity is the authenticated channel's: an
anonymous customer is told how to freeze immediately by phone and invited to log in, and the
form asks nothing.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.core_banking_client import CoreBankingClient, CoreBankingError, get_client
from actions.customer_data import CustomerDataAction, CustomerFormValidation, Events, in_thread
from actions.customer_words import last4_digits
from actions.dialogue import message_parameters, offer_paused_form
from actions.formatting import last4
from actions.forms import text_of
from actions.identity import authenticated_customer
from actions import knowledge
from actions.knowledge import button, fragment, label
from bot.identity import Customer


def card_title(card) -> str:
    return fragment("card_title", card_type=label("card_type", card.card_type.value), last4=last4(card.masked_number))


def match_card(text: str, cards) -> Optional[Any]:
    """The one card the customer means: by last 4 digits, else by type if that is unique."""
    digits = last4_digits(text or "")
    for card in cards:
        if digits and last4(card.masked_number) == digits:
            return card
    by_type = [c for c in cards if label("card_type", c.card_type.value) in (text or "")]
    return by_type[0] if len(by_type) == 1 else None


def card_hint(tracker: Tracker) -> Optional[str]:
    """Words in the latest message that name a card: its type (信用卡) or last 4 digits."""
    card_type = message_parameters(tracker).get("card_type")
    digits = last4_digits(text_of(tracker))
    return " ".join(part for part in (card_type, digits) if part) or None


class ActionAskLostCard(CustomerDataAction):
    """Asks which card, offering the customer's own active cards as buttons."""

    def name(self) -> Text:
        return "action_ask_lost_card"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        cards = [c for c in client.cards(customer.token) if c.status.value == "active"]
        buttons = [{"title": card_title(c), "payload": card_title(c)} for c in cards]
        dispatcher.utter_message(response="utter_ask_lost_card", buttons=buttons + [button("human")])
        return []


class ValidateCardLostForm(CustomerFormValidation):
    trigger_intents = frozenset({"report_card_lost"})
    form_topic = "card_lost"

    def name(self) -> Text:
        return "validate_card_lost_form"

    async def extract_lost_card(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        hint = card_hint(tracker)
        if self.started_by_this_message(tracker) and hint:
            return {"lost_card": hint}
        if self.asked(tracker) == "confirm_freeze" and hint:  # "我说错了，是借记卡"
            return {"lost_card": hint}
        return self.answer(tracker, "lost_card", text_of(tracker), recognized=hint)

    async def validate_lost_card(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        customer = authenticated_customer(tracker)
        try:
            cards = await in_thread(get_client().cards, customer.token)
        except CoreBankingError:
            dispatcher.utter_message(response="utter_core_banking_unavailable")
            return {"lost_card": None, "requested_slot": None}
        active = [c for c in cards if c.status.value == "active"]
        card = next((c for c in active if c.card_id == value), None) or match_card(str(value), active)
        if card is None:  # a card frozen before: nothing to ask, action_freeze_card says it is safe
            frozen = match_card(str(value), [c for c in cards if c.status.value == "frozen"])
            if frozen is not None:
                return {"lost_card": frozen.card_id, "lost_card_title": card_title(frozen),
                        "card_type": label("card_type", frozen.card_type.value), "confirm_freeze": True}
            dispatcher.utter_message(response="utter_card_not_found")
            return {"lost_card": None}
        return {"lost_card": card.card_id, "lost_card_title": card_title(card),
                "card_type": label("card_type", card.card_type.value), "confirm_freeze": None}

    async def validate_confirm_freeze(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        if value is False and card_hint(tracker):  # "不对，是借记卡": another card, not a refusal
            return {"confirm_freeze": None}
        return {"confirm_freeze": value}


class ActionFreezeCard(CustomerDataAction):
    resume_with = "card_lost_form"

    def name(self) -> Text:
        return "action_freeze_card"

    def anonymous(self, dispatcher, tracker, domain) -> Events:
        """How to freeze it now by phone or in the app (for the card type named, if any), and
        the offer to freeze it here once they have logged in (the form resumes then)."""
        card_type = message_parameters(tracker).get("card_type")
        topic = knowledge.topics().topics["card_lost"]
        part = topic.part("card_type", card_type) if card_type else None
        if part:
            dispatcher.utter_message(response="utter_topic_part", part=part, topic_label=topic.label,
                                     topic_intent=topic.intents[0])
        else:
            dispatcher.utter_message(response="utter_card_lost_anonymous")
        dispatcher.utter_message(response="utter_login_to_freeze")
        offer_paused_form(dispatcher, tracker)
        return [SlotSet("topic", "card_lost")] + ([SlotSet("card_type", card_type)] if card_type else [])

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        card_id = tracker.get_slot("lost_card")
        reset = [SlotSet("lost_card", None), SlotSet("lost_card_title", None), SlotSet("confirm_freeze", None),
                 SlotSet("topic", "card_lost")]
        if not card_id:
            return reset
        if tracker.get_slot("confirm_freeze") is not True:
            dispatcher.utter_message(response="utter_card_not_frozen")
            offer_paused_form(dispatcher, tracker)
            return reset
        result = client.freeze_card(customer.token, card_id, reason="客户在线挂失")
        frozen_now = "utter_card_frozen" if result.changed else "utter_card_already_frozen"
        dispatcher.utter_message(response=frozen_now, card=card_title(result.card))
        dispatcher.utter_message(response="utter_card_replacement")
        offer_paused_form(dispatcher, tracker)
        return reset
