"""WeChat channel against a running Rasa server: real signed, AES-encrypted callbacks built
with wechatpy, the fake WeChat API recording customer-service messages."""
from __future__ import annotations

import concurrent.futures
import time

import pytest
import requests

from tests.channels.conftest import SLOW_OPENID, SLOW_SECONDS, ChannelStack
from tests.fakes.wechat_sender import WeChatSender, event_message, message_xml, next_msg_id, text_message, voice_message

pytestmark = pytest.mark.timeout(300)


def user_events(stack: ChannelStack, openid: str) -> list:
    tracker = stack.tracker(f"wechat-{openid}")
    return [e for e in tracker["events"] if e["event"] == "user"]


def wait_for_records(stack: ChannelStack, openid: str, count: int, timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = stack.fake_wechat.records(openid)
        if len(records) >= count:
            return records
        time.sleep(0.2)
    return stack.fake_wechat.records(openid)


def test_health(channel_stack: ChannelStack) -> None:
    body = requests.get(f"{channel_stack.rasa_url}/webhooks/wechat/", timeout=5).json()
    assert body == {"status": "ok", "mode": channel_stack.mode}


def test_url_verification(channel_stack: ChannelStack) -> None:
    sender = channel_stack.sender()
    resp = sender.verify_url("echo-1234567890")
    assert resp.status_code == 200 and resp.text == "echo-1234567890"
    forged = sender.verify_url("echo-1234567890", forge=True)
    assert forged.status_code == 403 and "echo" not in forged.text


def test_text_message_gets_passive_reply(channel_stack: ChannelStack) -> None:
    openid = "oTEXTuser" + next_msg_id()[-12:]
    reply = channel_stack.sender().send(text_message(openid, "手机银行转账限额是多少"))
    assert reply.status == 200, reply.body
    assert reply.fields is not None, f"expected a passive reply, got {reply.body!r}"
    assert reply.fields["ToUserName"] == openid and reply.fields["MsgType"] == "text"
    assert reply.content and "限额" in reply.content
    events = user_events(channel_stack, openid)
    assert len(events) == 1
    assert events[0]["text"] == "手机银行转账限额是多少"
    assert events[0]["input_channel"] == "wechat"
    assert events[0]["metadata"]["channel"] == "wechat"
    assert "customer_token" not in events[0]["metadata"]  # not bound


def test_voice_uses_recognition(channel_stack: ChannelStack) -> None:
    openid = "oVOICEuser" + next_msg_id()[-12:]
    reply = channel_stack.sender().send(voice_message(openid, "转账限额是多少？"))
    assert reply.status == 200 and reply.content
    assert user_events(channel_stack, openid)[0]["text"] == "转账限额是多少？"
    empty = channel_stack.sender().send(voice_message(openid, ""))
    assert empty.status == 200 and "语音" in (empty.content or "")
    assert len(user_events(channel_stack, openid)) == 1  # unrecognised voice never reaches the bot


def test_subscribe_event_welcome(channel_stack: ChannelStack) -> None:
    openid = "oSUBuser" + next_msg_id()[-12:]
    sender = channel_stack.sender()
    event = event_message(openid, "subscribe")
    reply = sender.send(event)
    assert reply.status == 200 and "欢迎" in (reply.content or "")
    again = sender.send(event)  # WeChat's retry of the same event
    assert again.status == 200 and again.body == "success"
    unsubscribe = sender.send(event_message(openid, "unsubscribe"))
    assert unsubscribe.status == 200 and unsubscribe.body == "success"


@pytest.mark.parametrize("fields", [
    {"MsgType": "image", "PicUrl": "http://example.com/a.jpg", "MediaId": "m1"},
    {"MsgType": "location", "Location_X": "30.27", "Location_Y": "120.15", "Scale": "15", "Label": "杭州"},
    {"MsgType": "video", "MediaId": "m2", "ThumbMediaId": "t2"},
])
def test_unsupported_types_get_polite_text(channel_stack: ChannelStack, fields: dict) -> None:
    openid = "oUNSUPuser" + next_msg_id()[-12:]
    message = {"ToUserName": "gh_testbank", "FromUserName": openid, "CreateTime": int(time.time()),
               **fields, "MsgId": next_msg_id()}
    reply = channel_stack.sender().send(message)
    assert reply.status == 200 and "文字" in (reply.content or "")
    assert user_events(channel_stack, openid) == []


def test_forged_signature_is_refused(channel_stack: ChannelStack) -> None:
    openid = "oFORGEuser" + next_msg_id()[-12:]
    sender = channel_stack.sender()
    xml = message_xml(text_message(openid, "转账限额"))
    params = sender.signed_params()
    body = sender.encode(xml, params)
    for key in ("signature", "msg_signature"):
        if key in params:
            forged = dict(params, **{key: "f" * 40})
            reply = sender.post_raw(body, forged)
            assert reply.status == 403, (key, reply.body)
    other_token = WeChatSender(sender.url, "not-the-token", mode=sender.mode, aes_key=sender.aes_key,
                               app_id=sender.app_id)
    assert other_token.post_xml(xml).status == 403
    stale = sender.signed_params(timestamp=str(int(time.time()) - 3600))
    assert sender.post_xml(xml, stale).status == 403
    assert user_events(channel_stack, openid) == []


def test_retries_reach_the_bot_once(channel_stack: ChannelStack) -> None:
    openid = "oRETRYuser" + next_msg_id()[-12:]
    message = text_message(openid, "转账限额是多少")
    sender = channel_stack.sender()
    replies = [sender.send(message) for _ in range(3)]
    assert [r.status for r in replies] == [200, 200, 200]
    passive = [r for r in replies if r.fields]
    assert len(passive) == 1 and replies[1].body == replies[2].body == "success"
    time.sleep(1)
    assert channel_stack.fake_wechat.records(openid) == []
    events = user_events(channel_stack, openid)
    assert len(events) == 1 and events[0]["message_id"] == message["MsgId"]


def test_concurrent_retries_reach_the_bot_once(channel_stack: ChannelStack) -> None:
    openid = "oCRETRYuser" + next_msg_id()[-12:]
    message = text_message(openid, "转账限额是多少")
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: channel_stack.sender().send(message), range(3)))
    assert all(r.status == 200 for r in replies)
    time.sleep(1.5)
    answers = len([r for r in replies if r.fields]) + len(channel_stack.fake_wechat.records(openid))
    assert answers == 1
    assert len(user_events(channel_stack, openid)) == 1


