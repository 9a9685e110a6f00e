"""App channel against a running Rasa server: customer-JWT auth, validation, Rasa's rich
message shapes, socket.io (real python-socketio client) and pushed messages.

python-socketio's AsyncClient uses the polling transport here: its websocket transport needs
aiohttp >= 3.10 (ClientWSTimeout) and Rasa pins aiohttp 3.9. The websocket transport (what
Rasa Webchat uses) is exercised with a raw Engine.IO v4 client over `websockets`."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Dict, List

import jwt
import pytest
import requests
import socketio

from bot.identity import customer_claims, generate_key_pair
from tests.channels.conftest import ChannelStack
from tests.fakes.fake_core_banking import mint_customer_token
from tests.support.net import post_json_from

pytestmark = pytest.mark.timeout(180)


def app_url(stack: ChannelStack, path: str) -> str:
    return f"{stack.rasa_url}/webhooks/app{path}"


def post(stack: ChannelStack, body: Any, token: str = None, raw: bytes = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if raw is not None:
        return requests.post(app_url(stack, "/webhook"), data=raw, headers=headers, timeout=30)
    return requests.post(app_url(stack, "/webhook"), json=body, headers=headers, timeout=30)


def user_events(stack: ChannelStack, sender: str) -> List[Dict[str, Any]]:
    return [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]


def new_customer() -> str:
    return "C9" + uuid.uuid4().hex[:6].upper()


def push_bot_event(stack: ChannelStack, sender: str, text: str, buttons: list = None) -> None:
    event = {"event": "bot", "text": text, "data": {"buttons": buttons} if buttons else {}}
    resp = requests.post(f"{stack.rasa_url}/conversations/{sender}/tracker/events",
                         params={"token": stack.stack.rasa_token, "output_channel": "app",
                                 "execute_side_effects": "true"}, json=event, timeout=20)
    assert resp.status_code == 200, resp.text


def test_token_checks(channel_stack: ChannelStack) -> None:
    secret = channel_stack.signing_key
    customer = new_customer()
    bad_tokens = {
        "missing": None,
        "garbage": "not-a-jwt",
        "forged": mint_customer_token(generate_key_pair()[0], customer),
        "expired": mint_customer_token(secret, customer, ttl_seconds=-60),
        "wrong-type": mint_customer_token(secret, customer, typ="agent"),
        "wrong-issuer": mint_customer_token(secret, customer, iss="someone-else"),
        "alg-none": jwt.encode({"sub": customer, "typ": "customer", "iss": "core-banking",
                                "exp": int(time.time()) + 600}, None, algorithm="none"),
    }
    for name, token in bad_tokens.items():
        resp = post(channel_stack, {"message": "你好"}, token=token)
        assert resp.status_code == 401, (name, resp.text)
        assert resp.json()["error"] == "unauthorized"
        assert requests.get(app_url(channel_stack, "/messages"), timeout=10,
                            headers={"Authorization": f"Bearer {token}"} if token else {}).status_code == 401
    assert user_events(channel_stack, f"app-{customer}") == []


def test_empty_and_huge_messages_are_refused(channel_stack: ChannelStack) -> None:
    customer = new_customer()
    token = mint_customer_token(channel_stack.signing_key, customer)
    for body in ({"message": ""}, {"message": "   "}, {}, {"message": 42}, ["你好"]):
        resp = post(channel_stack, body, token=token)
        assert resp.status_code == 400 and resp.json()["error"] == "empty_message", body
    assert post(channel_stack, None, token=token, raw=b"{not json").status_code == 400
    huge = post(channel_stack, {"message": "转" * 2001}, token=token)
    assert huge.status_code == 413 and huge.json()["error"] == "message_too_long"
    assert "2000" in huge.json()["message"]
    assert post(channel_stack, {"message": "转" * 2000}, token=token).status_code == 200
    assert len(user_events(channel_stack, f"app-{customer}")) == 1


def test_rest_round_trip_identity_and_rich_shapes(channel_stack: ChannelStack) -> None:
    customer = new_customer()
    token = mint_customer_token(channel_stack.signing_key, customer)
    resp = post(channel_stack, {"message": "你好", "sender": "someone-else",
                                "metadata": {"customer_token": "forged"}}, token=token)
    assert resp.status_code == 200, resp.text
    messages = resp.json()
    assert messages and all(m["recipient_id"] == f"app-{customer}" for m in messages)
    with_buttons = [m for m in messages if m.get("buttons")]
    assert with_buttons, messages  # the greeting offers choices
    for button in with_buttons[0]["buttons"]:
        assert set(button) == {"title", "payload"} and button["title"] and button["payload"]
    events = user_events(channel_stack, f"app-{customer}")
    assert len(events) == 1 and events[0]["input_channel"] == "app"
    metadata = events[0]["metadata"]  # Rasa adds assistant_id/model_id
    assert {k: metadata.get(k) for k in ("channel", "customer_id")} == {"channel": "app", "customer_id": customer}
    assert "customer_token" not in metadata  # used during the turn, never stored (bot/tracker_store.py)
    assert "sender" not in metadata
    assert user_events(channel_stack, "someone-else") == []
    # Clicking a button sends its payload.
    payload = with_buttons[0]["buttons"][0]["payload"]
    assert post(channel_stack, {"message": payload}, token=token).status_code == 200
    assert user_events(channel_stack, f"app-{customer}")[-1]["text"] == payload


def test_demo_login_proxy(channel_stack: ChannelStack) -> None:
    ok = requests.post(app_url(channel_stack, "/login"), json={"username": "C1002", "password": "demo1234"},
                       timeout=10)
    assert ok.status_code == 200, ok.text
    claims = customer_claims(ok.json()["access_token"], channel_stack.public_key)
    assert claims["sub"] == "C1002" and claims["typ"] == "customer"
    bad = requests.post(app_url(channel_stack, "/login"), json={"username": "C1002", "password": "nope"}, timeout=10)
    assert bad.status_code == 401


async def _socket_round_trip(stack: ChannelStack, token: str, sender: str) -> Dict[str, Any]:
    client = socketio.AsyncClient(reconnection=False)
    received: "asyncio.Queue[tuple]" = asyncio.Queue()
    client.on("session_confirm", lambda data: received.put_nowait(("session_confirm", data)))
    client.on("bot_uttered", lambda data: received.put_nowait(("bot_uttered", data)))
    client.on("error", lambda data: received.put_nowait(("error", data)))

    async def next_event(name: str, timeout: float = 20) -> Any:
        while True:
            event, data = await asyncio.wait_for(received.get(), timeout)
            if event == name:
                return data

    result: Dict[str, Any] = {}
    await client.connect(stack.rasa_url, socketio_path="/webhooks/app/socket.io", auth={"token": token},
                         transports=["polling"], wait_timeout=10)
    try:
        await client.emit("session_request", {"session_id": "ignored-client-choice"})
        result["session"] = await next_event("session_confirm")
        await client.emit("user_uttered", {"message": "你好", "session_id": result["session"]})
        result["reply"] = await next_event("bot_uttered")
        await client.emit("user_uttered", {"message": ""})
        result["error"] = await next_event("error")
        # A push while the socket is connected is emitted to it.
        await asyncio.get_running_loop().run_in_executor(None, push_bot_event, stack, sender, "客服小李：在的。",
                                                         [{"title": "好的", "payload": "/affirm"}])
        result["pushed"] = await next_event("bot_uttered")
    finally:
        await client.disconnect()
    return result


def test_socketio_round_trip_and_push(channel_stack: ChannelStack) -> None:
    customer = new_customer()
    sender = f"app-{customer}"
    token = mint_customer_token(channel_stack.signing_key, customer)
    result = asyncio.run(_socket_round_trip(channel_stack, token, sender))
    assert result["session"] == sender
    assert result["reply"]["text"]
    if result["reply"].get("buttons"):
        assert result["reply"]["quick_replies"][0]["content_type"] == "text"
        assert set(result["reply"]["buttons"][0]) == {"title", "payload"}
    assert result["error"]["error"] == "empty_message"
    assert result["pushed"] == {"text": "客服小李：在的。", "buttons": [{"title": "好的", "payload": "/affirm"}],
                                "quick_replies": [{"content_type": "text", "title": "好的", "payload": "/affirm"}]}
    events = user_events(channel_stack, sender)
    assert len(events) == 1 and events[0]["metadata"]["customer_id"] == customer
    # Pushed over the socket, so nothing waits in the outbox.
    resp = requests.get(app_url(channel_stack, "/messages"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.json() == {"messages": []}


@pytest.mark.parametrize("how", ["bad-token", "no-token"])
def test_socketio_refuses_bad_tokens(channel_stack: ChannelStack, how: str) -> None:
    async def attempt() -> None:
        client = socketio.AsyncClient(reconnection=False)
        auth = {"token": mint_customer_token(generate_key_pair()[0], "C1001")} if how == "bad-token" else None
        await client.connect(channel_stack.rasa_url, socketio_path="/webhooks/app/socket.io", auth=auth,
                             transports=["polling"], wait_timeout=10)

    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(attempt())


def test_socketio_token_in_query(channel_stack: ChannelStack) -> None:
    customer = new_customer()
    token = mint_customer_token(channel_stack.signing_key, customer)

    async def attempt() -> Any:
        client = socketio.AsyncClient(reconnection=False)
        confirmed: "asyncio.Future" = asyncio.get_running_loop().create_future()
        client.on("session_confirm", lambda data: confirmed.set_result(data))
        await client.connect(f"{channel_stack.rasa_url}?token={token}", socketio_path="/webhooks/app/socket.io",
                             transports=["polling"], wait_timeout=10)
        await client.emit("session_request", {})
        try:
            return await asyncio.wait_for(confirmed, 10)
        finally:
            await client.disconnect()

    assert asyncio.run(attempt()) == f"app-{customer}"


def test_push_outbox_for_rest_clients(channel_stack: ChannelStack, monkeypatch: pytest.MonkeyPatch) -> None:
    customer = new_customer()
    sender = f"app-{customer}"
    token = mint_customer_token(channel_stack.signing_key, customer)
    auth = {"Authorization": f"Bearer {token}"}
    # 1. Through Rasa's HTTP API (what the handoff does), no socket connected -> outbox.
    push_bot_event(channel_stack, sender, "客服小王：您好，我是人工客服。", [{"title": "谢谢", "payload": "/thank"}])
    # 2. From another process with the importable function.
    monkeypatch.setenv("REDIS_URL", channel_stack.stack.env["REDIS_URL"])
    monkeypatch.setenv("REDIS_KEY_PREFIX", channel_stack.stack.key_prefix)
    from connectors.app import push_to_customer

    assert asyncio.run(push_to_customer(sender, {"text": "您的工单已受理。"})) == "outbox"
    ttl = channel_stack.redis().ttl(f"{channel_stack.stack.key_prefix}:app:outbox:{sender}")
    assert 0 < ttl <= 86400
    resp = requests.get(app_url(channel_stack, "/messages"), headers=auth, timeout=10)
    assert resp.json() == {"messages": [
        {"text": "客服小王：您好，我是人工客服。", "buttons": [{"title": "谢谢", "payload": "/thank"}]},
        {"text": "您的工单已受理。"},
    ]}
    assert requests.get(app_url(channel_stack, "/messages"), headers=auth, timeout=10).json() == {"messages": []}
    # Another customer's token never sees them.
    other = mint_customer_token(channel_stack.signing_key, new_customer())
    asyncio.run(push_to_customer(sender, {"text": "仅本人可见"}))
    assert requests.get(app_url(channel_stack, "/messages"), headers={"Authorization": f"Bearer {other}"},
                        timeout=10).json() == {"messages": []}


def test_socketio_over_websocket_transport(channel_stack: ChannelStack) -> None:
    """Engine.IO v4 / Socket.IO v5 spoken by hand over a real websocket."""
    import json as _json

    import websockets

    customer = new_customer()
    token = mint_customer_token(channel_stack.signing_key, customer)
    url = channel_stack.rasa_url.replace("http://", "ws://") + "/webhooks/app/socket.io/?EIO=4&transport=websocket"

    async def talk(auth_token: str) -> List[Any]:
        events: List[Any] = []
        async with websockets.connect(url) as ws:
            assert (await ws.recv()).startswith("0")  # engine.io open
            await ws.send("40" + _json.dumps({"token": auth_token}))
            answer = await ws.recv()
            if answer.startswith("44"):
                return [("refused", answer)]
            assert answer.startswith("40"), answer
            await ws.send("42" + _json.dumps(["session_request", {}]))
            await ws.send("42" + _json.dumps(["user_uttered", {"message": "你好"}]))
            while len(events) < 2:
                frame = await asyncio.wait_for(ws.recv(), 20)
                if frame == "2":  # ping
                    await ws.send("3")
                elif frame.startswith("42"):
                    events.append(tuple(_json.loads(frame[2:])))
        return events

    events = asyncio.run(talk(token))
    assert events[0] == ("session_confirm", f"app-{customer}")
    assert events[1][0] == "bot_uttered" and events[1][1]["text"]
    refused = asyncio.run(talk(mint_customer_token(channel_stack.signing_key, customer, ttl_seconds=-5)))
    assert refused[0][0] == "refused"


FOREIGN_ORIGIN = "https://evil.example"


def test_cors_preflight_from_a_foreign_origin_is_refused(channel_stack: ChannelStack) -> None:
    def preflight(origin: str) -> requests.Response:
        return requests.options(app_url(channel_stack, "/webhook"), timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})

    own = channel_stack.rasa_url  # the demo page is served by Rasa itself
    assert preflight(own).headers.get("Access-Control-Allow-Origin") == own
    foreign = preflight(FOREIGN_ORIGIN)
    assert foreign.headers.get("Access-Control-Allow-Origin") not in (FOREIGN_ORIGIN, "*"), dict(foreign.headers)


def test_socketio_from_a_foreign_origin_is_refused(channel_stack: ChannelStack) -> None:
    token = mint_customer_token(channel_stack.signing_key, new_customer())

    async def connect(origin: str) -> None:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(channel_stack.rasa_url, socketio_path="/webhooks/app/socket.io", auth={"token": token},
                             headers={"Origin": origin}, transports=["polling"], wait_timeout=10)
        await client.disconnect()

    asyncio.run(connect(channel_stack.rasa_url))  # the page's own origin connects
    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(connect(FOREIGN_ORIGIN))


def test_a_wildcard_origin_is_refused_at_start() -> None:
    from bot.rasa_server import cors_origins, refuse_wildcard_origins
    from bot.settings import Settings, allowed_origins

    assert cors_origins(["run", "--cors", "http://a", "http://b", "--port", "5005"]) == ["http://a", "http://b"]
    with pytest.raises(SystemExit):
        refuse_wildcard_origins(["run", "--cors", "*", "--enable-api"])
    with pytest.raises(ValueError):
        allowed_origins(Settings(allowed_origins="https://chat.bank.example *"))
    assert allowed_origins(Settings(rasa_port=5123)) == ["http://localhost:5123", "http://127.0.0.1:5123"]


def _login_from(stack: ChannelStack, source: str, username: str, password: str) -> int:
    return post_json_from(source, stack.rasa_url, "/webhooks/app/login", {"username": username, "password": password})


def test_login_guessing_is_throttled_per_address(channel_stack: ChannelStack) -> None:
    guesser = "127.0.0.9"  # another address of this machine: the other tests log in from 127.0.0.1
    statuses = [_login_from(channel_stack, guesser, "C1002", f"guess{n}") for n in range(10)]
    assert statuses == [401] * 10
    assert _login_from(channel_stack, guesser, "C1002", "demo1234") == 429  # refused before core banking
    assert _login_from(channel_stack, "127.0.0.1", "C1002", "demo1234") == 200  # the customer is not locked out
