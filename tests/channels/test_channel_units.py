"""Pure functions of the channels: token checks, XML safety, rendering, splitting."""
from __future__ import annotations

import time

import jwt
import pytest

from actions.knowledge import fragment
from connectors.app import app_message, socket_message
from bot.identity import InvalidCustomerToken, generate_key_pair, private_key, public_key, verify_customer_token
from connectors.common import bearer_token
from connectors.safe_xml import UnsafeXML, parse_xml
from connectors.wechat import OPTION_RE, render_messages, signature, signature_ok
from connectors.wechat_api import split_text
from tests.fakes.fake_core_banking import mint_customer_token

SIGNING_KEY, PUBLIC_KEY = generate_key_pair()


def test_verify_customer_token() -> None:
    token = mint_customer_token(SIGNING_KEY, "C1001")
    assert verify_customer_token(token, PUBLIC_KEY).customer_id == "C1001"
    now = int(time.time())
    claims = {"sub": "C1001", "typ": "customer", "iss": "core-banking", "iat": now, "exp": now + 60}
    for bad in (None, "", "x.y.z", mint_customer_token(generate_key_pair()[0], "C1001"),
                mint_customer_token(SIGNING_KEY, "C1001", ttl_seconds=-1),
                mint_customer_token(SIGNING_KEY, "C1001", typ="agent"),
                mint_customer_token(SIGNING_KEY, "C1001", iss="evil"), mint_customer_token(SIGNING_KEY, ""),
                jwt.encode({k: v for k, v in claims.items() if k != "exp"}, private_key(SIGNING_KEY), algorithm="EdDSA"),
                jwt.encode(claims, "any-shared-secret-any-shared-secret", algorithm="HS256")):
        with pytest.raises(InvalidCustomerToken):
            verify_customer_token(bad, PUBLIC_KEY)
    with pytest.raises(InvalidCustomerToken):  # no key configured: refuse everything
        verify_customer_token(token, "")


def test_a_token_minted_with_the_verify_only_key_is_refused() -> None:
    """Everyone but core banking holds the public key. Signing with it as an HMAC secret (the
    'algorithm confusion' attack) or with any other key must not make a customer."""
    now = int(time.time())
    claims = {"sub": "C1003", "typ": "customer", "iss": "core-banking", "iat": now, "exp": now + 60}
    for alg in ("HS256", "HS512"):
        for key in (PUBLIC_KEY, bytes.fromhex(PUBLIC_KEY)):
            forged = jwt.encode(claims, key, algorithm=alg)
            with pytest.raises(InvalidCustomerToken):
                verify_customer_token(forged, PUBLIC_KEY)
    assert not hasattr(public_key(PUBLIC_KEY), "sign")  # and an Ed25519 public key cannot sign at all
    assert bearer_token("Bearer abc") == "abc" and bearer_token("Basic abc") is None and bearer_token(None) is None


@pytest.mark.parametrize("body", [b"", b"<xml>", b"<a>1</a>", b"<xml>text</xml>",
                                  b'<!DOCTYPE xml [<!ENTITY a "b">]><xml><c>&a;</c></xml>',
                                  b'<?xml version="1.0" encoding="UTF-16"?><xml><a>1</a></xml>'])
def test_parse_xml_rejects(body: bytes) -> None:
    with pytest.raises(UnsafeXML):
        parse_xml(body)


def test_parse_xml_accepts_wechat_shapes() -> None:
    root = parse_xml("<xml><Content><![CDATA[你好 <b>]]></Content><CreateTime>1</CreateTime></xml>".encode())
    assert root == {"Content": "你好 <b>", "CreateTime": "1"}


def test_render_messages_numbers_buttons_across_messages() -> None:
    text, payloads = render_messages([
        {"text": "第一条"},
        {"text": "请选择", "buttons": [{"title": "怎么提额", "payload": "/a"}, {"title": "转人工", "payload": "/b"}]},
    ])
    # the numbered lines and the hint are wording.yml's wechat_option / wechat_options_hint
    option = lambda i, title: fragment("wechat_option", i=i, title=title)  # noqa: E731
    assert text == "\n\n".join(["第一条", "\n".join(["请选择", option(1, "怎么提额"), option(2, "转人工")]),
                                fragment("wechat_options_hint")])
    assert payloads == ["/a", "/b"]
    assert render_messages([]) == ("", [])
    assert OPTION_RE.match("2") and OPTION_RE.match(" 1. ") and not OPTION_RE.match("12345")


def test_signature_compare() -> None:
    good = signature("tok", "123", "abc")
    assert signature_ok(["tok", "123", "abc"], good)
    assert not signature_ok(["tok", "123", "abc"], good.upper()) and not signature_ok(["tok", "123", "abc"], None)


def test_split_text() -> None:
    assert split_text("短") == ["短"]
    parts = split_text("\n".join(["字" * 400] * 4))
    assert all(len(p.encode()) <= 2000 for p in parts) and "".join(parts).count("字") == 1600
    assert all(len(p.encode()) <= 2000 for p in split_text("字" * 5000))


def test_app_message_shapes() -> None:
    message = {"text": "hi", "buttons": [{"title": "A", "payload": "/a", "extra": 1}], "utter_action": "utter_x",
               "image": None}
    assert app_message(message) == {"text": "hi", "buttons": [{"title": "A", "payload": "/a"}]}
    assert socket_message(message)["quick_replies"] == [{"content_type": "text", "title": "A", "payload": "/a"}]


def test_wechat_runs_at_most_max_concurrent_turns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from connectors import wechat
    from connectors.core_banking_client import Binding

    async def unbound(openid: str) -> Binding:
        return Binding(customer_id=None, customer_token=None)

    async def no_options(*args: object) -> None:
        return None

    monkeypatch.setattr(wechat, "binding_for_openid", unbound)
    monkeypatch.setattr(wechat, "remember_options", no_options)
    running, most = 0, 0

    async def bot_turn(message) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        await message.output_channel.send_text_message(message.sender_id, f"答复 {message.text}")

    async def burst() -> list:
        channel = wechat.WeChatInput(wechat.WeChatConfig(token="t", max_concurrent_turns=3))
        return await asyncio.gather(*(channel._run_bot(f"oUSER{i:04d}", f"问题{i}", f"m{i}", bot_turn)
                                      for i in range(12)))

    replies = asyncio.run(burst())
    assert most == 3
    assert replies == [f"答复 问题{i}" for i in range(12)]


def test_only_core_banking_is_given_the_signing_key() -> None:
    from bot.stack import StackConfig

    env = {"CORE_BANKING_JWT_PRIVATE_KEY": SIGNING_KEY, "CORE_BANKING_JWT_PUBLIC_KEY": PUBLIC_KEY, "PATH": "/bin"}
    assert StackConfig.env_for("core_banking", env)["CORE_BANKING_JWT_PRIVATE_KEY"] == SIGNING_KEY
    for process in ("rasa", "actions", "agent_desk"):
        given = StackConfig.env_for(process, env)
        assert "CORE_BANKING_JWT_PRIVATE_KEY" not in given and given["CORE_BANKING_JWT_PUBLIC_KEY"] == PUBLIC_KEY
