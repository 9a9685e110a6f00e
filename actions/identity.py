"""Who the customer is — only ever from the authenticated channel.

Connectors put the customer's core-banking token into the message metadata
(`customer_token`); we verify its signature and expiry here. Anything the customer typed is
never used as identity. A missing, forged or expired token means "anonymous".
"""
from __future__ import annotations

import logging
from typing import Optional

from rasa_sdk import Tracker

from bot.identity import Customer, InvalidCustomerToken, verify_customer_token

logger = logging.getLogger(__name__)

TOKEN_METADATA_KEY = "customer_token"
CHANNEL_METADATA_KEY = "channel"


def message_metadata(tracker: Tracker) -> dict:
    return (tracker.latest_message or {}).get("metadata") or {}


def authenticated_customer(tracker: Tracker) -> Optional[Customer]:
    token = message_metadata(tracker).get(TOKEN_METADATA_KEY)
    if not token:
        return None
    try:
        return verify_customer_token(token)
    except InvalidCustomerToken as exc:
        logger.info("conversation %s: customer token refused (%s); treating as anonymous",
                    tracker.sender_id, exc)
        return None


def channel_of(tracker: Tracker) -> str:
    """The channel the conversation came from: metadata first, else Rasa's input channel."""
    metadata_channel = message_metadata(tracker).get(CHANNEL_METADATA_KEY)
    return metadata_channel or tracker.get_latest_input_channel() or "rest"
