"""Complaints: acknowledge -> record a ticket -> promise a reply time -> report its status.

complaint_form takes what happened, when (and where, if said) and what the customer wants;
whatever the first message already says is not asked again ("我要投诉 昨天下午在人民路支行排队
两个小时都没人管" leaves only the wish). A customer who is not logged in leaves a phone number
instead: the complaint is recorded as a guest ticket (TG...) and the bank calls back. Before
anything is filed, the form reads it all back; "要修改" starts over. The ticket id is kept in
`complaint_ticket`; "我的投诉处理到哪了" is answered from core banking.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet

from actions.core_banking_client import CoreBankingClient, CoreBankingError, NotFound, get_client
from actions.customer_data import CustomerDataAction, Events, in_thread
from actions.customer_words import complaint_story, phone_number, place_phrase, time_phrase
from actions.dialogue import offer_paused_form
from actions.formatting import when
from actions.forms import BankFormValidation, text_of
from actions.identity import authenticated_customer
from actions.knowledge import complaint_categories, fragment, joined
from bot.masking import mask_mobile, mask_text
from bot.identity import Customer

logger = logging.getLogger(__name__)

FORM_SLOTS = ("complaint_description", "complaint_time", "complaint_place", "complaint_outcome", "contact_phone",
              "complaint_confirmed")
_TICKET_ID = re.compile(r"T[SG]\d{6,}", re.IGNORECASE)


def complaint_category(text: str) -> str:
    """The team the complaint goes to, from the customer's words (data/knowledge/complaint_categories.yml)."""
    return complaint_categories().category_of(text)


