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
from typing import Any, Dict, FrozenSet, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import knowledge
from actions.dialogue import PAUSED_FORM_SLOT, REQUESTED_SLOT, TOPIC_SLOT, latest_intent

# A request this sure is not an answer to the form's question.
SWITCH_CONFIDENCE = 0.75
# Urgent requests switch even when the NLU is less sure.
URGENT_CONFIDENCE = 0.5
URGENT_INTENTS = frozenset({"report_card_lost", "request_human"})
# Never an answer to any question of a form.
NOT_ANSWERS = frozenset({"ask_next_step", "stop_form", "resume_form", "logged_in", "request_human", "deny"})


def confidence(tracker: Tracker) -> float:
    return float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0)


def text_of(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("text") or "").strip()


def other_requests() -> FrozenSet[str]:
    """Intents that ask for other business: every topic's intents."""
    return frozenset(i for topic in knowledge.topics().topics.values() for i in topic.intents)


class BankFormValidation(FormValidationAction, abc.ABC):
    #: intents whose message starts this form (its words may already hold answers)
    trigger_intents: FrozenSet[str] = frozenset()
    #: slots that take almost any text (a complaint's story): only urgent requests switch
    free_text_slots: FrozenSet[str] = frozenset()
    #: the topic (data/knowledge/topics.yml) the form is about
    form_topic: Optional[Text] = None

    @abc.abstractmethod
    def name(self) -> Text:
        """validate_<form name>"""

    # ---------------------------------------------------------------- where the form is
    def activating(self, tracker: Tracker) -> bool:
        """True while Rasa starts (or restarts) the form: the active loop is not yet this one."""
        return tracker.active_loop_name != self.form_name()

    def asked(self, tracker: Tracker) -> Optional[Text]:
        """The slot the form asked for, if it is running."""
        return None if self.activating(tracker) else tracker.get_slot(REQUESTED_SLOT)

    def started_by_this_message(self, tracker: Tracker) -> bool:
        return self.activating(tracker) and latest_intent(tracker) in self.trigger_intents

    def answers(self, tracker: Tracker, slot: Text) -> bool:
        """Is the latest message an answer to `slot` (and not a different request)?"""
        if self.asked(tracker) != slot:
            return False
        intent, sure = latest_intent(tracker), confidence(tracker)
        if intent in NOT_ANSWERS and sure >= URGENT_CONFIDENCE:
            return False
        if intent in URGENT_INTENTS and intent not in self.trigger_intents and sure >= URGENT_CONFIDENCE:
            return False
        if slot in self.free_text_slots:
            return True
        return not (intent in other_requests() and intent not in self.trigger_intents and sure >= SWITCH_CONFIDENCE)

    def answer(self, tracker: Tracker, slot: Text, value: Any) -> Dict[Text, Any]:
        """{slot: value} when the latest message answers `slot` and a value was found, else {}."""
        return {slot: value} if value is not None and self.answers(tracker, slot) else {}

    # ---------------------------------------------------------------- the run
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        events = await super().run(dispatcher, tracker, domain)
        if not self.activating(tracker):
            return events
        # Only at the start: a SlotSet in a later run would keep Rasa from rejecting the form.
        context = [SlotSet(TOPIC_SLOT, self.form_topic)]
        interrupted = tracker.active_loop_name
        if interrupted and interrupted != self.form_name():
            context.append(SlotSet(PAUSED_FORM_SLOT, interrupted))
        elif tracker.get_slot(PAUSED_FORM_SLOT) == self.form_name():
            context.append(SlotSet(PAUSED_FORM_SLOT, None))  # resumed
        return context + events

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
