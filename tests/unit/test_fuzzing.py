"""Property-based fuzzing (hypothesis) of the code that reads what strangers send.

Each target gets arbitrary input and may only answer the way it is documented to: the text
normalizer always returns text; the WeChat XML parser returns the <xml> children or raises
UnsafeXML; the WeChat decoder (signature, XML, AES) answers with `Rejected` (a 4xx), never
another exception; the app channel's message check returns the text or `MessageRejected`.
The number of inputs per target is `FUZZ_EXAMPLES` (figures in docs/reliability.md).
"""
from __future__ import annotations

import base64
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.nlu.normalizer import default_normalizer
from connectors.app import AppInput, MessageRejected
from connectors.safe_xml import UnsafeXML, parse_xml
from connectors.wechat import Rejected, WeChatConfig, WeChatInput, signature

FUZZ_EXAMPLES = 400
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as customers and attackers type it: CJK, full-width forms, digits, emoji, controls.
TEXT = st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
    st.sampled_from(list("零一二三四五六七八九十百千万亿两块元.，。？！ \n\t\u200b\ufeff")),
    st.characters(),
), max_size=300)

XML_PIECES = st.sampled_from([
    b"<xml>", b"</xml>", b"<ToUserName><![CDATA[gh_1]]></ToUserName>", b"<Content>", b"</Content>",
    b"<![CDATA[", b"]]>", b"<!DOCTYPE x [", b"<!ENTITY e 'x'>", b"&e;", b"&amp;", b"<a>", b"</a>",
    b"<MsgType>text</MsgType>", b"\x00", b"\xff\xfe", "你好".encode(), b"<?xml version='1.0'?>",
])
XML = st.one_of(st.binary(max_size=600), st.lists(XML_PIECES, max_size=30).map(b"".join))


@FUZZ
@given(TEXT)
@example("\ud800")  # a lone surrogate (JSON "\\ud800") crashed OpenCC before clean_characters dropped it
@example("/０")  # a leading "/" was taken for a button payload and left unnormalised
def test_the_normalizer_always_returns_text(text: str) -> None:
    normalized = default_normalizer()(text)
    assert isinstance(normalized, str)
    assert not any("\uff10" <= ch <= "\uff19" for ch in normalized)  # full-width digits are gone


@FUZZ
@given(XML)
def test_wechat_xml_is_parsed_or_refused(body: bytes) -> None:
    try:
        root = parse_xml(body)
    except UnsafeXML:
        return
    assert isinstance(root, dict)
    assert b"<!doctype" not in body.lower() and b"<!entity" not in body.lower()


AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
CHANNEL = WeChatInput(WeChatConfig(mode="safe", token="fuzz-token", app_id="wx-fuzz", encoding_aes_key=AES_KEY))


@FUZZ
@given(encrypt=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())),
       outer=XML, signed=st.booleans())
def test_wechat_decoding_answers_only_with_rejected(encrypt: str, outer: bytes, signed: bool) -> None:
    timestamp, nonce = str(int(time.time())), "n0nce"
    body = outer if not encrypt else f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    args = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
            "signature": signature("fuzz-token", timestamp, nonce),
            "msg_signature": signature("fuzz-token", timestamp, nonce, encrypt) if signed else "0" * 40}
    try:
        message = CHANNEL._decode(args, body)
    except Rejected as exc:
        assert 400 <= exc.status < 500
        return
    assert isinstance(message, dict)  # only a correctly encrypted payload gets here


APP = AppInput(max_message_chars=2000)


@FUZZ
@given(st.one_of(TEXT, st.none(), st.integers(), st.lists(st.text(max_size=5)), st.dictionaries(st.text(), st.text())))
def test_the_app_message_check_returns_text_or_a_clear_refusal(value) -> None:
    try:
        text = APP.check_text(value)
    except MessageRejected as exc:
        assert exc.status in (400, 413) and exc.error in ("empty_message", "message_too_long")
        return
    assert isinstance(text, str) and text.strip() and len(text) <= 2000
