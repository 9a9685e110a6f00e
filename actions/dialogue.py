"""The conversation's context: what it is about, and what the customer's next words mean in it.

Every answer records its topic (data/knowledge/topics.yml) in the `topic` slot. Then:
- a follow-up or a correction ("那网银呢", "不对，是经营贷"; intent `inform`) answers the current
  topic again for the new parameter, and only that part (`action_follow_up`);
- "那怎么办 / 然后呢" (intent `ask_next_step`) gives the topic's next step (`action_next_step`);
- an answer given while a form was asking something pauses that form and asks whether to go on
  (`paused_form`; the rules in data/rules/dialogue.yml resume or drop it, `action_stop_form`);
- a question about the customer's own data asked before logging in is remembered
  (`pending_request`) and answered once they have logged in (`action_resume_after_login`).

The wording is content: responses in domain.yml, parts of answers in topics.yml.
"""
from __future__ import annotations

import copy
import json
import logging
import re
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import knowledge
from actions.identity import authenticated_customer

logger = logging.getLogger(__name__)

Events = List[Dict[Text, Any]]

TOPIC_SLOT = "topic"
PAUSED_FORM_SLOT = "paused_form"
PENDING_REQUEST_SLOT = "pending_request"
PENDING_MESSAGE_SLOT = "pending_message"
REQUESTED_SLOT = "requested_slot"
CLARIFY_PARAMETER_RESPONSE = "utter_clarify_parameter"
OFFER_HUMAN_RESPONSE = "utter_offer_human_after_repeat"
# A parameter the customer says they did NOT mean: "不是柜台，是ATM" -> 柜台 is not a parameter.
_NEGATION_BEFORE = re.compile(r"(不是|并非|不要|不)\s*(在|用|问|说)?\s*$")


# ------------------------------------------------------------------ what the message says
def latest_intent(tracker: Tracker) -> Optional[Text]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


Mention = Tuple[Text, Any]


def message_mentions(tracker: Tracker, names: Sequence[Text] = knowledge.PARAMETERS) -> List[Mention]:
    """Every value of these entities (default: the topics' parameters) named in the latest
    message, in order, without negated ones ("普通到账和实时到账有什么区别": two transfer types)."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    found: List[Mention] = []
    for entity in message.get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if name not in names or value is None or (name, value) in found:
            continue
        start = entity.get("start")
        if isinstance(start, int) and _NEGATION_BEFORE.search(text[max(0, start - 4):start]):
            continue
        found.append((name, value))
    return found


def message_parameters(tracker: Tracker, names: Sequence[Text] = knowledge.PARAMETERS) -> Dict[Text, Any]:
    """The entities named in the latest message (first mention wins), without negated ones."""
    found: Dict[Text, Any] = {}
    for name, value in message_mentions(tracker, names):
        found.setdefault(name, value)
    return found


def clarified_mentions(tracker: Tracker) -> List[Mention]:
    """The parameter the bot asked about in its last turn ("您想了解经营贷的哪方面？"): the
    customer's answer ("利率") is about it."""
    mentions: List[Mention] = []
    clarified = False
    users_seen = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users_seen += 1
            if users_seen == 2:
                break
        elif users_seen == 1 and kind == "bot":
            clarified = clarified or (event.get("metadata") or {}).get("utter_action") == CLARIFY_PARAMETER_RESPONSE
        elif users_seen == 1 and kind == "slot" and event.get("name") in knowledge.PARAMETERS \
                and event.get("value") is not None and (event["name"], event["value"]) not in mentions:
            mentions.insert(0, (event["name"], event["value"]))
    return mentions if clarified else []


def current_topic(tracker: Tracker) -> Optional[knowledge.Topic]:
    return knowledge.topics().topics.get(tracker.get_slot(TOPIC_SLOT) or "")


def topic_intent(topic: knowledge.Topic) -> Text:
    return topic.intents[0]


# ------------------------------------------------------------------ answering a topic
async def answer_topic(name: Text, mentions: List[Mention], dispatcher: CollectingDispatcher,
                       tracker: Tracker, domain: DomainDict) -> Events:
    """Answers topic `name`: the part for each relevant parameter value, else the general answer.

    Topics answered from the customer's own data (answer: action_...) are answered by that
    action, which reads the parameters of the latest message itself.
    """
    topic = knowledge.topics().topics[name]
    if topic.answer.startswith("action_"):
        from actions.registry import action_named  # the registry imports the actions, which import us

        return await action_named(topic.answer).run(dispatcher, tracker, domain)
    relevant = [(k, v) for k, v in mentions if k in topic.parameters]
    events: Events = [SlotSet(TOPIC_SLOT, name)]
    if not relevant:
        dispatcher.utter_message(response=topic.answer)
        return events + pause_active_form(dispatcher, tracker)
    for parameter, value in relevant:
        part = topic.part(parameter, value)
        if part:
            dispatcher.utter_message(response="utter_topic_part", part=part, topic_label=topic.label,
                                     topic_intent=topic_intent(topic))
        else:
            dispatcher.utter_message(response="utter_no_specific_answer", value=value, topic_label=topic.label)
            dispatcher.utter_message(response=topic.answer)
        events.append(SlotSet(parameter, value))
    return events + pause_active_form(dispatcher, tracker)


