"""Messages waiting for a customer whose channel cannot push (Rasa's REST channel).

`<prefix>:outbox:<sender_id>` is a Redis list of Rasa message dicts ({"recipient_id",
"text", "buttons"?}); it is drained into the reply to the customer's next message and by
`GET /webhooks/rest/messages?sender=<id>`. Kept 7 days.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Text

from rasa.core.channels.channel import OutputChannel

from connectors.common import redis_client, redis_key

OUTBOX_TTL_SECONDS = 7 * 24 * 3600


def outbox_key(sender_id: str) -> str:
    return redis_key("outbox", sender_id)


async def push(sender_id: str, message: Dict[str, Any]) -> None:
    key = outbox_key(sender_id)
    async with redis_client().pipeline(transaction=True) as pipe:
        await pipe.rpush(key, json.dumps(message, ensure_ascii=False)).expire(key, OUTBOX_TTL_SECONDS).execute()


async def drain(sender_id: str) -> List[Dict[str, Any]]:
    key = outbox_key(sender_id)
    async with redis_client().pipeline(transaction=True) as pipe:
        raw, _ = await pipe.lrange(key, 0, -1).delete(key).execute()
    return [json.loads(item) for item in raw]


class OutboxOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "outbox"

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await push(recipient_id, {"recipient_id": recipient_id, "text": text})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        # Kept as buttons (Rasa's REST shape), not flattened into numbered text lines.
        await push(recipient_id, {"recipient_id": recipient_id, "text": text, "buttons": buttons})
