"""FAQ answers that come from the knowledge tables (data/knowledge/*.yml).

One small Action per behaviour:
- action_answer_transfer_limit     transfer limits (one channel's rows, or an overview)
- action_answer_raise_limit         how to raise the limits, and what each way needs
- action_answer_loan_materials      application materials by loan type x customer type
- action_default_ask_affirmation    step one of Rasa's two-stage fallback: "您是想问「…」吗？"

Entity values are the canonical ones from data/lexicon/entity_patterns.yml.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import knowledge
from actions.knowledge import CUSTOMER_TYPES, LOAN_TYPES

Button = Dict[Text, Text]

HUMAN_BUTTON: Button = {"title": "转人工", "payload": "/request_human"}
RAISE_BUTTON: Button = {"title": "怎么提额", "payload": "/raise_transfer_limit"}
NOT_THESE_BUTTON: Button = {"title": "都不是", "payload": "/out_of_scope"}
ENTITY_NAMES = ("loan_type", "customer_type", "transfer_type", "card_type", "channel", "amount")
# How customer types are named in answers.
CUSTOMER_LABELS = {"个人": "个人（上班族）", "个体工商户": "个体工商户", "小微企业": "小微企业主"}
# Intents the clarification question never suggests.
NEVER_SUGGESTED = {"nlu_fallback", "out_of_scope"}


def inform_button(title: Text, entity: Text, value: Text) -> Button:
    return {"title": title, "payload": "/inform" + json.dumps({entity: value}, ensure_ascii=False)}


def yuan(amount: Optional[float]) -> Text:
    """3000 -> '3000 元', 50000 -> '5 万元', None -> '不设上限'."""
    if amount is None:
        return "不设上限"
    amount = float(amount)
    if amount >= 10000 and amount % 10000 == 0:
        return f"{int(amount // 10000)} 万元"
    return f"{amount:g} 元"


def latest_entity(tracker: Tracker, name: Text) -> Any:
    """The entity's value in the latest message only (slots may hold older values)."""
    return next(tracker.get_latest_entity_values(name), None)


# ------------------------------------------------------------------ transfer limits
def limit_rows_text(channel: Text) -> List[Text]:
    rows = knowledge.transfer_limits().channels[channel]
    return [
        f"{i}. {row.verification}：单笔 {yuan(row.single)}，每天累计 {yuan(row.daily)}。{row.note}"
        for i, row in enumerate(rows, start=1)
    ]


def limits_overview() -> List[Text]:
    lines = []
    for channel, rows in knowledge.transfer_limits().channels.items():
        singles = [row.single for row in rows]
        if all(s is None for s in singles):
            lines.append(f"· {channel}：{yuan(None)}")
        elif len(rows) == 1:
            lines.append(f"· {channel}：单笔最多 {yuan(rows[0].single)}，每天最多 {yuan(rows[0].daily)}")
        else:
            low, high = rows[0], rows[-1]
            lines.append(
                f"· {channel}：只用{low.verification}时单笔 {yuan(low.single)}；"
                f"用{high.verification}最高单笔 {yuan(high.single)}"
            )
    return lines


def amount_check(channel: Optional[Text], amount: float) -> Optional[Text]:
    """Which verification methods allow a single transfer of this amount."""
    channels = knowledge.transfer_limits().channels
    names = [channel] if channel else list(channels)
    fits = [
        row.verification if channel else f"{name}·{row.verification}"
        for name in names
        for row in channels[name]
        if row.single is None or row.single >= amount
    ]
    if not fits:
        return f"您要转的 {yuan(amount)} 超过了{channel or '各渠道'}的单笔上限，建议到网点柜台办理，柜台不设上限。"
    return f"您要转 {yuan(amount)}，单笔额度够用的方式有：{'、'.join(fits[:4])}。"


class ActionAnswerTransferLimit(Action):
    def name(self) -> Text:
        return "action_answer_transfer_limit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        table = knowledge.transfer_limits()
        channel = tracker.get_slot("channel")
        if channel not in table.channels:
            channel = None
        amount = latest_entity(tracker, "amount")

        if channel:
            lines = [f"{channel}的转账限额（看您用哪种方式验证身份）："] + limit_rows_text(channel)
        else:
            lines = ["各渠道的转账限额（单笔 = 一次最多转多少）："] + limits_overview()
            lines.append("告诉我您用的是哪个渠道，我给您看详细的限额。")
        if amount is not None:
            check = amount_check(channel, float(amount))
            if check:
                lines.append(check)
        lines.extend(table.account_class_notes[:1])
        lines.append("额度不够用？可以刷脸、开通手机盾或 U盾，或者带身份证到网点调高。")

        buttons: List[Button] = []
        if not channel:
            buttons += [inform_button(name, "channel", name) for name in ("手机银行", "网上银行", "柜台")]
        buttons += [RAISE_BUTTON, HUMAN_BUTTON]
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return []


