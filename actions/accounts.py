"""Balances, the customer's own transfer limits, limit-raise requests and transfer status."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.core_banking_client import CoreBankingClient, InvalidRequest
from actions.customer_data import CustomerFormValidation, HUMAN_BUTTON, CustomerDataAction, Events
from actions.faq import ActionAnswerTransferLimit
from actions.formatting import BANK_TIMEZONE, when, yuan
from actions.overseas import limit_from
from connectors.common import Customer

RAISE_BUTTON = {"title": "怎么提额", "payload": "/raise_transfer_limit"}
VERIFICATION_LABELS = {"sms": "短信验证码", "ushield": "U盾", "face": "刷脸", "pin": "密码", "in_person": "本人到柜台"}


def latest_amount(tracker: Tracker) -> Optional[float]:
    value = next(tracker.get_latest_entity_values("amount"), None)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class ActionCheckBalance(CustomerDataAction):
    anonymous_faq = "utter_check_balance"

    def name(self) -> Text:
        return "action_check_balance"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        accounts = client.accounts(customer.token)
        if not accounts:
            dispatcher.utter_message(text="没有查到您名下的账户。如有疑问可以转人工。", buttons=[HUMAN_BUTTON])
            return []
        lines = ["您的账户余额："]
        for account in accounts:
            lines.append(f"· {account.account_type}（{account.masked_account_number}）：余额 {yuan(account.balance)}，"
                         f"可用 {yuan(account.available_balance)}")
        dispatcher.utter_message(text="\n".join(lines), buttons=[
            {"title": "最近的转账", "payload": "/check_transfer_status"}, HUMAN_BUTTON])
        return []


def limit_lines(limits, channel: Optional[str]) -> List[str]:
    rows = [row for row in limits.limits if channel is None or row.channel.value == channel]
    return [f"· {row.channel.value}（{VERIFICATION_LABELS.get(row.verification, row.verification)}）："
            f"单笔 {yuan(row.single_limit)}，每天 {yuan(row.daily_limit)}，今天已转 {yuan(row.used_today)}，"
            f"还能转 {yuan(row.remaining_today)}" for row in rows]


def why_not(limits, channel: str, amount: float) -> Optional[str]:
    """Explains, with the customer's own numbers, why a transfer of `amount` is refused."""
    row = next((r for r in limits.limits if r.channel.value == channel), None)
    if row is None:
        return None
    if amount > float(row.single_limit):
        return (f"您在{channel}用{VERIFICATION_LABELS.get(row.verification, row.verification)}时，"
                f"一次最多能转 {yuan(row.single_limit)}，所以 {yuan(amount)} 转不了。")
    if amount > float(row.remaining_today):
        return (f"您在{channel}每天最多转 {yuan(row.daily_limit)}，今天已经转了 {yuan(row.used_today)}，"
                f"还能转 {yuan(row.remaining_today)}，所以 {yuan(amount)} 今天转不了。")
    return f"{yuan(amount)} 在您{channel}今天的额度之内（还能转 {yuan(row.remaining_today)}），可以转。"


class ActionMyTransferLimits(CustomerDataAction):
    """ask_transfer_limit: the customer's own limits and what is left today; FAQ when anonymous."""

    def name(self) -> Text:
        return "action_my_transfer_limits"

    def anonymous(self, dispatcher, tracker, domain) -> Events:
        events = ActionAnswerTransferLimit().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_login_for_own_data")
        return events

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        limits = client.transfer_limits(customer.token)
        channel = tracker.get_slot("channel") or "手机银行"
        amount = latest_amount(tracker) or tracker.get_slot("amount")
        lines = []
        if amount:
            explanation = why_not(limits, channel, float(amount))
            if explanation:
                lines.append(explanation)
        lines.append("您目前的转账额度：")
        lines.extend(limit_lines(limits, None))
        if limits.note:
            lines.append(limits.note)
        lines.append("额度不够用，可以提高额度：开通刷脸或 U盾，或带身份证到网点办理。")
        dispatcher.utter_message(text="\n".join(lines), buttons=[
            RAISE_BUTTON, {"title": "帮我申请提额", "payload": "/start_limit_raise"}, HUMAN_BUTTON])
        return [SlotSet("channel", channel)]


