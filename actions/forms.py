"""What every form shares.

- A clear different request while the form is asking (a lost card, 转人工, a banking question
  the NLU is sure of) is never taken as the answer: nothing is extracted, Rasa rejects the
  form, the request's own rule answers it (and `pause_active_form` asks whether to go on).
- The message that started the form already fills what it says (`prefill`): the form asks only
  for what is missing.
- The form records its topic, and the form it interrupted ("先等等 我的卡丢了" inside a
  complaint: the complaint waits in `paused_form` and is offered again afterwards).

Subclasses say which intents start them, which slots take almost any text, and implement
`prefill()` and `extract_<slot>()` with `self.answer(...)`.
"""
from __future__ import annotations

import abc
import re
from typing import Any, Dict, FrozenSet, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import knowledge
from bot import question_cues
from actions.dialogue import PAUSED_FORM_SLOT, REQUESTED_SLOT, TOPIC_SLOT, latest_intent

# A request this sure is not an answer to the form's question.
SWITCH_CONFIDENCE = 0.75
# Urgent requests switch even when the NLU is less sure.
URGENT_CONFIDENCE = 0.5
URGENT_INTENTS = frozenset({"report_card_lost", "request_human"})
# Never an answer to any question of a form.
# Never an answer to any question of a form that extracts text ("好的" is not a travel date;
# yes/no questions are filled from the intent by the domain's mappings, not here).
NOT_ANSWERS = frozenset({"ask_next_step", "stop_form", "resume_form", "logged_in", "request_human", "deny",
                         "affirm"})
# Yes and no inside a story are words of the story ("希望给个说法" is not "不用了"): in a
# free-text answer they count only when the NLU is sure.
YES_NO = frozenset({"deny", "affirm"})


# Small talk that is a question of its own, not an answer ("你是机器人吗" while asked for a story).
CHITCHAT_QUESTIONS = frozenset({"bot_challenge", "help"})
# A message this short that holds a value the form recognises is that value ("短信验证码", "用网银").
BARE_VALUE_MAX_CHARS = 8


def is_bare_value(text: str) -> bool:
    return len(re.sub(r"[\s,，.。!！?？~～]", "", text or "")) <= BARE_VALUE_MAX_CHARS


def confidence(tracker: Tracker) -> float:
    return float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0)


def text_of(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("text") or "").strip()


def other_requests() -> FrozenSet[str]:
    """Intents that ask for other business: every topic's intents."""
    return frozenset(i for topic in knowledge.topics().topics.values() for i in topic.intents)


def form_interrupted(tracker: Tracker, form: Text) -> Optional[Text]:
    """The form that was running when `form` started ("先等等 我的卡丢了" inside a complaint)."""
    current: Optional[Text] = None
    before: Optional[Text] = None
    for event in tracker.events:
        if event.get("event") != "active_loop":
            continue
        name = event.get("name")
        if name == form and current != form:
            before = current
        current = name
    return current if current and current != form else before