def test_slow_bot_answers_via_customer_service_api(channel_stack: ChannelStack) -> None:
    message = text_message(SLOW_OPENID, "转账限额是多少")
    started = time.monotonic()
    reply = channel_stack.sender().send(message)
    elapsed = time.monotonic() - started
    assert reply.status == 200 and reply.body == "success"
    assert elapsed < 4.8, f"the connector must answer before WeChat's 5 s deadline, took {elapsed:.2f}s"
    records = wait_for_records(channel_stack, SLOW_OPENID, 1, timeout=SLOW_SECONDS + 20)
    time.sleep(1)
    records = channel_stack.fake_wechat.records(SLOW_OPENID)
    assert len(records) == 1, records
    assert records[0]["msgtype"] == "text" and "限额" in records[0]["content"]
    assert len(user_events(channel_stack, SLOW_OPENID)) == 1


@pytest.mark.parametrize("body", [
    b"<xml><ToUserName>broken",
    b"not xml at all",
    b"<xml></xml>",
    b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>oXXE</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>""",
    b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>oLOL</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>2</MsgId></xml>""",
], ids=["truncated", "not-xml", "empty-root", "xxe", "billion-laughs"])
def test_hostile_xml_is_rejected(channel_stack: ChannelStack, body: bytes) -> None:
    sender = channel_stack.sender()
    params = sender.signed_params()
    if sender.mode == "plain":
        reply = sender.post_raw(body, params)
    else:  # the hostile document is what the AES envelope decrypts to
        reply = sender.post_raw(sender.encode(body.decode(), params), params)
    assert reply.status == 400, reply.body
    if sender.mode != "plain":  # and a hostile outer envelope too
        outer = sender.signed_params()
        outer["msg_signature"] = "0" * 40
        assert sender.post_raw(body, outer).status in (400, 403)
    assert requests.get(f"{channel_stack.rasa_url}/", timeout=5).status_code == 200
    ok = sender.send(text_message("oAFTERhostile" + next_msg_id()[-10:], "转账限额"))
    assert ok.status == 200 and ok.fields