# limit_raise_form: the customer's words -> the values core banking accepts.
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
    """Turns free-text answers into a channel, a number and a verification method, or asks again."""

    def name(self) -> Text:
        return "validate_limit_raise_form"

    async def validate_raise_channel(self, value: Any, dispatcher: CollectingDispatcher, tracker, domain) -> Dict[Text, Any]:
        channel = raise_channel_from(str(value or ""))
        if channel is None:
            dispatcher.utter_message(text="可以提额的是手机银行、网上银行、ATM 和微信银行，请选一个。柜台转账不设这个限额。")
        return {"raise_channel": channel}

    async def validate_new_daily_limit(self, value: Any, dispatcher: CollectingDispatcher, tracker, domain) -> Dict[Text, Any]:
        amount = limit_from(value)
        if not 0 < amount <= MAX_DAILY_LIMIT:
            dispatcher.utter_message(text="请告诉我一个金额，比如“5万”或“200000元”。")
            return {"new_daily_limit": None}
        return {"new_daily_limit": amount}

    async def validate_verification_method(self, value: Any, dispatcher: CollectingDispatcher,
                                           tracker, domain) -> Dict[Text, Any]:
        method = verification_from(str(value or ""))
        if method is None:
            dispatcher.utter_message(text="请选刷脸、U盾或短信验证码中的一种。")
        return {"verification_method": method}


class ActionSubmitLimitRaise(CustomerDataAction):
    """The end of limit_raise_form: sends the request and says what happens next."""

    def name(self) -> Text:
        return "action_submit_limit_raise"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        cleared = [SlotSet(name, None) for name in ("raise_channel", "new_daily_limit", "verification_method")]
        try:
            request = client.request_limit_raise(
                customer.token, channel=tracker.get_slot("raise_channel"),
                new_daily_limit=int(float(tracker.get_slot("new_daily_limit"))),
                verification_method=tracker.get_slot("verification_method"))
        except InvalidRequest as refused:  # e.g. the channel is not enabled: core banking says why, in Chinese
            dispatcher.utter_message(text=f"这次没能提交：{refused.message.split(' / ')[0]}", buttons=[HUMAN_BUTTON])
            return cleared
        dispatcher.utter_message(
            text=(f"提额申请已提交（编号 {request.request_id}）：{request.channel.value}每天额度 "
                  f"{yuan(request.current_daily_limit)} → {yuan(request.requested_daily_limit)}。\n"
                  f"状态：{request.status.value}。下一步：{request.next_step}"),
            buttons=[{"title": "网点营业时间", "payload": "/ask_branch_hours"}, HUMAN_BUTTON])
        return cleared


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


class ActionCheckTransferStatus(CustomerDataAction):
    """Where is my transfer: by amount and/or date when mentioned, else the latest ones."""
    anonymous_faq = "utter_check_transfer_status"


    def name(self) -> Text:
        return "action_check_transfer_status"

    def answer(self, dispatcher, tracker, domain, customer: Customer, client: CoreBankingClient) -> Events:
        amount = latest_amount(tracker)
        on = mentioned_date((tracker.latest_message or {}).get("text") or "", datetime.now(BANK_TIMEZONE).date())
        transfers = client.transfers(customer.token, amount=int(amount) if amount else None,
                                     on_date=on, limit=3)
        if not transfers and (amount or on):
            transfers = client.transfers(customer.token, limit=3)
            dispatcher.utter_message(text="没找到完全符合的转账，下面是您最近的几笔：")
        if not transfers:
            dispatcher.utter_message(text="您最近没有转账记录。", buttons=[HUMAN_BUTTON])
            return []
        lines = []
        for transfer in transfers:
            line = (f"· {when(transfer.created_at)} 转给 {transfer.payee_name}（{transfer.payee_bank}）"
                    f"{yuan(transfer.amount)}，{transfer.transfer_type.value}：{transfer.status.value}")
            if transfer.status.value == "已到账" and transfer.arrived_at:
                line += f"（{when(transfer.arrived_at)} 到账）"
            elif transfer.expected_arrival:
                expected = transfer.expected_arrival
                line += f"，{expected}" if expected.startswith("预计") else f"，预计 {expected}"
            if transfer.status_reason:
                line += f"。原因：{transfer.status_reason}"
            lines.append(line)
        lines.append("“处理中”的普通到账约 2 小时、次日到账 24 小时内到；失败或退回的钱会原路退回您的账户。")
        dispatcher.utter_message(text="\n".join(lines), buttons=[HUMAN_BUTTON])
        return []
