"""FAQ answers that come from the knowledge tables (data/knowledge/*.yml).

One small Action per behaviour:
- action_answer_transfer_limit     transfer limits (one channel's rows, or an overview)
- action_answer_loan_materials      application materials by loan type x customer type
- action_default_ask_affirmation    step one of Rasa's two-stage fallback: "您是想问「…」吗？"

Entity values are the canonical ones from data/lexicon/entity_patterns.yml. Every sentence
comes from content files: fragments and button titles in data/knowledge/wording.yml, whole
answers in domain.yml.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import knowledge
from actions.dialogue import TOPIC_SLOT, message_parameters, pause_active_form, payload
from actions.formatting import yuan
from actions.knowledge import CUSTOMER_TYPES, LOAN_TYPES, button, fragment, joined, label

ENTITY_NAMES = ("loan_type", "customer_type", "transfer_type", "card_type", "channel", "amount")
# Intents the clarification question never suggests: they are not questions.
NEVER_SUGGESTED = {"nlu_fallback", "out_of_scope", "inform", "affirm", "deny", "give_rating", "handoff_closed",
                   "ask_next_step", "stop_form", "resume_form", "logged_in", "greet", "goodbye", "thank"}


def latest_entity(tracker: Tracker, name: Text) -> Any:
    """The entity's value in the latest message only (slots may hold older values)."""
    return message_parameters(tracker).get(name)


def inform_button(title: Text, entity: Text, value: Text) -> Dict[Text, Text]:
    return {"title": title, "payload": payload("inform", {entity: value})}


def value_button(entity: Text, value: Text) -> Dict[Text, Text]:
    """A button that tells one entity value; its title is how wording.yml `labels` names it."""
    return inform_button(label(entity, value), entity, value)


# ------------------------------------------------------------------ transfer limits
def limit_rows_text(channel: Text) -> List[Text]:
    rows = knowledge.transfer_limits().channels[channel]
    return [fragment("limits_row", i=i, verification=row.verification, single=yuan(row.single),
                     daily=yuan(row.daily), note=row.note)
            for i, row in enumerate(rows, start=1)]


def limits_overview() -> List[Text]:
    lines = []
    for channel, rows in knowledge.transfer_limits().channels.items():
        if all(row.single is None for row in rows):
            lines.append(fragment("limits_overview_unlimited", channel=channel))
        elif len(rows) == 1:
            lines.append(fragment("limits_overview_one", channel=channel, single=yuan(rows[0].single),
                                  daily=yuan(rows[0].daily)))
        else:
            low, high = rows[0], rows[-1]
            lines.append(fragment("limits_overview_range", channel=channel, low=low.verification,
                                  low_single=yuan(low.single), high=high.verification, high_single=yuan(high.single)))
    return lines


def amount_check(channel: Optional[Text], amount: float) -> Text:
    """Which verification methods allow a single transfer of this amount."""
    channels = knowledge.transfer_limits().channels
    names = [channel] if channel else list(channels)
    fits = [
        row.verification if channel else fragment("channel_and_verification", channel=name, verification=row.verification)
        for name in names
        for row in channels[name]
        if row.single is None or row.single >= amount
    ]
    if not fits:
        return fragment("amount_over_single_limit", amount=yuan(amount), where=channel or fragment("every_channel"))
    return fragment("amount_fits", amount=yuan(amount), ways=joined(fits[:4]))


class ActionAnswerTransferLimit(Action):
    """The bank's limits table: one channel's rows when the customer named it, else an overview."""

    def name(self) -> Text:
        return "action_answer_transfer_limit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        table = knowledge.transfer_limits()
        channel = latest_entity(tracker, "channel")
        if channel not in table.channels:
            channel = None
        amount = latest_entity(tracker, "amount")

        if channel:
            lines = [fragment("limits_channel_title", channel=channel)] + limit_rows_text(channel)
        else:
            lines = [fragment("limits_overview_title")] + limits_overview() + [fragment("limits_ask_channel")]
        if amount is not None:
            lines.append(amount_check(channel, float(amount)))
        lines.extend(table.account_class_notes[:1])
        lines.append(fragment("limits_raise_hint"))

        buttons = [] if channel else [value_button("channel", name)
                                      for name in knowledge.wording().choices.limit_channels]
        buttons += [button("raise_limit"), button("human")]
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return [SlotSet("channel", channel)] if channel else []


