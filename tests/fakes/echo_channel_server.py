"""A Sanic server with the project's channels in front of an echo bot, for fast channel tests
in every WeChat mode without loading a model:

    WECHAT_MODE=wecom WECHAT_TOKEN=... python -m tests.fakes.echo_channel_server --port 5999

The echo bot answers "echo: <text>"; the text "options" gets two buttons, "silent" no reply,
"long" a 1,500-character reply, "slow" a reply after ECHO_SLOW_SECONDS (default 6). Everything else (signatures, crypto,
XML, de-duplication, Redis, the fake WeChat API) is the real connector code. Each user
message is appended as a JSON line to ECHO_LOG (if set) so tests can count bot turns.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os

from rasa.core.channels.channel import UserMessage
from sanic import Sanic, response

from connectors.app import AppInput
from connectors.wechat import WeChatInput


async def echo_bot(message: UserMessage) -> None:
    log = os.environ.get("ECHO_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"sender_id": message.sender_id, "text": message.text, "message_id": message.message_id,
                                 "input_channel": message.input_channel, "metadata": message.metadata},
                                ensure_ascii=False) + "\n")
    text = message.text or ""
    if text == "silent":
        return
    if text == "slow":
        await asyncio.sleep(float(os.environ.get("ECHO_SLOW_SECONDS", "6")))
    if text == "options":
        await message.output_channel.send_response(message.sender_id, {
            "text": "请选择：", "buttons": [{"title": "怎么提额", "payload": "/ask_raise_limit"},
                                          {"title": "转人工", "payload": "/request_human"}]})
        return
    if text == "long":
        await message.output_channel.send_response(message.sender_id, {"text": "\n".join(["长" * 300] * 5)})
        return
    if text == "quick":
        await message.output_channel.send_response(message.sender_id, {
            "text": "快捷回复", "quick_replies": [{"title": "是", "payload": "/affirm"}]})
        return
    await message.output_channel.send_response(message.sender_id, {"text": f"echo: {text}"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Sanic("echo_channels", strict_slashes=False)
    channels = [WeChatInput.from_credentials({}), AppInput.from_credentials({})]
    for channel in channels:
        app.blueprint(channel.blueprint(echo_bot), url_prefix=f"/webhooks/{channel.url_prefix()}")

    @app.get("/")
    async def root(_):  # type: ignore[no-untyped-def]
        return response.text("echo channels")

    app.run(host="127.0.0.1", port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