class ValidateComplaintForm(BankFormValidation):
    """Anyone may complain: a logged-in customer is identified by the channel, anyone else is
    asked for a phone number to be called back on."""

    trigger_intents = frozenset({"complain"})
    free_text_slots = frozenset({"complaint_description", "complaint_outcome"})
    optional_slots = frozenset({"complaint_place"})
    form_topic = "complaint"

    def name(self) -> Text:
        return "validate_complaint_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher, tracker: Tracker, domain) -> List[Text]:
        if authenticated_customer(tracker) is not None:
            return [slot for slot in domain_slots if slot != "contact_phone"]
        return domain_slots

    def prefill(self, tracker: Tracker) -> Dict[Text, Any]:
        text = text_of(tracker)
        return {"complaint_description": complaint_story(text), "complaint_time": time_phrase(text),
                "complaint_place": place_phrase(text)}

    async def extract_complaint_description(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self.from_start(tracker, "complaint_description") or \
            self.answer(tracker, "complaint_description", text_of(tracker))

    async def extract_complaint_time(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        """Asked for, or said when answering another question of the form ("昨天在人民路支行排队
        两个小时" for what happened): then it is not asked again."""
        asked = self.asked(tracker)
        if asked == "complaint_time":
            said = time_phrase(text_of(tracker))
            return self.answer(tracker, "complaint_time", said or text_of(tracker), recognized=said)
        if asked and not tracker.get_slot("complaint_time") and self.answers(tracker, asked):
            said = time_phrase(text_of(tracker))
            return {"complaint_time": said} if said else {}
        return self.from_start(tracker, "complaint_time")

    async def extract_complaint_place(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        """Said when answering any question of the form ("昨天下午在人民路支行"), or at the start."""
        asked = self.asked(tracker)
        if tracker.get_slot("complaint_place"):  # the first branch named is the one it happened at
            return {}
        if asked and self.answers(tracker, asked):
            place = place_phrase(text_of(tracker))
            return {"complaint_place": place[:60]} if place else {}
        return self.from_start(tracker, "complaint_place")

    async def extract_complaint_outcome(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self.answer(tracker, "complaint_outcome", text_of(tracker))

    async def extract_contact_phone(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = text_of(tracker)
        return self.answer(tracker, "contact_phone", text, recognized=phone_number(text))

    async def validate_complaint_description(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if len(text) < 2 or text.startswith("/"):
            dispatcher.utter_message(response="utter_complaint_description_too_short")
            return {"complaint_description": None}
        return {"complaint_description": text[:1000]}

    async def validate_complaint_time(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"complaint_time": str(value or "").strip()[:100] or fragment("not_said")}

    async def validate_complaint_outcome(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"complaint_outcome": str(value or "").strip()[:300] or fragment("not_said")}

    async def validate_contact_phone(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        phone = phone_number(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone")
        return {"contact_phone": phone}

    async def validate_complaint_confirmed(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if value is False:
            dispatcher.utter_message(response="utter_form_start_over")
            return {slot: None for slot in FORM_SLOTS if slot != "contact_phone"}
        return {"complaint_confirmed": value}


class ActionAskComplaintConfirmed(Action):
    """Reads the complaint back before it is filed."""

    def name(self) -> Text:
        return "action_ask_complaint_confirmed"

    def run(self, dispatcher, tracker: Tracker, domain) -> Events:
        place, phone = tracker.get_slot("complaint_place"), tracker.get_slot("contact_phone")
        dispatcher.utter_message(
            response="utter_ask_complaint_confirmed", description=tracker.get_slot("complaint_description"),
            time=tracker.get_slot("complaint_time"), outcome=tracker.get_slot("complaint_outcome"),
            place_line=fragment("complaint_place_line", place=place) if place else "",
            phone_line=fragment("complaint_phone_line", phone=mask_mobile(phone)) if phone else "")
        return []


def filed_text(tracker: Tracker) -> Dict[str, Optional[str]]:
    description = tracker.get_slot("complaint_description") or ""
    place = tracker.get_slot("complaint_place")
    if place and place not in description:
        description = fragment("complaint_description_with_place", description=description, place=place)
    return {"description": description, "time": tracker.get_slot("complaint_time") or fragment("not_said"),
            "outcome": tracker.get_slot("complaint_outcome") or None}


class ActionSubmitComplaint(CustomerDataAction):
    """Files the complaint: the customer's own ticket, or a guest ticket with the phone given."""

    def name(self) -> Text:
        return "action_submit_complaint"

    def cleared(self) -> Events:
        return [SlotSet(name, None) for name in FORM_SLOTS]

    def anonymous(self, dispatcher, tracker, domain) -> Events:
        raise NotImplementedError  # run() files guest tickets itself

    async def run(self, dispatcher, tracker: Tracker, domain) -> Events:
        if tracker.get_slot("complaint_confirmed") is not True:
            return self.cleared()
        if authenticated_customer(tracker) is not None:
            events = await super().run(dispatcher, tracker, domain)
        else:
            events = await self.file_guest_ticket(dispatcher, tracker)
        offer_paused_form(dispatcher, tracker)
        return events

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        said = filed_text(tracker)
        ticket = client.create_complaint(
            customer.token, category=complaint_category(said["description"]),
            description=mask_text(fragment("complaint_filed_description", description=said["description"],
                                           time=said["time"])),
            desired_outcome=mask_text(said["outcome"] or "") or None)
        dispatcher.utter_message(response="utter_complaint_filed", ticket_id=ticket.ticket_id,
                                 category=ticket.category.value, promised=ticket.promised_reply_text,
                                 reply_by=when(ticket.promised_reply_by))
        return [SlotSet("complaint_ticket", ticket.ticket_id)] + self.cleared()

    async def file_guest_ticket(self, dispatcher, tracker: Tracker) -> Events:
        said = filed_text(tracker)
        try:
            ticket = await in_thread(get_client().create_guest_complaint,
                                     category=complaint_category(said["description"]),
                                     description=mask_text(said["description"]), occurred=said["time"],
                                     desired_outcome=mask_text(said["outcome"] or "") or None,
                                     contact_phone=tracker.get_slot("contact_phone"))
        except CoreBankingError as exc:  # keep what they said: a person takes it from here
            logger.error("guest complaint for %s not filed: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_core_banking_unavailable")
            return [SlotSet("handoff_reason", "core_banking_unavailable")]
        dispatcher.utter_message(response="utter_guest_complaint_filed", ticket_id=ticket.ticket_id,
                                 promised=ticket.promised_reply_text, phone=ticket.contact_phone_masked)
        return [SlotSet("complaint_ticket", ticket.ticket_id)] + self.cleared()


class ActionCheckComplaintStatus(CustomerDataAction):
    anonymous_faq = "utter_check_complaint_status"
    topic = "complaint_status"

    def name(self) -> Text:
        return "action_check_complaint_status"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        text = (tracker.latest_message or {}).get("text") or ""
        mentioned: Optional[str] = next(iter(_TICKET_ID.findall(text)), None)
        ticket_id = (mentioned or tracker.get_slot("complaint_ticket") or "").upper()
        ticket = None
        if ticket_id.startswith("TS"):
            try:
                ticket = client.complaint(customer.token, ticket_id)
            except NotFound:
                dispatcher.utter_message(response="utter_complaint_not_found", ticket_id=ticket_id)
        if ticket is None:
            tickets = client.complaints(customer.token)
            if not tickets:
                dispatcher.utter_message(response="utter_no_complaints")
                return []
            ticket = max(tickets, key=lambda t: t.created_at)
        steps = joined((fragment("complaint_step", status=event.status, when=when(event.at))
                        for event in ticket.history[-4:]), "steps_separator")
        dispatcher.utter_message(response="utter_complaint_status", ticket_id=ticket.ticket_id,
                                 category=ticket.category.value, status=ticket.status.value,
                                 steps=steps or ticket.status.value, reply_by=when(ticket.promised_reply_by))
        return [SlotSet("complaint_ticket", ticket.ticket_id)]