# ------------------------------------------------------------------ loan materials
def numbered(items: Iterable[Text]) -> List[Text]:
    return [fragment("numbered_item", i=i, item=item) for i, item in enumerate(items, start=1)]


def what_differs(loan_type: Text, customer_type: Text, compared_to: Text = "个人") -> List[Text]:
    table = knowledge.loan_materials()
    base = set(table.materials_for(loan_type, compared_to))
    return [item for item in table.materials_for(loan_type, customer_type) if item not in base]


def customer_label(customer_type: Text) -> Text:
    return label("customer_type", customer_type)


class ActionAnswerLoanMaterials(Action):
    """Materials for one loan type and customer type: what the customer says now, else what
    the conversation already knows (slots), else the most common case with the differences."""

    def name(self) -> Text:
        return "action_answer_loan_materials"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        table = knowledge.loan_materials()
        said = message_parameters(tracker)
        loan_type = said.get("loan_type") or tracker.get_slot("loan_type")
        customer_type = said.get("customer_type") or tracker.get_slot("customer_type")
        context = [SlotSet(TOPIC_SLOT, "loan_materials")]

        if loan_type not in table.loans:
            return context + self.ask_which_loan(dispatcher, tracker, said.get("customer_type"))

        product = table.loans[loan_type]
        known_customer = customer_type in CUSTOMER_TYPES
        who = customer_type if known_customer else "个人"
        lines = [fragment("loan_summary", loan_type=loan_type, summary=product.summary),
                 fragment("loan_materials_title", who=customer_label(who), loan_type=loan_type)]
        lines += numbered(table.materials_for(loan_type, who))

        buttons: List[Dict[Text, Text]] = []
        if not known_customer:
            lines.append(fragment("loan_materials_answered_for_salaried"))
            for other in ("个体工商户", "小微企业"):
                extra = what_differs(loan_type, other)
                if extra:
                    lines.append(fragment("loan_materials_also_needs", who=customer_label(other),
                                          extra=joined(extra[:3], "materials_separator")))
            buttons += [inform_button(fragment("i_am", who=customer_label(other)), "customer_type", other)
                        for other in ("个体工商户", "小微企业")]
        lines.append(table.common_note)
        buttons += [button("loan_rate"), button("loan_status"), button("human")]
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        slots = [SlotSet("loan_type", loan_type)] + ([SlotSet("customer_type", customer_type)] if known_customer else [])
        return context + slots + pause_active_form(dispatcher, tracker)

    @staticmethod
    def ask_which_loan(dispatcher: CollectingDispatcher, tracker: Tracker,
                       said_who: Optional[Text]) -> List[Dict[Text, Any]]:
        """Asked which loan, the customer may answer who they are ("我是开饭店的"): that is kept
        and said back, so the same question is not asked as if nothing was heard."""
        buttons = [value_button("loan_type", name) for name in LOAN_TYPES] + [button("human")]
        if said_who in CUSTOMER_TYPES:
            dispatcher.utter_message(response="utter_ask_which_loan_knowing_who", who=customer_label(said_who),
                                     buttons=buttons)
            return [SlotSet("customer_type", said_who)] + pause_active_form(dispatcher, tracker)
        dispatcher.utter_message(response="utter_ask_which_loan", buttons=buttons)
        return pause_active_form(dispatcher, tracker)


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
        dispatcher.utter_message(response="utter_ask_affirmation", intent_label=label,
                                 buttons=[{"title": label, "payload": payload(intent, entities)}, button("none_of_these")])
        return []
