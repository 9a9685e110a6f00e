"""WeChat channel (`wechat`): Official Account (plain and safe/AES mode) and WeCom callbacks.

Webhook: GET/POST /webhooks/wechat/webhook (health: GET /webhooks/wechat/).

Enable it in credentials.yml (non-secret options only; all have defaults):

    connectors.wechat.WeChatInput:
      reply_deadline_seconds: 4.0   # answer passively if the bot is done by then, else `success`
                                    # at once and the answer later via the customer-service API
      max_concurrent_turns: 4       # WeChat turns the bot runs at once; the rest wait their turn
                                    # (keeps the event loop free to answer `success` in time)
      dedup_ttl_seconds: 3600       # how long a MsgId is remembered (WeChat retries within ~15 s)
      max_clock_skew_seconds: 300   # callbacks with an older/newer timestamp are refused (403)
      options_ttl_seconds: 86400    # how long "reply 1/2/3" options are remembered per user
      welcome_message: "..."        # reply to the subscribe event (default: wording.yml wechat_welcome)
      unsupported_message: "..."    # reply to image/location/... (default: wechat_unsupported)
      voice_unrecognized_message: "..."  # voice without recognition text (default: wechat_voice_unrecognized)
      subscribe_payload: null       # e.g. "/greet": send this to the bot on subscribe instead

What a WeChat user reads that the bot does not write (the welcome, the "text and voice only"
note, the numbered options and their hint, the busy apology) is data/knowledge/wording.yml's
`wechat_...` fragments, read with actions/knowledge.py `fragment()` and checked by `make check`.

Secrets and deployment values come from the environment (read in from_credentials(), so an
unset variable never breaks Rasa's credentials.yml substitution):

  WECHAT_MODE              plain | safe | wecom   (default: plain)
  WECHAT_TOKEN             callback Token (all modes). Unset -> channel disabled (503).
  WECHAT_APP_ID            Official Account AppID (plain/safe)
  WECHAT_APP_SECRET        Official Account AppSecret (customer-service API)
  WECHAT_ENCODING_AES_KEY  43-char EncodingAESKey (safe and wecom modes)
  WECOM_CORP_ID            WeCom corp id (wecom mode)
  WECOM_CORP_SECRET        WeCom application secret (wecom mode)
  WECOM_AGENT_ID           WeCom application AgentId (wecom mode)
  WECHAT_API_BASE          API base URL (default https://api.weixin.qq.com; wecom:
                           https://qyapi.weixin.qq.com); tests point it at a fake server
  WECHAT_REPLY_DEADLINE_SECONDS  overrides reply_deadline_seconds
  WECHAT_MAX_CONCURRENT_TURNS    overrides max_concurrent_turns
  WECHAT_TEST_SLOW_OPENIDS, WECHAT_TEST_SLOW_SECONDS
                           test-only: delay the bot for these comma-separated openids
                           (exercises the `success` + async path). Leave unset in production.
  plus CORE_BANKING_URL / CORE_BANKING_SERVICE_TOKEN (bot/settings.py) for openid bindings and
  REDIS_URL / REDIS_KEY_PREFIX for de-duplication, token cache and numbered options.

What happens to a callback:
  1. Signature (sha1 over token/timestamp/nonce[/Encrypt], compared with hmac.compare_digest)
     and timestamp freshness -> 403 if wrong; nothing reaches the bot.
  2. XML parsed without DTDs/entities (connectors/safe_xml.py); AES payloads decrypted with
     wechatpy -> 400 if malformed.
  3. De-duplication by MsgId (events: FromUserName+CreateTime), Redis SET NX
     `<prefix>:wechat:dedup:<id>`: retries get `success`, the bot sees the message once.
  4. text -> bot (a bare number "1".."9" picks the last numbered option, mapped back to the
     button payload); voice -> the Recognition text; subscribe -> welcome; image/location/
     video/... -> a polite text; other events -> `success`.
  5. The openid's binding is looked up in core banking; a bound customer's short-lived token
     goes into metadata `customer_token` (metadata: channel "wechat", openid).
  6. All bot messages of one turn become one WeChat text (buttons degrade to numbered lines,
     wording.yml `wechat_option`, followed by `wechat_options_hint`).

Sender id: `wechat-<openid>` (WeCom: `wechat-<userid>`).

Pushing outside a request (handoff agent replies): `await connectors.wechat.send_to_openid(
openid, {"text": ..., "buttons": [...]})`, or Rasa's HTTP API with `?output_channel=wechat`
(`WeChatInput.get_output_channel()`), both through the customer-service message API.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

import json

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import PrpCrypto as MpPrpCrypto
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from actions.knowledge import fragment
from connectors import dedup
from connectors.common import env_float, redis_client, redis_key
from connectors.core_banking_client import binding_for_openid
from connectors.safe_xml import MAX_XML_BYTES, UnsafeXML, parse_xml, text_field
from connectors.handoff import with_handoff_routing
from connectors.wechat_text import render_messages  # noqa: F401  (tests import it from here too)
from connectors.wechat_api import (DEFAULT_API_BASE, DEFAULT_WECOM_API_BASE, MAX_TEXT_BYTES, WeChatAPI,
                                   WeChatAPIError)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "wechat"
SENDER_PREFIX = "wechat-"
MODES = ("plain", "safe", "wecom")
SUCCESS = "success"
OPENID_RE = re.compile(r"^[A-Za-z0-9_\-@.]{1,128}$")
OPTION_RE = re.compile(r"^\s*(\d{1,2})\s*[.。、)]?\s*$")

_active_channel: Optional["WeChatInput"] = None
_background: Set[asyncio.Task] = set()


@dataclass
class WeChatConfig:
    mode: str = "plain"
    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    corp_id: str = ""
    corp_secret: str = ""
    agent_id: str = ""
    api_base: str = DEFAULT_API_BASE
    reply_deadline_seconds: float = 4.0
    max_concurrent_turns: int = 4
    dedup_ttl_seconds: int = 3600
    max_clock_skew_seconds: int = 300
    options_ttl_seconds: int = 86400
    max_body_bytes: int = MAX_XML_BYTES
    welcome_message: str = field(default_factory=lambda: fragment("wechat_welcome"))
    subscribe_payload: Optional[str] = None
    unsupported_message: str = field(default_factory=lambda: fragment("wechat_unsupported"))
    voice_unrecognized_message: str = field(default_factory=lambda: fragment("wechat_voice_unrecognized"))
    test_slow_openids: Set[str] = field(default_factory=set)
    test_slow_seconds: float = 0.0

    @classmethod
    def from_env(cls, options: Optional[Dict[str, Any]] = None) -> "WeChatConfig":
        options = options or {}
        env = os.environ
        mode = (env.get("WECHAT_MODE") or options.get("mode") or "plain").strip().lower()
        if mode not in MODES:
            raise ValueError(f"WECHAT_MODE must be one of {MODES}, got {mode!r}")
        default_base = DEFAULT_WECOM_API_BASE if mode == "wecom" else DEFAULT_API_BASE
        config = cls(
            mode=mode,
            token=env.get("WECHAT_TOKEN", ""),
            app_id=env.get("WECHAT_APP_ID", ""),
            app_secret=env.get("WECHAT_APP_SECRET", ""),
            encoding_aes_key=env.get("WECHAT_ENCODING_AES_KEY", ""),
            corp_id=env.get("WECOM_CORP_ID", ""),
            corp_secret=env.get("WECOM_CORP_SECRET", ""),
            agent_id=env.get("WECOM_AGENT_ID", ""),
            api_base=env.get("WECHAT_API_BASE") or options.get("api_base") or default_base,
            reply_deadline_seconds=env_float("WECHAT_REPLY_DEADLINE_SECONDS",
                                             float(options.get("reply_deadline_seconds", 4.0))),
            max_concurrent_turns=max(1, int(env.get("WECHAT_MAX_CONCURRENT_TURNS")
                                            or options.get("max_concurrent_turns", 4))),
            dedup_ttl_seconds=int(options.get("dedup_ttl_seconds", 3600)),
            max_clock_skew_seconds=int(options.get("max_clock_skew_seconds", 300)),
            options_ttl_seconds=int(options.get("options_ttl_seconds", 86400)),
            welcome_message=options.get("welcome_message") or fragment("wechat_welcome"),
            subscribe_payload=options.get("subscribe_payload") or None,
            unsupported_message=options.get("unsupported_message") or fragment("wechat_unsupported"),
            voice_unrecognized_message=options.get("voice_unrecognized_message") or fragment("wechat_voice_unrecognized"),
            test_slow_openids={s.strip() for s in env.get("WECHAT_TEST_SLOW_OPENIDS", "").split(",") if s.strip()},
            test_slow_seconds=env_float("WECHAT_TEST_SLOW_SECONDS", 0.0),
        )
        return config

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def receive_id(self) -> str:
        return self.corp_id if self.mode == "wecom" else self.app_id

    def problems(self) -> List[str]:
        missing = []
        if not self.token:
            missing.append("WECHAT_TOKEN")
        if self.mode in ("safe", "wecom") and len(self.encoding_aes_key) != 43:
            missing.append("WECHAT_ENCODING_AES_KEY (43 characters)")
        if self.mode == "wecom":
            missing += [n for n, v in (("WECOM_CORP_ID", self.corp_id), ("WECOM_CORP_SECRET", self.corp_secret),
                                       ("WECOM_AGENT_ID", self.agent_id)) if not v]
        else:
            missing += [n for n, v in (("WECHAT_APP_ID", self.app_id), ("WECHAT_APP_SECRET", self.app_secret))
                        if not v]
        return missing

    def api(self) -> WeChatAPI:
        if self.mode == "wecom":
            return WeChatAPI(self.api_base, self.corp_id, self.corp_secret, kind="wecom", agent_id=self.agent_id)
        return WeChatAPI(self.api_base, self.app_id, self.app_secret)


# --- signatures and crypto -----------------------------------------------------------------
def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signature_ok(expected_parts: List[str], given: Optional[str]) -> bool:
    return bool(given) and hmac.compare_digest(signature(*expected_parts).encode(), given.encode())


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def options_key(openid: str) -> str:
    return redis_key("wechat", "options", openid)


async def remember_options(openid: str, payloads: List[str], ttl: int) -> None:
    try:
        if payloads:
            await redis_client().set(options_key(openid), json.dumps(payloads, ensure_ascii=False), ex=ttl)
        else:
            await redis_client().delete(options_key(openid))
    except Exception:  # options are a convenience; never fail the reply for them
        logger.exception("wechat: could not store numbered options")


async def resolve_option(openid: str, text: str) -> str:
    """Maps a bare number to the payload of the last numbered option shown to this user."""
    match = OPTION_RE.match(unicodedata.normalize("NFKC", text))
    if not match:
        return text
    try:
        stored = await redis_client().get(options_key(openid))
    except Exception:
        logger.exception("wechat: could not read numbered options")
        return text
    payloads = json.loads(stored) if stored else []
    index = int(match.group(1))
    if 1 <= index <= len(payloads) and payloads[index - 1]:
        return payloads[index - 1]
    return text


class _Collector(OutputChannel):
    def __init__(self) -> None:
        self.messages: List[Dict[str, Any]] = []

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.messages.append(dict(message))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        self.messages.append({"text": text})


class WeChatPushOutput(OutputChannel):
    """Sends each bot message at once through the customer-service API (outside requests)."""

    def __init__(self, channel: "WeChatInput") -> None:
        self.channel = channel

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self.channel.deliver(openid_of(recipient_id), [dict(message)])

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.channel.deliver(openid_of(recipient_id), [{"text": text}])


def openid_of(sender_id: str) -> str:
    return sender_id[len(SENDER_PREFIX):] if sender_id.startswith(SENDER_PREFIX) else sender_id


async def send_to_openid(openid: str, message: Dict[str, Any]) -> None:
    """Sends a bot-shaped message ({"text", "buttons"}) to a WeChat user via the API."""
    channel = _active_channel or WeChatInput(WeChatConfig.from_env())
    await channel.deliver(openid, [message])


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(WeChatConfig.from_env(credentials or {}))

    def __init__(self, config: WeChatConfig) -> None:
        self.config = config
        self.api = config.api()
        # Rasa runs NLU and policies on the event loop, so every running turn holds it for tens
        # of milliseconds and the reply deadline fires late when many run at once (60 at once:
        # p95 6.4 s, max 10.6 s to answer WeChat). Turns beyond this limit wait here without
        # holding the loop, so the deadline fires on time and they are answered through the
        # customer-service API instead (same burst: p95 4.7 s). Measurements: docs/performance.md.
        self._turn_slots = asyncio.Semaphore(config.max_concurrent_turns)
        if not config.enabled:
            logger.warning("wechat channel: WECHAT_TOKEN is not set; the webhook answers 503")
        elif config.problems():
            logger.warning("wechat channel (%s mode): missing %s", config.mode, ", ".join(config.problems()))

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WeChatPushOutput(self)

    # --- delivery --------------------------------------------------------------------------
    async def deliver(self, openid: str, messages: List[Dict[str, Any]]) -> bool:
        text, payloads = render_messages(messages)
        await remember_options(openid, payloads, self.config.options_ttl_seconds)
        if not text:
            return True
        try:
            await self.api.send_text(openid, text)
            return True
        except WeChatAPIError as exc:
            logger.error("wechat: could not send a message to %s: %s", openid, exc)
            return False

    # --- request checks --------------------------------------------------------------------
    def _check_timestamp(self, timestamp: str) -> None:
        try:
            skew = abs(time.time() - int(timestamp))
        except (TypeError, ValueError):
            raise Rejected(403, "bad timestamp")
        if skew > self.config.max_clock_skew_seconds:
            raise Rejected(403, "stale timestamp")

    def _verify_url(self, args: Dict[str, str]) -> str:
        """GET URL verification; returns the echostr to answer with."""
        timestamp, nonce, echostr = args.get("timestamp", ""), args.get("nonce", ""), args.get("echostr", "")
        if self.config.mode == "wecom":
            if not signature_ok([self.config.token, timestamp, nonce, echostr], args.get("msg_signature")):
                raise Rejected(403, "bad signature")
            try:
                return _text(WeComPrpCrypto(self._aes_key()).decrypt(echostr, self.config.corp_id))
            except Exception as exc:
                raise Rejected(400, f"cannot decrypt echostr: {exc!r}")
        if not signature_ok([self.config.token, timestamp, nonce], args.get("signature")):
            raise Rejected(403, "bad signature")
        return echostr

    def _aes_key(self) -> bytes:
        import base64

        return base64.b64decode(self.config.encoding_aes_key + "=")

    def _decode(self, args: Dict[str, str], body: bytes) -> Dict[str, Any]:
        """Checks signatures and returns the (decrypted) message as a dict."""
        cfg = self.config
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if cfg.mode != "wecom" and not signature_ok([cfg.token, timestamp, nonce], args.get("signature")):
            raise Rejected(403, "bad signature")
        if len(body) > cfg.max_body_bytes:
            raise Rejected(413, "body too large")
        encrypted = cfg.mode in ("safe", "wecom")
        if cfg.mode == "safe" and args.get("encrypt_type", "").lower() != "aes":
            raise Rejected(400, "safe mode accepts only encrypted messages (encrypt_type=aes)")
        try:
            outer = parse_xml(body, cfg.max_body_bytes)
        except UnsafeXML as exc:
            raise Rejected(400, str(exc))
        if encrypted:
            encrypt = text_field(outer, "Encrypt")
            if not encrypt:
                raise Rejected(400, "missing Encrypt")
            if not signature_ok([cfg.token, timestamp, nonce, encrypt], args.get("msg_signature")):
                raise Rejected(403, "bad msg_signature")
        self._check_timestamp(timestamp)
        if not encrypted:
            return outer
        crypto = WeComPrpCrypto if cfg.mode == "wecom" else MpPrpCrypto
        try:
            plain = crypto(self._aes_key()).decrypt(encrypt, cfg.receive_id)
        except Exception as exc:
            raise Rejected(400, f"cannot decrypt: {exc!r}")
        try:
            return parse_xml(plain if isinstance(plain, bytes) else plain.encode("utf-8"), cfg.max_body_bytes)
        except UnsafeXML as exc:
            raise Rejected(400, str(exc))

    def _reply(self, raw: Dict[str, Any], text: str, args: Dict[str, str]) -> HTTPResponse:
        """A passive reply (encrypted in safe/wecom mode), or `success` when there is nothing to say."""
        if not text:
            return response.text(SUCCESS)
        reply = TextReply(source=text_field(raw, "ToUserName"), target=text_field(raw, "FromUserName"),
                          content=text).render()
        cfg = self.config
        if cfg.mode in ("safe", "wecom"):
            crypto_cls = WeComCrypto if cfg.mode == "wecom" else MpCrypto
            crypto = crypto_cls(cfg.token, cfg.encoding_aes_key, cfg.receive_id)
            reply = crypto.encrypt_message(reply, args.get("nonce") or str(int(time.time())))
        return response.text(reply, content_type="application/xml; charset=utf-8")

    # --- the blueprint ---------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        global _active_channel
        on_new_message = with_handoff_routing(on_new_message)  # a person's conversations reach the desk
        _active_channel = self
        bp = Blueprint("wechat_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config.enabled else "disabled", "mode": self.config.mode})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.config.enabled:
                return response.text("wechat channel is not configured", status=503)
            try:
                return response.text(self._verify_url(_args(request)))
            except Rejected as exc:
                logger.warning("wechat: URL verification refused: %s", exc)
                return response.text("forbidden" if exc.status == 403 else "bad request", status=exc.status)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            started = time.monotonic()
            if not self.config.enabled:
                return response.text("wechat channel is not configured", status=503)
            args = _args(request)
            try:
                raw = self._decode(args, request.body or b"")
            except Rejected as exc:
                logger.warning("wechat: callback refused (%s): %s", exc.status, exc)
                return response.text({400: "bad request", 403: "forbidden", 413: "too large"}.get(exc.status, "error"),
                                     status=exc.status)
            return await self._handle(raw, args, started, on_new_message)

        return bp

    async def _handle(self, raw: Dict[str, Any], args: Dict[str, str], started: float,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        cfg = self.config
        openid = text_field(raw, "FromUserName")
        msg_type = text_field(raw, "MsgType").lower()
        if not OPENID_RE.match(openid) or not msg_type:
            return response.text("bad request", status=400)
        event = text_field(raw, "Event").lower()
        message_id = text_field(raw, "MsgId") or f"{openid}:{text_field(raw, 'CreateTime')}:{event}"

        try:
            first = await dedup.claim(message_id, cfg.dedup_ttl_seconds)
        except Exception:  # Redis down: better a rare duplicate than a lost customer message
            logger.exception("wechat: de-duplication unavailable; processing anyway")
            first = True
        if not first:
            try:
                await dedup.mark_retry(message_id)
            except Exception:
                logger.exception("wechat: could not mark retry")
            return response.text(SUCCESS)

        # Decide what goes to the bot (or what the connector answers itself).
        text: Optional[str] = None
        if msg_type == "text":
            text = text_field(raw, "Content").strip()
            if text:
                text = await resolve_option(openid, text)
        elif msg_type == "voice":
            text = text_field(raw, "Recognition").strip()
            if not text:
                return await self._direct(message_id, raw, args, cfg.voice_unrecognized_message)
        elif msg_type == "event":
            if event == "subscribe":
                if not cfg.subscribe_payload:
                    return await self._direct(message_id, raw, args, cfg.welcome_message)
                text = cfg.subscribe_payload
            else:
                return await self._direct(message_id, raw, args, "")
        else:
            return await self._direct(message_id, raw, args, cfg.unsupported_message)
        if not text:
            return await self._direct(message_id, raw, args, "")

        task = asyncio.ensure_future(self._run_bot(openid, text, message_id, on_new_message))
        _background.add(task)
        task.add_done_callback(_background.discard)
        remaining = cfg.reply_deadline_seconds - (time.monotonic() - started)
        done, _ = await asyncio.wait({task}, timeout=max(0.0, remaining))
        if done:
            reply = task.result()
            previous = await _finish(message_id)
            too_long = len(reply.encode("utf-8")) > MAX_TEXT_BYTES
            if previous == dedup.RETRIED or too_long:  # WeChat gave up on this connection, or the
                # answer does not fit one passive reply: use the API (which splits long texts)
                await self.deliver_text(openid, reply)
                return response.text(SUCCESS)
            return self._reply(raw, reply, args)

        async def answer_later() -> None:
            reply = await task
            await _finish(message_id)
            await self.deliver_text(openid, reply)

        later = asyncio.ensure_future(answer_later())
        _background.add(later)
        later.add_done_callback(_background.discard)
        logger.info("wechat: bot slower than %.1f s for %s; answering via the API", cfg.reply_deadline_seconds,
                    message_id)
        return response.text(SUCCESS)

    async def _direct(self, message_id: str, raw: Dict[str, Any], args: Dict[str, str], text: str) -> HTTPResponse:
        await _finish(message_id)
        return self._reply(raw, text, args)

    async def deliver_text(self, openid: str, text: str) -> None:
        if not text:
            return
        try:
            await self.api.send_text(openid, text)
        except WeChatAPIError as exc:
            logger.error("wechat: could not send the answer to %s: %s", openid, exc)

    async def _run_bot(self, openid: str, text: str, message_id: str,
                       on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> str:
        """Runs one bot turn; returns the rendered reply text (options already remembered)."""
        try:
            binding = await binding_for_openid(openid)
            metadata: Dict[str, Any] = {"channel": CHANNEL_NAME, "openid": openid}
            if binding.bound:
                metadata["customer_token"] = binding.customer_token
                if binding.customer_id:
                    metadata["customer_id"] = binding.customer_id
            if self.config.test_slow_seconds > 0 and openid in self.config.test_slow_openids:
                await asyncio.sleep(self.config.test_slow_seconds)
            collector = _Collector()
            async with self._turn_slots:
                await on_new_message(UserMessage(text, collector, f"{SENDER_PREFIX}{openid}",
                                                 input_channel=CHANNEL_NAME, message_id=message_id,
                                                 metadata=metadata))
            reply, payloads = render_messages(collector.messages)
            await remember_options(openid, payloads, self.config.options_ttl_seconds)
            return reply
        except Exception:  # customers never see raw errors
            logger.exception("wechat: processing %s failed", message_id)
            return fragment("wechat_busy")


async def _finish(message_id: str) -> str:
    try:
        return await dedup.finish(message_id)
    except Exception:
        logger.exception("wechat: could not mark %s answered", message_id)
        return ""


def _args(request: Request) -> Dict[str, str]:
    return {key: values[0] for key, values in request.args.items() if values}


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
