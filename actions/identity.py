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


def verified_customer_id_earlier(tracker: Tracker) -> Optional[str]:
    """The customer id a connector stored with an earlier message after verifying its token
    (bot/tracker_store.py keeps `customer_id`, never the token). Not proof of who is asking
    now, and no token to read data with: only for a turn the system itself started, such as
    an agent handing the conversation back, to know the form may ask its questions."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            customer_id = (event.get("metadata") or {}).get("customer_id")
            if customer_id:
                return str(customer_id)
    return None