class ActionAnswerRaiseLimit(Action):
    def name(self) -> Text:
        return "action_answer_raise_limit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        table = knowledge.transfer_limits()
        lines = ["想提高转账限额，有这几种办法（都要本人办理）："]
        for i, way in enumerate(table.raise_methods, start=1):
            lines.append(f"{i}. {way.method}\n   需要：{way.needs}\n   提高后：{way.reaches}。")
        lines.append("不会操作的话，带上身份证和银行卡到网点，工作人员会帮您办。为了防诈骗，调高额度时银行可能会问您转账用途，请如实说明。")
        buttons = [
            {"title": "网点营业时间", "payload": "/ask_branch_hours"},
            {"title": "转账限额", "payload": "/ask_transfer_limit"},
            HUMAN_BUTTON,
        ]
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return []


# ------------------------------------------------------------------ loan materials
def numbered(items: Iterable[Text]) -> List[Text]:
    return [f"{i}. {item}" for i, item in enumerate(items, start=1)]


def what_differs(loan_type: Text, customer_type: Text, compared_to: Text = "个人") -> List[Text]:
    table = knowledge.loan_materials()
    base = set(table.materials_for(loan_type, compared_to))
    return [item for item in table.materials_for(loan_type, customer_type) if item not in base]


class ActionAnswerLoanMaterials(Action):
    def name(self) -> Text:
        return "action_answer_loan_materials"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        table = knowledge.loan_materials()
        loan_type = tracker.get_slot("loan_type")
        customer_type = tracker.get_slot("customer_type")

        if loan_type not in table.loans:
            buttons = [inform_button(name, "loan_type", name) for name in LOAN_TYPES] + [HUMAN_BUTTON]
            dispatcher.utter_message(
                text="不同的贷款要准备的材料不一样。请问您想办哪种贷款？", buttons=buttons
            )
            return []

        product = table.loans[loan_type]
        known_customer = customer_type in CUSTOMER_TYPES
        who = customer_type if known_customer else "个人"
        title = f"{CUSTOMER_LABELS[who]}申请{loan_type}，请准备："
        lines = [f"{loan_type}：{product.summary}", title] + numbered(table.materials_for(loan_type, who))

        buttons: List[Button] = []
        if not known_customer:
            lines.append("以上是按上班族（个人）回答的。")
            for other in ("个体工商户", "小微企业"):
                extra = what_differs(loan_type, other)
                if extra:
                    lines.append(f"如果您是{CUSTOMER_LABELS[other]}，还要：{'；'.join(extra[:3])}。")
            buttons += [
                inform_button(f"我是{CUSTOMER_LABELS[other]}", "customer_type", other)
                for other in ("个体工商户", "小微企业")
            ]
        lines.append(table.common_note)
        buttons += [
            {"title": "贷款利率", "payload": "/ask_loan_rate"},
            {"title": "审批进度", "payload": "/check_loan_status"},
            HUMAN_BUTTON,
        ]
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return []


# ------------------------------------------------------------------ two-stage fallback
def suggested_intent(tracker: Tracker) -> Optional[Text]:
    ranking = tracker.latest_message.get("intent_ranking") or []
    for candidate in ranking:
        name = candidate.get("name")
        if name and name not in NEVER_SUGGESTED:
            return name
    return None


class ActionDefaultAskAffirmation(Action):
    """Asks "您是想问「<中文名>」吗？" with a button for that intent and one for 都不是."""

    def name(self) -> Text:
        return "action_default_ask_affirmation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        intent = suggested_intent(tracker)
        if intent is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        label = knowledge.intent_labels().label(intent)
        # Keep what the customer already told us (经营贷, 手机银行 ...) in the button's payload.
        entities = {
            e["entity"]: e["value"]
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") in ENTITY_NAMES and e.get("value") is not None
        }
        payload = f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")
        dispatcher.utter_message(
            text=f"您是想问「{label}」吗？",
            buttons=[{"title": label, "payload": payload}, NOT_THESE_BUTTON],
        )
        return []
