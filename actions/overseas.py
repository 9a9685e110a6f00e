"""Credit-card overseas spending limit: the bot gathers, a person decides.

overseas_limit_form asks which card, where, when and how much; every answer is kept as the
customer said it (an agent reads them), except the limit, which must be a number. When the
form completes, `action_handoff_overseas_limit` hands over with all of it in the context
package, so the agent asks nothing again.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Text

from rasa_sdk import FormValidationAction
from rasa_sdk.executor import CollectingDispatcher

from bot.masking import mask_text
from bot.nlu.normalizer import default_normalizer

MAX_OVERSEAS_LIMIT = 1_000_000
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def limit_from(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    found = _NUMBER.search(default_normalizer()(str(value or "")))
    return float(found.group(0)) if found else 0.0


class ValidateOverseasLimitForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_overseas_limit_form"

    async def validate_overseas_card(self, value: Any, dispatcher: CollectingDispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"overseas_card": mask_text(str(value).strip())[:60]}

    async def validate_travel_destination(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"travel_destination": str(value).strip()[:60]}

    async def validate_travel_dates(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"travel_dates": str(value).strip()[:60]}

    async def validate_desired_overseas_limit(self, value: Any, dispatcher: CollectingDispatcher,
                                              tracker, domain) -> Dict[Text, Any]:
        amount = limit_from(value)
        if not 0 < amount <= MAX_OVERSEAS_LIMIT:
            dispatcher.utter_message(text="请告诉我一个金额，比如“5万”或“30000元”。")
            return {"desired_overseas_limit": None}
        return {"desired_overseas_limit": amount}