def test_plaintext_refused_in_safe_mode(channel_stack: ChannelStack) -> None:
    if channel_stack.mode != "safe":
        pytest.skip("safe mode only")
    sender = channel_stack.sender()
    params = sender.signed_params()
    params.pop("encrypt_type")
    reply = sender.post_raw(message_xml(text_message("oPLAINinSAFE", "转账限额")).encode(), params)
    assert reply.status == 400


def test_numbered_options_map_back_to_payloads(channel_stack: ChannelStack) -> None:
    openid = "oOPTIONuser" + next_msg_id()[-12:]
    sender = channel_stack.sender()
    first = sender.send(text_message(openid, "手机银行转账限额是多少"))
    assert first.content and "\n1. " in first.content, first.content
    option_lines = [line for line in first.content.splitlines() if line[:2] == "1."]
    assert option_lines
    second = sender.send(text_message(openid, "1"))
    assert second.status == 200 and second.content
    events = user_events(channel_stack, openid)
    assert len(events) == 2
    assert events[1]["text"].startswith("/"), events[1]["text"]  # the button payload, not "1"


def bind(stack: ChannelStack, openid: str, customer_id: str) -> None:
    resp = requests.post(f"{stack.core_banking_url}/internal/wechat/bindings",
                         json={"openid": openid, "customer_id": customer_id},
                         headers={"Authorization": f"Bearer {stack.stack.env['CORE_BANKING_SERVICE_TOKEN']}"}, timeout=10)
    assert resp.status_code == 200, resp.text


def test_bound_user_is_answered_as_the_customer(channel_stack: ChannelStack) -> None:
    """The connector gets a customer token for the bound openid; the turn's actions use it
    (her own limits and what is left today); the stored conversation keeps only her id."""
    openid = "oBOUNDuser" + next_msg_id()[-12:]
    bind(channel_stack, openid, "C1001")
    reply = channel_stack.sender().send(text_message(openid, "转账限额是多少"))
    assert reply.status == 200 and reply.fields
    assert "还能转" in (reply.content or ""), reply.content  # her own limits, from core banking
    metadata = user_events(channel_stack, openid)[-1]["metadata"]
    assert metadata["channel"] == "wechat" and metadata.get("customer_id") == "C1001"
    assert "customer_token" not in metadata  # never stored (bot/tracker_store.py)


def test_push_via_rasa_api_uses_customer_service_api(channel_stack: ChannelStack) -> None:
    """What the handoff does: an agent's message to a WeChat user outside a request, as a
    bot event appended through Rasa's HTTP API with output_channel=wechat."""
    openid = "oPUSHuser" + next_msg_id()[-12:]
    channel_stack.sender().send(text_message(openid, "你好"))
    event = {"event": "bot", "text": "客服小王：您好，我来帮您处理。",
             "data": {"buttons": [{"title": "已解决", "payload": "/affirm"}]}}
    resp = requests.post(
        f"{channel_stack.rasa_url}/conversations/wechat-{openid}/tracker/events",
        params={"token": channel_stack.stack.rasa_token, "output_channel": "wechat",
                "execute_side_effects": "true"}, json=event, timeout=20)
    assert resp.status_code == 200, resp.text
    records = wait_for_records(channel_stack, openid, 1)
    assert len(records) == 1
    assert records[0]["content"].startswith("客服小王：您好") and "1. 已解决" in records[0]["content"]