class BankFormValidation(FormValidationAction, abc.ABC):
    #: intents whose message starts this form (its words may already hold answers)
    trigger_intents: FrozenSet[str] = frozenset()
    #: slots that take almost any text (a complaint's story): only urgent requests switch
    free_text_slots: FrozenSet[str] = frozenset()
    #: slots kept when the customer says them, never asked for (`extract_<slot>` methods)
    optional_slots: FrozenSet[str] = frozenset()
    #: the topic (data/knowledge/topics.yml) the form is about
    form_topic: Optional[Text] = None

    @abc.abstractmethod
    def name(self) -> Text:
        """validate_<form name>"""

    # ---------------------------------------------------------------- where the form is
    def activating(self, tracker: Tracker) -> bool:
        """True while Rasa starts (or restarts) the form: it has asked nothing yet.

        Rasa 3.6 sends the activation's validation call with the form already active but no
        `requested_slot`, or the slot another form had asked for (this form interrupted it); a
        later call may come before the loop is set. All of them mean "starting".
        """
        return tracker.active_loop_name != self.form_name() or tracker.get_slot(REQUESTED_SLOT) not in self.own_slots()

    @classmethod
    def own_slots(cls) -> FrozenSet[str]:
        """The slots this form fills: those it has an `extract_` or `validate_` method for."""
        return frozenset(name.split("_", 1)[1] for name in dir(cls)
                         if name.startswith(("extract_", "validate_")) and callable(getattr(cls, name)))

    def asked(self, tracker: Tracker) -> Optional[Text]:
        """The slot the form asked for, if it is running."""
        return None if self.activating(tracker) else tracker.get_slot(REQUESTED_SLOT)

    def started_by_this_message(self, tracker: Tracker) -> bool:
        return self.activating(tracker) and latest_intent(tracker) in self.trigger_intents

    def answers(self, tracker: Tracker, slot: Text, recognized: Any = None) -> bool:
        """Is the latest message an answer to `slot` (and not a different request)?

        - never: "那怎么办", "不办了", "转人工" and the like (NOT_ANSWERS);
        - not an urgent request (a lost card) unless the form is about it;
        - a short message holding a value the form recognises for the slot (`recognized`:
          "短信验证码" when asked how to verify) is an answer, whatever the NLU thinks;
        - free text (a complaint's story) is an answer unless it is a question about other
          business, or starts with "先等等 / 对了 ...", and the NLU is sure of that business;
        - otherwise an answer unless the NLU is sure it asks for other business.
        """
        if self.asked(tracker) != slot:
            return False
        intent, sure, text = latest_intent(tracker), confidence(tracker), text_of(tracker)
        needed = SWITCH_CONFIDENCE if intent in YES_NO and slot in self.free_text_slots else URGENT_CONFIDENCE
        if intent in NOT_ANSWERS and sure >= needed:
            return False
        if intent in URGENT_INTENTS and intent not in self.trigger_intents and sure >= URGENT_CONFIDENCE:
            return False
        if recognized is not None and is_bare_value(text):
            return True
        asks_other = (intent in other_requests() or intent in CHITCHAT_QUESTIONS) and intent not in self.trigger_intents
        if slot in self.free_text_slots:
            switching = question_cues.looks_like_question(text) or question_cues.starts_with_switch(text)
            return not (asks_other and switching and sure >= SWITCH_CONFIDENCE)
        return not (asks_other and sure >= SWITCH_CONFIDENCE)

    def answer(self, tracker: Tracker, slot: Text, value: Any, recognized: Any = None) -> Dict[Text, Any]:
        """{slot: value} when the latest message answers `slot` and a value was found, else {}.
        `recognized`: what the form understood of the message for this slot, if anything."""
        return {slot: value} if value is not None and self.answers(tracker, slot, recognized) else {}

    # ---------------------------------------------------------------- the run
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        events = await super().run(dispatcher, tracker, domain)
        if events or self.activating(tracker):  # never when the form is being rejected
            events += await self.optional_slot_events(dispatcher, tracker, domain)
        if not self.activating(tracker):
            return events
        # Only at the start: a SlotSet in a later run would keep Rasa from rejecting the form.
        context = [SlotSet(TOPIC_SLOT, self.form_topic)]
        interrupted = form_interrupted(tracker, self.form_name())
        if interrupted:
            context.append(SlotSet(PAUSED_FORM_SLOT, interrupted))
        elif tracker.get_slot(PAUSED_FORM_SLOT) == self.form_name():
            context.append(SlotSet(PAUSED_FORM_SLOT, None))  # resumed
        return context + events

    async def optional_slot_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> List[Dict]:
        """Slots the form never asks for but keeps when said (a complaint's place), by their
        `extract_<slot>` methods. Rasa only extracts required slots, so they are done here."""
        found = []
        for slot in sorted(self.optional_slots):
            extracted = await getattr(self, f"extract_{slot}")(dispatcher, tracker, domain)
            found += [SlotSet(name, value) for name, value in extracted.items() if value is not None]
        return found

    # ---------------------------------------------------------------- prefilling
    def prefill(self, tracker: Tracker) -> Dict[Text, Any]:
        """Slot values the message that started the form already holds (subclasses)."""
        return {}

    def from_start(self, tracker: Tracker, slot: Text) -> Dict[Text, Any]:
        """{slot: value} if the starting message gave it."""
        if not self.started_by_this_message(tracker):
            return {}
        value = self.prefill(tracker).get(slot)
        return {slot: value} if value is not None else {}
