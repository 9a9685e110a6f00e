"""Balances, the customer's own transfer limits, how to raise them, limit-raise requests and
transfer status. Wording: domain.yml responses and data/knowledge/wording.yml fragments."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.core_banking_client import CoreBankingClient, InvalidRequest
from actions.customer_data import CustomerDataAction, CustomerFormValidation, Events
from actions.dialogue import message_parameters, offer_paused_form
from actions.faq import ActionAnswerTransferLimit
from actions.forms import text_of
from actions.formatting import BANK_TIMEZONE, when, yuan
from actions.knowledge import button, fragment, label
from actions.overseas import limit_from
from bot.identity import Customer

LIMIT_RAISE_SLOTS = ("raise_channel", "new_daily_limit", "verification_method", "limit_raise_confirmed")


def latest_amount(tracker: Tracker) -> Optional[float]:
    value = message_parameters(tracker).get("amount")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def verification_label(code: str) -> str:
    return label("verification", code)


class ActionCheckBalance(CustomerDataAction):
    anonymous_faq = "utter_check_balance"
    topic = "balance"

    def name(self) -> Text:
        return "action_check_balance"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        accounts = client.accounts(customer.token)
        if not accounts:
            dispatcher.utter_message(response="utter_no_accounts")
            return []
        lines = [fragment("balance_line", account_type=a.account_type, number=a.masked_account_number,
                          balance=yuan(a.balance), available=yuan(a.available_balance)) for a in accounts]
        dispatcher.utter_message(response="utter_balance", lines="\n".join(lines))
        return []


# ------------------------------------------------------------------ the customer's own limits
def limit_lines(limits, channel: Optional[str]) -> List[str]:
    rows = [row for row in limits.limits if channel is None or row.channel.value == channel]
    return [fragment("my_limit_line", channel=row.channel.value, verification=verification_label(row.verification),
                     single=yuan(row.single_limit), daily=yuan(row.daily_limit), used=yuan(row.used_today),
                     left=yuan(row.remaining_today)) for row in rows]


def why_not(limits, channel: str, amount: float) -> Optional[str]:
    """Explains, with the customer's own numbers, why a transfer of `amount` is refused."""
    row = next((r for r in limits.limits if r.channel.value == channel), None)
    if row is None:
        return None
    if amount > float(row.single_limit):
        return fragment("over_single_limit", channel=channel, verification=verification_label(row.verification),
                        single=yuan(row.single_limit), amount=yuan(amount))
    if amount > float(row.remaining_today):
        return fragment("over_daily_limit", channel=channel, daily=yuan(row.daily_limit), used=yuan(row.used_today),
                        left=yuan(row.remaining_today), amount=yuan(amount))
    return fragment("within_limit", channel=channel, left=yuan(row.remaining_today), amount=yuan(amount))


class ActionMyTransferLimits(CustomerDataAction):
    """ask_transfer_limit: the customer's own limits and what is left today (only the channel
    they name, when they name one); the bank's table when anonymous."""

    topic = "transfer_limit"

    def name(self) -> Text:
        return "action_my_transfer_limits"

    def anonymous(self, dispatcher, tracker, domain) -> Events:
        events = ActionAnswerTransferLimit().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_login_for_own_data")
        return events

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        limits = client.transfer_limits(customer.token)
        named = message_parameters(tracker).get("channel")
        channel = named or tracker.get_slot("channel") or knowledge.transfer_limits().default_channel
        amount = latest_amount(tracker) or tracker.get_slot("amount")
        lines = []
        if amount:
            explanation = why_not(limits, channel, float(amount))
            if explanation:
                lines.append(explanation)
        lines.append(fragment("my_limits_title"))
        lines.extend(limit_lines(limits, named))
        if limits.note and not named:
            lines.append(limits.note)
        lines.append(fragment("my_limits_raise_hint"))
        dispatcher.utter_message(text="\n".join(lines),
                                 buttons=[button("raise_limit"), button("apply_limit_raise"), button("human")])
        return [SlotSet("channel", channel)]


