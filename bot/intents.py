"""Intents that no customer types: Rasa's built-ins and the ones our own code triggers.

They need no training examples and no test stories (tests/quality, bot/content check).
"""
from rasa.shared.core.constants import DEFAULT_INTENTS

# Triggered by the handoff connector when an agent hands the conversation back.
HANDOFF_CLOSED = "handoff_closed"  # ... and the bot asks for a rating
HANDED_BACK = "handed_back"  # ... with another next step (entity hand_back_to; action_hand_back)
# Sent only by the "帮我申请提额" button.
START_LIMIT_RAISE = "start_limit_raise"

PROGRAMMATIC_INTENTS = frozenset(DEFAULT_INTENTS) | {HANDOFF_CLOSED, HANDED_BACK, START_LIMIT_RAISE}
