"""Handing a conversation to a person, and the rating afterwards.

`action_handoff_to_human` builds the context package (actions/handoff_context.py),
registers it with the agent desk, tells the customer their place in the queue and the
expected wait (or what happens outside service hours), marks the conversation as routed to
a person (bot/handoff_route.py) and pauses the bot. While paused, Rasa still records every
customer message in the tracker; the channels forward them to the desk.

`action_store_rating` stores the customer's 1-5 rating with the handoff (and in the
`csat_rating` slot, which the content team's reports read).
"""
from __future__ import annotations

import asyncio
import logging
import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

import redis
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.agent_desk_client import AgentDeskUnavailable, CustomerContext, get_agent_desk_client
from actions.dialogue import PAUSED_FORM_SLOT, REQUESTED_SLOT
from actions.handoff_context import build_handoff_request
from actions.identity import authenticated_customer, channel_of
from bot.handoff_route import ROUTE_TTL_SECONDS, HandoffRoute, encode, route_key
from bot.handoff_rules import HandoffReason
from bot.settings import get_settings

logger = logging.getLogger(__name__)

HAND_BACK_ENTITY = "hand_back_to"
LIMIT_RAISE_FORM = "limit_raise_form"


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    url = get_settings().redis_url or f"redis://127.0.0.1:{get_settings().embedded_redis_port}/0"
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)


def _reason(tracker: Tracker) -> HandoffReason:
    try:
        return HandoffReason(tracker.get_slot("handoff_reason"))
    except ValueError:
        return HandoffReason.REQUESTED


def _customer_context(tracker: Tracker) -> CustomerContext:
    customer = authenticated_customer(tracker)
    if customer is None:
        return CustomerContext(id=None, display_name=knowledge.fragment("desk_anonymous_name"),
                               segment=knowledge.fragment("desk_anonymous_segment"))
    from actions.customer_profile import customer_context  # core-banking look-up, masked

    return customer_context(customer)


class ActionHandoffToHuman(Action):
    def name(self) -> Text:
        return "action_handoff_to_human"

    def reason(self, tracker: Tracker) -> HandoffReason:
        return _reason(tracker)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        reason = self.reason(tracker)
        channel = channel_of(tracker)
        slots = dict(tracker.current_slot_values())
        if tracker.active_loop_name:  # the agent sees the form the customer left, and may hand back to it
            slots[PAUSED_FORM_SLOT] = tracker.active_loop_name
        request = build_handoff_request(
            conversation_id=tracker.sender_id, channel=channel, events=list(tracker.events),
            slots=slots, reason=reason, customer=_customer_context(tracker))
        loop = asyncio.get_running_loop()
        try:
            created = await loop.run_in_executor(None, get_agent_desk_client().register_handoff, request)
        except AgentDeskUnavailable as exc:
            logger.error("handoff for %s failed: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return [SlotSet("handoff_reason", None), ActiveLoop(None)]
        route = HandoffRoute(handoff_id=created.id, channel=channel)
        try:
            await loop.run_in_executor(None, lambda: _redis().set(route_key(tracker.sender_id), encode(route),
                                                                  ex=ROUTE_TTL_SECONDS))
        except redis.RedisError as exc:  # the desk has the case; the customer's next words may reach the bot
            logger.error("could not record the handoff route for %s: %s", tracker.sender_id, exc)
        dispatcher.utter_message(text=created.message)
        logger.info("conversation %s handed to a person: handoff %s, reason %s, queue position %s",
                    tracker.sender_id, created.id, reason.value, created.queue_position)
        events = [SlotSet("handoff_id", created.id), SlotSet("handoff_reason", reason.value)]
        if tracker.active_loop_name:  # the agent may hand the customer back to it (action_hand_back)
            events += [SlotSet(PAUSED_FORM_SLOT, tracker.active_loop_name), SlotSet(REQUESTED_SLOT, None)]
        return events + [ActiveLoop(None), ConversationPaused()]


class ActionHandBack(Action):
    """The agent handed the conversation back with a next step (intent `handed_back`, entity
    `hand_back_to`): continue the form the customer was in, start the limit-raise form, or
    nothing more. The customer is told in one sentence; a rating is `handoff_closed` instead."""

    def name(self) -> Text:
        return "action_hand_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        then = next(tracker.get_latest_entity_values(HAND_BACK_ENTITY), "nothing")
        paused = tracker.get_slot(PAUSED_FORM_SLOT)
        if then == "continue_form" and paused:
            dispatcher.utter_message(response="utter_handed_back_to_form",
                                     form_label=knowledge.topics().form_label(paused))
            return [SlotSet(PAUSED_FORM_SLOT, None), FollowupAction(paused)]
        if then == "limit_raise":
            dispatcher.utter_message(response="utter_handed_back_to_limit_raise")
            return [SlotSet(PAUSED_FORM_SLOT, None), FollowupAction(LIMIT_RAISE_FORM)]
        dispatcher.utter_message(response="utter_handed_back")
        return [SlotSet(PAUSED_FORM_SLOT, None)]


class ActionHandoffOverseasLimit(ActionHandoffToHuman):
    """After overseas_limit_form: a person decides, with everything already collected."""

    def name(self) -> Text:
        return "action_handoff_overseas_limit"

    def reason(self, tracker: Tracker) -> HandoffReason:
        return HandoffReason.OVERSEAS_LIMIT


_RATING = re.compile(r"(?<!\d)([1-5])(?!\d)")


def rating_from(tracker: Tracker) -> Optional[int]:
    """A 1-5 rating from a button payload entity, a number entity or the text itself."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") in ("rating", "amount"):
            try:
                value = int(float(entity.get("value")))
            except (TypeError, ValueError):
                continue
            if 1 <= value <= 5:
                return value
    found = _RATING.search((tracker.latest_message or {}).get("text") or "")
    return int(found.group(1)) if found else None


class ActionStoreRating(Action):
    def name(self) -> Text:
        return "action_store_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        rating = rating_from(tracker)
        if rating is None:
            dispatcher.utter_message(response="utter_ask_rating")
            return []
        handoff_id = tracker.get_slot("handoff_id")
        if handoff_id:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, get_agent_desk_client().store_rating, handoff_id, rating)
            except AgentDeskUnavailable as exc:  # the slot below still keeps it in the tracker
                logger.error("rating %s for handoff %s not stored at the desk: %s", rating, handoff_id, exc)
        dispatcher.utter_message(response="utter_thank_rating")
        return [SlotSet("csat_rating", rating), SlotSet("handoff_id", None)]