class ActionAnswerRaiseLimit(CustomerDataAction):
    """How to raise the limits: the bank's ways (anonymous), or for a logged-in customer the next
    way up from what they use today on the channel, step by step."""

    topic = "raise_limit"

    def name(self) -> Text:
        return "action_answer_raise_limit"

    def anonymous(self, dispatcher, tracker, domain) -> Events:
        channel = message_parameters(tracker).get("channel")
        topic = knowledge.topics().topics["raise_limit"]
        part = topic.part("channel", channel) if channel else None
        if part:
            dispatcher.utter_message(response="utter_topic_part", part=part, topic_label=topic.label,
                                     topic_intent=topic.intents[0])
        else:
            dispatcher.utter_message(text=raise_methods_text(), buttons=raise_buttons())
        return []

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        limits = client.transfer_limits(customer.token)
        channel = message_parameters(tracker).get("channel") or tracker.get_slot("channel") or \
            knowledge.transfer_limits().default_channel
        row = next((r for r in limits.limits if r.channel.value == channel), None)
        methods = knowledge.transfer_limits().raise_methods
        if row is None or row.verification != "sms" or channel != "手机银行":
            dispatcher.utter_message(text=raise_methods_text(), buttons=raise_buttons())
            return []
        face = methods[0]  # the table lists the simplest way first: 刷脸
        dispatcher.utter_message(response="utter_raise_limit_for_you", channel=channel,
                                 verification=verification_label(row.verification), daily=yuan(row.daily_limit),
                                 method=face.method, needs=face.needs, reaches=face.reaches)
        return []


def raise_methods_text() -> str:
    lines = [fragment("raise_methods_title")]
    for i, way in enumerate(knowledge.transfer_limits().raise_methods, start=1):
        lines.append(fragment("raise_method", i=i, method=way.method, needs=way.needs, reaches=way.reaches))
    lines.append(fragment("raise_methods_note"))
    return "\n".join(lines)


def raise_buttons() -> List[Dict[str, str]]:
    return [button("apply_limit_raise"), button("branch_hours"), button("human")]


# ------------------------------------------------------------------ limit_raise_form
RAISE_CHANNELS = ("手机银行", "网上银行", "ATM", "微信")
VERIFICATION_WORDS = (("刷脸", "face"), ("人脸", "face"), ("面部", "face"), ("u盾", "ushield"), ("ukey", "ushield"),
                      ("短信", "sms"), ("验证码", "sms"))
MAX_DAILY_LIMIT = 100_000_000


def raise_channel_from(text: str) -> Optional[str]:
    if text in RAISE_CHANNELS:
        return text
    found = [channel for channel in RAISE_CHANNELS if channel.lower() in text.lower()]
    if "网银" in text:
        found.append("网上银行")
    if "app" in text.lower() or "手机" in text:
        found.append("手机银行")
    return found[0] if found else None


def verification_from(text: str) -> Optional[str]:
    lowered = text.lower().replace(" ", "")
    return next((method for word, method in VERIFICATION_WORDS if word in lowered), None)


