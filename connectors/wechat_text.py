"""How the WeChat connector writes a turn's bot messages as one text message: buttons become
numbered lines ("回复数字"), the number maps back to the button's payload. Apart from
connectors/wechat.py (which imports Rasa) so the content studio's preview renders exactly this
without loading Rasa."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

from actions.knowledge import fragment as project_fragment


def render_messages(messages: Sequence[Dict[str, Any]],
                    fragment: Callable[..., str] = project_fragment) -> Tuple[str, List[str]]:
    """All bot messages of a turn as one text; returns (text, option payloads). `fragment` reads
    the wording (data/knowledge/wording.yml); the studio passes its branch's."""
    parts: List[str] = []
    payloads: List[str] = []
    for message in messages:
        text = (message.get("text") or "").strip()
        buttons = message.get("buttons") or message.get("quick_replies") or []
        lines = [text] if text else []
        for button in buttons:
            payloads.append(str(button.get("payload") or button.get("title") or ""))
            lines.append(fragment("wechat_option", i=len(payloads), title=button.get("title", "")))
        if message.get("image"):
            lines.append(str(message["image"]))
        if message.get("attachment") and not isinstance(message["attachment"], dict):
            lines.append(str(message["attachment"]))
        if lines:
            parts.append("\n".join(lines))
    if payloads:
        parts.append(fragment("wechat_options_hint"))
    return "\n\n".join(parts), payloads
