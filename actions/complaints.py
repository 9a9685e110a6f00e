"""Complaints: acknowledge -> record a ticket -> promise a reply time -> report its status.

complaint_form collects what happened, when, and what the customer wants; the ticket is
recorded in core banking (so it never vanishes) and its id kept in `complaint_ticket`.
"我的投诉处理到哪了" is answered from core banking: by the ticket id in the message, else
the latest ticket.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Text

from rasa_sdk.events import SlotSet

from actions.core_banking_client import CoreBankingClient, NotFound
from actions.customer_data import CustomerFormValidation, HUMAN_BUTTON, CustomerDataAction, Events
from actions.formatting import when
from bot.masking import mask_text
from connectors.common import Customer

FORM_SLOTS = ("complaint_description", "complaint_time", "complaint_outcome")
_TICKET_ID = re.compile(r"TS\d{6,}", re.IGNORECASE)
# First match wins; the customer's words decide the category the complaint team sees.
CATEGORY_KEYWORDS = [
    ("收费", ("手续费", "扣费", "扣了", "年费", "收费", "乱扣", "多扣")),
    ("转账汇款", ("转账", "汇款", "没到账", "到账")),
    ("银行卡", ("卡", "挂失", "冻结")),
    ("贷款", ("贷款", "利息", "还款")),
    ("手机银行", ("手机银行", "app", "APP", "登录", "验证码")),
    ("理财", ("理财", "基金", "保险")),
    ("服务态度", ("排队", "等了", "态度", "柜员", "大堂", "服务")),
]


def complaint_category(text: str) -> str:
    for category, keywords in CATEGORY_KEYWORDS:
        if any(keyword in text for keyword in keywords):
            return category
    return "其他"


class ValidateComplaintForm(CustomerFormValidation):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def validate_complaint_description(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if len(text) < 2 or text.startswith("/"):
            dispatcher.utter_message(text="请再具体说说发生了什么，比如在哪里、遇到了什么问题。")
            return {"complaint_description": None}
        return {"complaint_description": text[:1000]}

    async def validate_complaint_time(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"complaint_time": str(value or "").strip()[:100] or "未说明"}

    async def validate_complaint_outcome(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"complaint_outcome": str(value or "").strip()[:300] or "未说明"}


class ActionSubmitComplaint(CustomerDataAction):
    def name(self) -> Text:
        return "action_submit_complaint"

    def anonymous(self, dispatcher, tracker, domain) -> Events:
        dispatcher.utter_message(response="utter_complaint_anonymous")
        return []

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        description = tracker.get_slot("complaint_description") or ""
        when_said = tracker.get_slot("complaint_time") or "未说明"
        ticket = client.create_complaint(
            customer.token, category=complaint_category(description),
            description=mask_text(f"{description}（发生时间：{when_said}）"),
            desired_outcome=mask_text(tracker.get_slot("complaint_outcome") or "") or None)
        dispatcher.utter_message(
            text=(f"非常抱歉给您带来不好的体验。您的投诉已登记，单号 {ticket.ticket_id}（{ticket.category.value}）。\n"
                  f"{ticket.promised_reply_text}，最晚 {when(ticket.promised_reply_by)} 前会有专人联系您。\n"
                  f"随时问我“我的投诉处理到哪了”就能查进度。"),
            buttons=[{"title": "查投诉进度", "payload": "/check_complaint_status"}, HUMAN_BUTTON])
        return [SlotSet("complaint_ticket", ticket.ticket_id)] + [SlotSet(name, None) for name in FORM_SLOTS]


class ActionCheckComplaintStatus(CustomerDataAction):
    anonymous_faq = "utter_check_complaint_status"

    def name(self) -> Text:
        return "action_check_complaint_status"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        text = (tracker.latest_message or {}).get("text") or ""
        mentioned: Optional[str] = next(iter(_TICKET_ID.findall(text)), None)
        ticket_id = (mentioned or tracker.get_slot("complaint_ticket") or "").upper()
        ticket = None
        if ticket_id:
            try:
                ticket = client.complaint(customer.token, ticket_id)
            except NotFound:
                dispatcher.utter_message(text=f"没有查到单号 {ticket_id} 的投诉，下面是您最近的一条：")
        if ticket is None:
            tickets = client.complaints(customer.token)
            if not tickets:
                dispatcher.utter_message(text="您目前没有投诉记录。需要投诉的话，告诉我发生了什么。", buttons=[HUMAN_BUTTON])
                return []
            ticket = max(tickets, key=lambda t: t.created_at)
        steps = " → ".join(f"{event.status}（{when(event.at)}）" for event in ticket.history[-4:])
        dispatcher.utter_message(
            text=(f"投诉单 {ticket.ticket_id}（{ticket.category.value}）目前：{ticket.status.value}。\n"
                  f"进度：{steps or ticket.status.value}\n承诺答复时间：{when(ticket.promised_reply_by)} 前。"),
            buttons=[HUMAN_BUTTON])
        return [SlotSet("complaint_ticket", ticket.ticket_id)]