class ActionAnswerTopic(Action):
    """The answer to a question about a topic (by its intent), for the parameters it names."""

    def name(self) -> Text:
        return "action_answer_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        name = knowledge.topics().for_intent(latest_intent(tracker))
        if name is None:  # a rule sent an intent that no topic claims: the content check reports it
            dispatcher.utter_message(response="utter_clarify_unknown")
            return []
        mentions = message_mentions(tracker) or clarified_mentions(tracker)
        topic = knowledge.topics().topics[name]
        if not mentions and name == tracker.get_slot(TOPIC_SLOT):
            # The same question again ("那要是输错好几次被锁了呢" after the password answer): the
            # answer did not do; the next step usually does. Asked a third time: a person.
            previous = previous_turn_responses(tracker)
            if topic.answer in previous:
                return await give_next_step(topic, dispatcher, tracker, domain)
            if topic.next_step in previous:
                dispatcher.utter_message(response=OFFER_HUMAN_RESPONSE)
                return []
        return await answer_topic(name, mentions, dispatcher, tracker, domain)


def previous_turn_responses(tracker: Tracker) -> List[Text]:
    """The responses the bot sent in reply to the customer's previous message."""
    names: List[Text] = []
    users_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users_seen += 1
            if users_seen == 2:
                break
        elif users_seen == 1 and event.get("event") == "bot":
            name = (event.get("metadata") or {}).get("utter_action")
            if name:
                names.insert(0, name)
    return names


def recent_topics(tracker: Tracker, limit: int = 3) -> List[Text]:
    """The topics the conversation was about, the newest first ("新卡怎么激活？密码忘了怎么办？"
    then "是信用卡": the card is about activation, the topic before the last)."""
    found: List[Text] = []
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == TOPIC_SLOT and event.get("value"):
            if event["value"] not in found:
                found.append(event["value"])
            if len(found) == limit:
                break
    current = tracker.get_slot(TOPIC_SLOT)
    return ([current] if current else []) + [name for name in found if name != current]


# ------------------------------------------------------------------ follow-ups and corrections
class ActionFollowUp(Action):
    """"那网银呢", "是信用卡", "不对，是经营贷": the current topic again, for the new parameter."""

    def name(self) -> Text:
        return "action_follow_up"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        mentions = message_mentions(tracker)
        topic = current_topic(tracker)
        named = {name for name, _ in mentions}
        for recent in recent_topics(tracker):
            if named & set(knowledge.topics().topics[recent].parameters):
                return await answer_topic(recent, mentions, dispatcher, tracker, domain)
        if mentions:
            return await self._from_parameter(mentions, dispatcher, tracker, domain)
        if topic is not None:
            return clarify_topic(tracker.get_slot(TOPIC_SLOT), dispatcher)
        dispatcher.utter_message(response="utter_clarify_unknown")
        return []

    async def _from_parameter(self, mentions: List[Mention], dispatcher, tracker, domain) -> Events:
        """No topic fits: a parameter that only one topic knows answers it; else ask which."""
        parameter, value = mentions[0]
        candidates = knowledge.topics().with_parameter(parameter)
        if len(candidates) == 1:
            return await answer_topic(candidates[0], mentions, dispatcher, tracker, domain)
        topics = knowledge.topics().topics
        buttons = [{"title": topics[name].label, "payload": payload(topic_intent(topics[name]), {parameter: value})}
                   for name in candidates]
        dispatcher.utter_message(response=CLARIFY_PARAMETER_RESPONSE, value=value, buttons=buttons)
        return [SlotSet(parameter, value)]


def clarify_topic(name: Text, dispatcher: CollectingDispatcher) -> Events:
    """"您问的是哪个渠道的转账手续费？" with the parameter's values as buttons."""
    topic = knowledge.topics().topics[name]
    parameter = topic.parameters[0] if topic.parameters else None
    if parameter is None:
        dispatcher.utter_message(response="utter_clarify_unknown")
        return []
    values = list(topic.parts.get(parameter) or knowledge.entity_values(parameter))
    buttons = [{"title": str(v), "payload": payload("inform", {parameter: v})} for v in values[:6]]
    dispatcher.utter_message(response="utter_clarify_topic", topic_label=topic.label,
                             question=knowledge.topics().parameters[parameter].question, buttons=buttons)
    return []


def payload(intent: Text, entities: Dict[Text, Any]) -> Text:
    """A button payload that sends an intent with entities, as Rasa reads `/intent{...}`."""
    return f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")


