"""Every WeChat mode (plain, safe/AES, WeCom) against the real connector code in front of an
echo bot (tests/fakes/echo_channel_server.py): fast, deterministic, no model needed."""
from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest
import requests

from bot.identity import generate_key_pair
from bot.settings import PROJECT_ROOT
from tests.fakes.fake_wechat import FakeWeChat
from tests.fakes.wechat_sender import WeChatSender, event_message, message_xml, text_message
from tests.support.stack import _redis_for_tests, free_port

pytestmark = pytest.mark.timeout(120)


class EchoServer:
    def __init__(self, mode: str, tmp: Path) -> None:
        self.mode = mode
        self.token = "tok" + secrets.token_hex(6)
        self.aes_key = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        self.app_id = "wwtestcorp" if mode == "wecom" else "wxtestapp"
        self.fake = FakeWeChat(app_id="wxtestapp", corp_id="wwtestcorp").start()
        self.redis, self.redis_process = _redis_for_tests(tmp)
        self.prefix = "csbottest" + uuid.uuid4().hex[:10]
        self.log = tmp / f"echo-{mode}.jsonl"
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), WECHAT_MODE=mode, WECHAT_TOKEN=self.token,
                   WECHAT_APP_ID="wxtestapp", WECHAT_APP_SECRET=self.fake.app_secret,
                   WECHAT_ENCODING_AES_KEY=self.aes_key, WECOM_CORP_ID="wwtestcorp",
                   WECOM_CORP_SECRET=self.fake.corp_secret, WECOM_AGENT_ID="1000002",
                   WECHAT_API_BASE=self.fake.url, WECHAT_REPLY_DEADLINE_SECONDS="2.0", ECHO_SLOW_SECONDS="3",
                   ECHO_LOG=str(self.log), CORE_BANKING_URL="http://127.0.0.1:9",  # nothing there: unbound
                   CORE_BANKING_JWT_PUBLIC_KEY=generate_key_pair()[1], REDIS_KEY_PREFIX=self.prefix,
                   **{"REDIS_URL": self.redis.url})
        log_dir = PROJECT_ROOT / "test-artifacts" / "logs" / "channels"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([sys.executable, "-m", "tests.fakes.echo_channel_server", "--port",
                                         str(self.port)], cwd=PROJECT_ROOT, env=env,
                                        stdout=open(log_dir / f"echo-{mode}.log", "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url("/webhooks/wechat/"), timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert self.process.poll() is None, "echo server died"
            assert time.monotonic() < deadline, "echo server did not start"
            time.sleep(0.3)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def sender(self, token: str = "") -> WeChatSender:
        return WeChatSender(self.url("/webhooks/wechat/webhook"), token or self.token, mode=self.mode,
                            aes_key=self.aes_key, app_id=self.app_id)

    def turns(self, openid: str) -> List[dict]:
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]
        return [r for r in rows if r["sender_id"] == f"wechat-{openid}"]

    def records(self, openid: str, count: int, timeout: float = 10) -> List[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.fake.records(openid)) < count:
            time.sleep(0.1)
        time.sleep(0.3)
        return self.fake.records(openid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.fake.stop()
        if self.redis_process:
            self.redis_process.terminate()


@pytest.fixture(scope="module", params=["plain", "safe", "wecom"])
def echo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EchoServer]:
    server = EchoServer(request.param, tmp_path_factory.mktemp(f"echo-{request.param}"))
    yield server
    server.stop()


def openid() -> str:
    return "oECHO" + uuid.uuid4().hex[:20]


def test_url_verification(echo: EchoServer) -> None:
    assert echo.sender().verify_url("hello-echostr").text == "hello-echostr"
    assert echo.sender().verify_url("hello-echostr", forge=True).status_code == 403


def test_text_round_trip_and_metadata(echo: EchoServer) -> None:
    user = openid()
    message = text_message(user, "你好")
    reply = echo.sender().send(message)
    assert reply.status == 200 and reply.content == "echo: 你好"
    assert reply.fields["ToUserName"] == user
    turns = echo.turns(user)
    assert len(turns) == 1 and turns[0]["message_id"] == message["MsgId"]
    assert turns[0]["metadata"] == {"channel": "wechat", "openid": user}  # not bound: no token


def test_forged_and_wrong_token_refused(echo: EchoServer) -> None:
    user = openid()
    assert echo.sender(token="wrong").send(text_message(user, "你好")).status == 403
    sender = echo.sender()
    params = sender.signed_params()
    body = sender.encode(message_xml(text_message(user, "你好")), params)
    key = "signature" if echo.mode == "plain" else "msg_signature"
    params[key] = params[key][::-1]
    assert sender.post_raw(body, params).status == 403
    assert echo.turns(user) == []


def test_numbered_options(echo: EchoServer) -> None:
    user = openid()
    sender = echo.sender()
    first = sender.send(text_message(user, "options"))
    assert first.content == "请选择：\n1. 怎么提额\n2. 转人工\n\n（回复数字即可选择）"
    assert sender.send(text_message(user, "２")).content == "echo: /request_human"  # full-width digit
    assert sender.send(text_message(user, "1")).content == "echo: 1"  # options are cleared after a plain answer
    assert [t["text"] for t in echo.turns(user)] == ["options", "/request_human", "1"]


def test_slow_bot_success_then_one_api_message(echo: EchoServer) -> None:
    user = openid()
    message = text_message(user, "slow")
    sender = echo.sender()
    reply = sender.send(message)
    assert reply.body == "success" and reply.seconds < 2.8
    time.sleep(0.5)
    assert sender.send(message).body == "success"  # WeChat's retry while the bot is still busy
    records = echo.records(user, 1)
    assert [r["content"] for r in records] == ["echo: slow"]
    if echo.mode == "wecom":
        assert records[0]["path"] == "/cgi-bin/message/send" and records[0]["agentid"] == 1000002
    else:
        assert records[0]["path"] == "/cgi-bin/message/custom/send"
    assert len(echo.turns(user)) == 1


def test_long_answer_goes_through_the_api_in_pieces(echo: EchoServer) -> None:
    user = openid()
    reply = echo.sender().send(text_message(user, "long"))
    assert reply.body == "success"  # 4,500 bytes do not fit one passive reply (2,048 bytes)
    records = echo.records(user, 3)
    assert len(records) == 3 and all(len(r["content"].encode()) <= 2000 for r in records)
    assert "".join(r["content"] for r in records).count("长") == 1500


def test_expired_access_token_is_refreshed(echo: EchoServer) -> None:
    user = openid()
    echo.sender().send(text_message(user, "slow"))
    assert len(echo.records(user, 1)) == 1
    before = echo.fake.token_requests
    echo.fake.expire_tokens()
    echo.sender().send(text_message(user, "slow"))
    assert len(echo.records(user, 2)) == 2
    assert echo.fake.token_requests == before + 1


def test_silent_bot_and_events(echo: EchoServer) -> None:
    user = openid()
    assert echo.sender().send(text_message(user, "silent")).body == "success"
    assert "欢迎" in (echo.sender().send(event_message(user, "subscribe")).content or "")
    assert echo.sender().send(event_message(user, "CLICK")).body == "success"


@pytest.mark.parametrize("body", [
    b"<xml><a>1</a>",
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]><xml><Content>&e;</Content></xml>',
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>',
    b"<xml>" + b"<a>" * 70000 + b"</xml>",
], ids=["truncated", "xxe", "expansion", "oversized"])
def test_hostile_xml(echo: EchoServer, body: bytes) -> None:
    sender = echo.sender()
    params = sender.signed_params()
    payload = body if echo.mode == "plain" or len(body) > 60000 else sender.encode(body.decode(), params)
    reply = sender.post_raw(payload, params)
    assert reply.status in (400, 413)
    assert sender.send(text_message(openid(), "还活着吗")).content == "echo: 还活着吗"
