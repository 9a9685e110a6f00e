"""The channels' test stack: the real Procfile processes (Rasa with the project's
credentials.yml, actions, core banking when it exists) with the WeChat channel pointed at a
local fake WeChat API, on free ports and an isolated Redis prefix (tests/support/stack.py).

Without the real core-banking service (services/core_banking/__main__.py), a fake
(tests/fakes/fake_core_banking.py) serves login and WeChat bindings.
CSBOT_TEST_MODEL=<path> runs the channel tests against another model (development only);
CSBOT_TEST_SKIP_ACTIONS=1 leaves out the action server.
"""
from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest
import redis

from bot.settings import PROJECT_ROOT
from tests.fakes.fake_core_banking import FakeCoreBanking
from tests.fakes.fake_wechat import FakeWeChat
from tests.fakes.wechat_sender import WeChatSender
from tests.support.stack import RunningStack, build_stack

WECHAT_TOKEN = "csbotTestToken" + secrets.token_hex(4)
WECHAT_APP_ID = "wxtestapp0001"
WECHAT_APP_SECRET = secrets.token_hex(16)
WECHAT_AES_KEY = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
SLOW_OPENID = "oSLOWuser0000000000000000001"
REPLY_DEADLINE = 4.0
SLOW_SECONDS = 6.0


def real_core_banking() -> bool:
    return (PROJECT_ROOT / "services" / "core_banking" / "__main__.py").exists()


@dataclass
class ChannelStack:
    stack: RunningStack
    fake_wechat: FakeWeChat
    fake_core: Optional[FakeCoreBanking]
    mode: str

    @property
    def rasa_url(self) -> str:
        return self.stack.rasa_url

    @property
    def wechat_url(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/wechat/webhook"

    @property
    def signing_key(self) -> str:
        """Core banking's private key: tests mint customer tokens as core banking would."""
        return self.stack.env["CORE_BANKING_JWT_PRIVATE_KEY"]

    @property
    def public_key(self) -> str:
        return self.stack.env["CORE_BANKING_JWT_PUBLIC_KEY"]

    @property
    def core_banking_url(self) -> str:
        return self.stack.env["CORE_BANKING_URL"]

    def sender(self) -> WeChatSender:
        return WeChatSender(self.wechat_url, WECHAT_TOKEN, mode=self.mode, aes_key=WECHAT_AES_KEY,
                            app_id=WECHAT_APP_ID)

    def redis(self) -> redis.Redis:
        env = self.stack.env
        return redis.Redis(host=env["REDIS_HOST"], port=int(env["REDIS_PORT"]), db=int(env["REDIS_DB"]),
                           decode_responses=True)

    def tracker(self, sender_id: str) -> dict:
        return self.stack.tracker(sender_id)


def _processes() -> list:
    names = [n for n in ("core_banking", "agent_desk") if (PROJECT_ROOT / "services" / n / "__main__.py").exists()]
    # A development model (CSBOT_TEST_MODEL) needs no custom actions; CSBOT_TEST_SKIP_ACTIONS=1
    # runs without the action server (when actions/ is broken mid-development).
    skip = os.environ.get("CSBOT_TEST_MODEL") or os.environ.get("CSBOT_TEST_SKIP_ACTIONS") == "1"
    if not skip and any((PROJECT_ROOT / "actions").glob("*.py")):
        names.append("actions")
    return names + ["rasa"]


@pytest.fixture(scope="session")
def channel_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    from bot import model_cache

    model = Path(os.environ.get("CSBOT_TEST_MODEL") or model_cache.model_path())
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `python -m bot train` first")
    fake_wechat = FakeWeChat(app_id=WECHAT_APP_ID, app_secret=WECHAT_APP_SECRET).start()
    mode = os.environ.get("CSBOT_TEST_WECHAT_MODE", "safe")
    extra: Dict[str, str] = {
        "RASA_MODEL": str(model),
        "WECHAT_MODE": mode,
        "WECHAT_TOKEN": WECHAT_TOKEN,
        "WECHAT_APP_ID": WECHAT_APP_ID,
        "WECHAT_APP_SECRET": WECHAT_APP_SECRET,
        "WECHAT_ENCODING_AES_KEY": WECHAT_AES_KEY,
        "WECHAT_API_BASE": fake_wechat.url,
        "WECHAT_REPLY_DEADLINE_SECONDS": str(REPLY_DEADLINE),
        "WECHAT_TEST_SLOW_OPENIDS": SLOW_OPENID,
        "WECHAT_TEST_SLOW_SECONDS": str(SLOW_SECONDS),
    }
    run_dir = tmp_path_factory.mktemp("channels-run")
    stack = build_stack(run_dir, extra_env=extra)
    fake_core = None
    if not real_core_banking():
        fake_core = FakeCoreBanking(stack.env["CORE_BANKING_JWT_PRIVATE_KEY"], stack.env["CORE_BANKING_SERVICE_TOKEN"],
                                    bindings={}).start()
        stack.env["CORE_BANKING_URL"] = fake_core.url
    stack.log_dir = PROJECT_ROOT / "test-artifacts" / "logs" / "channels"
    try:
        stack.start(_processes())
        yield ChannelStack(stack, fake_wechat, fake_core, mode)
    finally:
        stack.stop_all()
        fake_wechat.stop()
        if fake_core:
            fake_core.stop()
        try:
            client = ChannelStack(stack, fake_wechat, fake_core, mode).redis()
            keys = list(client.scan_iter(f"{stack.key_prefix}:*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i:i + 500])
        except redis.RedisError:
            pass