# ------------------------------------------------------------------ "那怎么办"
class ActionNextStep(Action):
    """The next step of what the conversation is about; inside a form, help with its question."""

    def name(self) -> Text:
        return "action_next_step"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        form = tracker.active_loop_name
        if form:  # the form asks its question again right after this (Rasa's unhappy path)
            dispatcher.utter_message(response=f"utter_form_help_{form}")
            return []
        topic = current_topic(tracker)
        if topic is None:
            dispatcher.utter_message(response="utter_next_step_unknown")
            return []
        return await give_next_step(topic, dispatcher, tracker, domain)


async def give_next_step(topic: knowledge.Topic, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> Events:
    step = topic.next_step
    if step.startswith("action_"):
        from actions.registry import action_named

        return await action_named(step).run(dispatcher, tracker, domain)
    dispatcher.utter_message(response=step)
    return []


# ------------------------------------------------------------------ forms interrupted by other business
def pause_active_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """Called by an answer given while a form was asking: the form waits, the customer is asked
    whether to go on ("刚才的「投诉登记」还没办完，要接着办吗？")."""
    form = tracker.active_loop_name
    if not form:
        return []
    dispatcher.utter_message(response="utter_offer_resume_form", form_label=knowledge.topics().form_label(form))
    return [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None), SlotSet(PAUSED_FORM_SLOT, form)]


def offer_paused_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """After finishing other business (a card frozen, a ticket filed): offer the paused form."""
    form = tracker.get_slot(PAUSED_FORM_SLOT)
    if form and form != tracker.active_loop_name:
        dispatcher.utter_message(response="utter_offer_resume_form", form_label=knowledge.topics().form_label(form))


def form_slots(domain: DomainDict, form: Text) -> List[Text]:
    """What the form has been told: the slots it asks for (domain.yml) and those it keeps when
    the customer says them without being asked (a complaint's place)."""
    from actions.registry import slots_of_form

    asked = list(((domain.get("forms") or {}).get(form) or {}).get("required_slots") or [])
    return asked + [slot for slot in slots_of_form(form) if slot not in asked]


class ActionStopForm(Action):
    """"不办了": ends the form being filled (or the paused one) and forgets its answers."""

    def name(self) -> Text:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        active, paused = tracker.active_loop_name, tracker.get_slot(PAUSED_FORM_SLOT)
        form = active or paused
        if not form:
            dispatcher.utter_message(response="utter_nothing_to_stop")
            return []
        dispatcher.utter_message(response="utter_form_stopped", form_label=knowledge.topics().form_label(form))
        events: Events = [SlotSet(slot, None) for slot in form_slots(domain, form)]
        if active:
            events += [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None)]
        if paused == form:
            events.append(SlotSet(PAUSED_FORM_SLOT, None))
        elif paused:  # the urgent business is dropped; the form it interrupted is still waiting
            offer_paused_form(dispatcher, tracker)
        return events


# ------------------------------------------------------------------ asked before logging in
def remember_pending(tracker: Tracker, resume_with: Text) -> Events:
    """What to do once the customer has logged in: `resume_with` (an action or a form), for the
    message they asked it with."""
    message = tracker.latest_message or {}
    kept = {"text": message.get("text"), "intent": message.get("intent"),
            "entities": message.get("entities") or []}
    return [SlotSet(PENDING_REQUEST_SLOT, resume_with), SlotSet(PENDING_MESSAGE_SLOT, kept)]


def forget_pending() -> Events:
    return [SlotSet(PENDING_REQUEST_SLOT, None), SlotSet(PENDING_MESSAGE_SLOT, None)]


class ActionResumeAfterLogin(Action):
    """"登录好了": answers the question asked before logging in, as if asked now."""

    def name(self) -> Text:
        return "action_resume_after_login"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        if authenticated_customer(tracker) is None:
            dispatcher.utter_message(response="utter_not_logged_in_yet")
            return []
        pending = tracker.get_slot(PENDING_REQUEST_SLOT)
        if not pending:
            dispatcher.utter_message(response="utter_logged_in_nothing_pending")
            return []
        if pending.endswith("_form"):
            return forget_pending() + [FollowupAction(pending)]
        from actions.registry import action_named

        asked = asked_before_login(tracker)
        return forget_pending() + await action_named(pending).run(dispatcher, asked, domain)


def asked_before_login(tracker: Tracker) -> Tracker:
    """The tracker as if the remembered question had come with this (logged-in) message."""
    kept = tracker.get_slot(PENDING_MESSAGE_SLOT) or {}
    asked = copy.copy(tracker)
    asked.latest_message = {**(tracker.latest_message or {}), **{k: v for k, v in kept.items() if v is not None}}
    asked.latest_message["metadata"] = (tracker.latest_message or {}).get("metadata") or {}
    return asked

