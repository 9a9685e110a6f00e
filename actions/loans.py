"""The customer's loan applications, and whose materials list applies to them."""
from __future__ import annotations

from typing import Optional, Text

from rasa_sdk.events import SlotSet

from actions.core_banking_client import CoreBankingClient, CoreBankingError, get_client
from actions.customer_data import CustomerDataAction, Events, in_thread
from actions.dialogue import message_parameters
from actions.faq import ActionAnswerLoanMaterials
from actions.formatting import when, yuan
from actions.identity import authenticated_customer
from actions.knowledge import fragment, joined
from bot.identity import Customer


def loan_lines(loan) -> list:
    lines = [fragment("loan_line", product=loan.product_name, loan_type=loan.loan_type.value, amount=yuan(loan.amount),
                      months=loan.term_months, status=loan.status.value)]
    steps = joined((fragment("loan_step", status=event.status, when=when(event.at)) for event in loan.history[-4:]),
                   "steps_separator")
    if steps:
        lines.append(fragment("loan_progress", steps=steps))
    if loan.next_step:
        lines.append(fragment("loan_next_step", next_step=loan.next_step))
    if loan.next_repayment_date:
        lines.append(fragment("loan_next_repayment", when=when(loan.next_repayment_date),
                              amount=yuan(loan.next_repayment_amount)))
    return lines


class ActionCheckLoanStatus(CustomerDataAction):
    anonymous_faq = "utter_check_loan_status"
    topic = "loan_status"

    def name(self) -> Text:
        return "action_check_loan_status"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        loans = client.loans(customer.token)
        asked_for = message_parameters(tracker).get("loan_type")
        if asked_for and any(loan.loan_type.value == asked_for for loan in loans):
            loans = [loan for loan in loans if loan.loan_type.value == asked_for]
        if not loans:
            dispatcher.utter_message(response="utter_no_loans")
            return []
        lines = [line for loan in loans for line in loan_lines(loan)]
        dispatcher.utter_message(response="utter_loan_status", lines="\n".join(lines))
        return []


def profile_customer_type(customer: Optional[Customer], client: CoreBankingClient) -> Optional[str]:
    if customer is None:
        return None
    try:
        return client.me(customer.token).customer_type.value
    except CoreBankingError:
        return None  # the general answer still helps; the customer can tell us their type


class ActionLoanMaterials(ActionAnswerLoanMaterials):
    """Loan materials for the customer's own type: what they said, else their bank profile."""

    def name(self) -> Text:
        return "action_loan_materials"

    async def run(self, dispatcher, tracker, domain) -> Events:
        events = []
        if not tracker.get_slot("customer_type") and not message_parameters(tracker).get("customer_type"):
            known = await in_thread(profile_customer_type, authenticated_customer(tracker), get_client())
            if known:
                tracker.slots["customer_type"] = known
                events.append(SlotSet("customer_type", known))
        return events + super().run(dispatcher, tracker, domain)
