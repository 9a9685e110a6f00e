"""The customer's loan applications, and whose materials list applies to them."""
from __future__ import annotations

from typing import Optional, Text

from rasa_sdk.events import SlotSet

from actions.core_banking_client import CoreBankingClient, CoreBankingError
from actions.customer_data import HUMAN_BUTTON, CustomerDataAction, Events, in_thread
from actions.faq import ActionAnswerLoanMaterials
from actions.formatting import when, yuan
from actions.identity import authenticated_customer
from connectors.common import Customer


class ActionCheckLoanStatus(CustomerDataAction):
    anonymous_faq = "utter_check_loan_status"

    def name(self) -> Text:
        return "action_check_loan_status"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        loans = client.loans(customer.token)
        if not loans:
            dispatcher.utter_message(text="没有查到您的贷款申请。想了解怎么申请，可以问我“贷款要什么材料”。",
                                     buttons=[{"title": "贷款材料", "payload": "/ask_loan_materials"}, HUMAN_BUTTON])
            return []
        lines = []
        for loan in loans:
            lines.append(f"· {loan.product_name}（{loan.loan_type.value}）{yuan(loan.amount)}，{loan.term_months} 个月："
                         f"{loan.status.value}")
            steps = " → ".join(f"{event.status}（{when(event.at)}）" for event in loan.history[-4:])
            if steps:
                lines.append(f"  进度：{steps}")
            if loan.next_step:
                lines.append(f"  下一步：{loan.next_step}")
            if loan.next_repayment_date:
                lines.append(f"  下次还款：{when(loan.next_repayment_date)} {yuan(loan.next_repayment_amount)}")
        dispatcher.utter_message(text="\n".join(lines), buttons=[
            {"title": "还款方式", "payload": "/ask_loan_repayment"}, HUMAN_BUTTON])
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
        if not tracker.get_slot("customer_type"):
            from actions.core_banking_client import get_client

            known = await in_thread(profile_customer_type, authenticated_customer(tracker), get_client())
            if known:
                tracker.slots["customer_type"] = known
                events.append(SlotSet("customer_type", known))
        return events + super().run(dispatcher, tracker, domain)