class ValidateLimitRaiseForm(CustomerFormValidation):
    """Turns free-text answers into a channel, a number and a verification method, or asks again.
    The channel the conversation was already about (the `channel` slot) is used, not asked."""

    trigger_intents = frozenset({"start_limit_raise"})
    form_topic = "raise_limit"

    def name(self) -> Text:
        return "validate_limit_raise_form"

    def prefill(self, tracker: Tracker) -> Dict[Text, Any]:
        channel = message_parameters(tracker).get("channel") or tracker.get_slot("channel")
        return {"raise_channel": channel if channel in RAISE_CHANNELS else None}

    async def extract_raise_channel(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = text_of(tracker)
        return self.from_start(tracker, "raise_channel") or \
            self.answer(tracker, "raise_channel", text, recognized=raise_channel_from(text))

    async def extract_new_daily_limit(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        said = message_parameters(tracker).get("amount")
        return self.answer(tracker, "new_daily_limit", said if said is not None else text_of(tracker), recognized=said)

    async def extract_verification_method(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        text = text_of(tracker)
        return self.answer(tracker, "verification_method", text, recognized=verification_from(text))

    async def validate_raise_channel(self, value: Any, dispatcher: CollectingDispatcher, tracker, domain) -> Dict[Text, Any]:
        channel = raise_channel_from(str(value or ""))
        if channel is None:
            dispatcher.utter_message(response="utter_invalid_raise_channel")
        return {"raise_channel": channel}

    async def validate_new_daily_limit(self, value: Any, dispatcher: CollectingDispatcher, tracker, domain) -> Dict[Text, Any]:
        amount = limit_from(value)
        if not 0 < amount <= MAX_DAILY_LIMIT:
            dispatcher.utter_message(response="utter_invalid_amount")
            return {"new_daily_limit": None}
        return {"new_daily_limit": amount}

    async def validate_verification_method(self, value: Any, dispatcher: CollectingDispatcher,
                                           tracker, domain) -> Dict[Text, Any]:
        method = verification_from(str(value or ""))
        if method is None:
            dispatcher.utter_message(response="utter_invalid_verification_method")
        return {"verification_method": method}

    async def validate_limit_raise_confirmed(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if value is False:
            dispatcher.utter_message(response="utter_form_start_over")
            return {slot: None for slot in LIMIT_RAISE_SLOTS}
        return {"limit_raise_confirmed": value}


class ActionAskLimitRaiseConfirmed(Action):
    """Reads the request back before it is sent."""

    def name(self) -> Text:
        return "action_ask_limit_raise_confirmed"

    def run(self, dispatcher, tracker, domain) -> Events:
        dispatcher.utter_message(response="utter_ask_limit_raise_confirmed", channel=tracker.get_slot("raise_channel"),
                                 limit=yuan(tracker.get_slot("new_daily_limit")),
                                 verification=verification_label(tracker.get_slot("verification_method")))
        return []


class ActionSubmitLimitRaise(CustomerDataAction):
    """The end of limit_raise_form: sends the request and says what happens next."""

    resume_with = "limit_raise_form"

    def name(self) -> Text:
        return "action_submit_limit_raise"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        cleared = [SlotSet(name, None) for name in LIMIT_RAISE_SLOTS]
        if tracker.get_slot("limit_raise_confirmed") is not True:
            return cleared
        try:
            request = client.request_limit_raise(
                customer.token, channel=tracker.get_slot("raise_channel"),
                new_daily_limit=int(float(tracker.get_slot("new_daily_limit"))),
                verification_method=tracker.get_slot("verification_method"))
        except InvalidRequest as refused:  # e.g. the channel is not enabled: core banking says why, in Chinese
            dispatcher.utter_message(response="utter_limit_raise_refused", reason=refused.message.split(" / ")[0])
            return cleared
        dispatcher.utter_message(response="utter_limit_raise_submitted", request_id=request.request_id,
                                 channel=request.channel.value, current=yuan(request.current_daily_limit),
                                 requested=yuan(request.requested_daily_limit), status=request.status.value,
                                 next_step=request.next_step)
        offer_paused_form(dispatcher, tracker)
        return cleared


# ------------------------------------------------------------------ where is my transfer
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})[日号]")


def mentioned_date(text: str, today: date) -> Optional[date]:
    """今天 / 昨天 / 前天 / 3月5号 in the customer's words, else None."""
    for word, days_ago in (("前天", 2), ("昨天", 1), ("今天", 0)):
        if word in text:
            return today - timedelta(days=days_ago)
    found = _MONTH_DAY.search(text)
    if found:
        try:
            return date(today.year, int(found.group(1)), int(found.group(2)))
        except ValueError:
            return None
    return None


def transfer_line(transfer) -> str:
    line = fragment("transfer_line", when=when(transfer.created_at), payee=transfer.payee_name,
                    bank=transfer.payee_bank, amount=yuan(transfer.amount), kind=transfer.transfer_type.value,
                    status=transfer.status.value)
    if transfer.status.value == "已到账" and transfer.arrived_at:
        line += fragment("transfer_arrived_at", when=when(transfer.arrived_at))
    elif transfer.expected_arrival:
        expected = transfer.expected_arrival
        if not expected.startswith("预计"):  # core banking's text may already say "预计…"
            expected = fragment("expected_arrival", expected=expected)
        line += fragment("transfer_expected", expected=expected)
    if transfer.status_reason:
        line += fragment("transfer_reason", reason=transfer.status_reason)
    return line


class ActionCheckTransferStatus(CustomerDataAction):
    """Where is my transfer: by amount and/or date when mentioned, else the latest ones."""

    anonymous_faq = "utter_check_transfer_status"
    topic = "transfer_status"

    def name(self) -> Text:
        return "action_check_transfer_status"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        amount = latest_amount(tracker)
        on = mentioned_date((tracker.latest_message or {}).get("text") or "", datetime.now(BANK_TIMEZONE).date())
        transfers = client.transfers(customer.token, amount=int(amount) if amount else None, on_date=on, limit=3)
        if not transfers and (amount or on):
            transfers = client.transfers(customer.token, limit=3)
            dispatcher.utter_message(response="utter_no_matching_transfer")
        if not transfers:
            dispatcher.utter_message(response="utter_no_transfers")
            return []
        dispatcher.utter_message(response="utter_transfer_status", lines="\n".join(map(transfer_line, transfers)))
        return []
