"""Mobile-app channel (`app`): REST + socket.io, authenticated with the customer's JWT.

Enable it in credentials.yml:

    connectors.app.AppInput:
      max_message_chars: 2000        # longer messages -> 413, nothing reaches the bot
      outbox_ttl_seconds: 86400      # how long pushed messages wait for a REST client
      login_max_failures: 10         # failed /login attempts per client address ...
      login_window_seconds: 300      # ... within this window, then 429 until it ends

Secrets and URLs come from the environment through bot/settings.py:
CORE_BANKING_JWT_PUBLIC_KEY (verifies customer tokens, bot/identity.py), CORE_BANKING_URL (the demo page's
login is proxied there), REDIS_URL / REDIS_KEY_PREFIX (outbox of pushed messages).

Identity: every request carries the core-banking customer token (EdDSA, `typ: customer`,
`iss: core-banking`). The sender id is `app-<customer id>` (never taken from the body) and
the metadata is `{"customer_token", "channel": "app", "customer_id"}`.

HTTP (all under /webhooks/app/):
  GET  /                  health: {"status": "ok"}
  POST /webhook           {"message": "..."} + `Authorization: Bearer <token>` -> list of bot
                          messages in Rasa's shapes: {"recipient_id", "text", "buttons":
                          [{"title", "payload"}], "quick_replies": [...], "image", "custom"}.
                          401 bad/missing/expired token; 400 empty message or bad JSON;
                          413 message longer than max_message_chars.
                          Errors are {"error": <code>, "message": <sentence>}: clients read the
                          code; the sentence is an `app_...` fragment of data/knowledge/wording.yml.
  GET  /messages          bearer auth; returns {"messages": [...]} pushed to this customer
                          since the last call (and clears them).
  POST /login             demo page only: proxies {username, password} to core banking's
                          POST /auth/login and returns its {access_token, ...}; 401 wrong
                          credentials, 429 too many failures from this address
                          (connectors/login_throttle.py).
  GET  /chat              the demo chat page (connectors/static/chat.html).
socket.io (path /webhooks/app/socket.io/, the protocol Rasa Webchat speaks):
  connect with `auth={"token": <jwt>}` (or `?token=<jwt>`); a bad token refuses the
  connection. `session_request` -> `session_confirm` (the session id is the sender id);
  `user_uttered` {"message"} -> `bot_uttered` {"text", "buttons", "quick_replies", ...};
  invalid messages get an `error` event {"error", "message"}.

Pushing outside a request (e.g. an agent's reply during human handoff):
  `await connectors.app.push_to_customer("app-C1001", {"text": "..."})` emits `bot_uttered`
  to the customer's connected sockets when there is one, otherwise appends to the Redis list
  `<prefix>:app:outbox:<sender>` (TTL outbox_ttl_seconds) that `GET /webhooks/app/messages`
  drains. Rasa's HTTP API with `?output_channel=app` (or `latest`) goes through
  `AppInput.get_output_channel()`, which does the same.

Several workers, several Rasa processes (docs/performance.md, deploy/README.md): the socket.io
server is shared through Redis (the tracker store's Redis, REDIS_URL) with python-socketio's
AsyncRedisManager on the pub/sub channel `<prefix>:socketio`, so an emit to a customer's room
from any Sanic worker of any Rasa process (or from another process with this module) reaches
the worker that holds the socket. Which customers have a live socket anywhere is kept in
Redis too: the sorted set `<prefix>:app:live:<sender>` holds the socket ids, each with an
expiry its worker renews every LIVE_SOCKET_REFRESH_SECONDS (removed on disconnect; a crashed
worker's entries lapse after LIVE_SOCKET_TTL_SECONDS). Engine.IO's long-polling transport
keeps a session in one worker's memory, which a second worker of the same process cannot
serve (they share one listening socket), so with SANIC_WORKERS > 1 the server accepts the
websocket transport only (clients connect with `transports: ["websocket"]`; a polling
request is refused with 400 instead of a session that breaks at random); with one worker
both transports are accepted and polling clients need a sticky load balancer (deploy/nginx).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from actions.knowledge import fragment
from bot.settings import allowed_origins, get_settings, sanic_workers
from bot.identity import Customer, InvalidCustomerToken, verify_customer_token
from connectors.common import bearer_token, http_session, redis_client, redis_key, redis_url
from connectors.handoff import with_handoff_routing
from connectors.login_throttle import DEFAULT_MAX_FAILURES, DEFAULT_WINDOW_SECONDS, LoginThrottle

logger = logging.getLogger(__name__)

CHANNEL_NAME = "app"
SENDER_PREFIX = "app-"
DEFAULT_MAX_MESSAGE_CHARS = 2000
DEFAULT_OUTBOX_TTL_SECONDS = 24 * 3600
SOCKETIO_PATH = "/webhooks/app/socket.io"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Keys of a Rasa bot message that the app understands; anything else is dropped.
MESSAGE_KEYS = ("text", "buttons", "quick_replies", "image", "attachment", "custom", "elements")

# A socket's entry in `<prefix>:app:live:<sender>` lasts this long unless its worker renews it.
LIVE_SOCKET_TTL_SECONDS = 45
LIVE_SOCKET_REFRESH_SECONDS = 15

_active_channel: Optional["AppInput"] = None


def sender_for_customer(customer_id: str) -> str:
    return f"{SENDER_PREFIX}{customer_id}"


def outbox_key(sender_id: str) -> str:
    return redis_key("app", "outbox", sender_id)


def live_key(sender_id: str) -> str:
    return redis_key("app", "live", sender_id)


def socketio_channel() -> str:
    """The Redis pub/sub channel the socket.io servers share (one per key prefix)."""
    return redis_key("socketio")


class SharedSocketManager(AsyncRedisManager):
    """python-socketio's Redis manager, safe to create before Sanic forks its workers.

    The manager tells its own messages from other servers' by `host_id`, drawn when it is
    created; Rasa creates the channel (and this manager) in the parent process, so every
    forked worker would carry the same id and ignore the others' emits. Here the id (and the
    Redis connection) belong to the process that uses them: a new id after a fork."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._owner_pid = os.getpid()
        super().__init__(*args, **kwargs)

    def _check_process(self) -> None:
        if self._owner_pid != os.getpid():
            self._owner_pid = os.getpid()
            self._own_host_id = uuid.uuid4().hex
            self.connected, self.redis, self.pubsub = False, None, None

    @property
    def host_id(self) -> str:  # type: ignore[override]
        self._check_process()
        return self._own_host_id

    @host_id.setter
    def host_id(self, value: str) -> None:
        self._own_host_id = value


def _shared_manager(write_only: bool = False) -> SharedSocketManager:
    # No socket_timeout: the subscriber waits on pub/sub for as long as nothing is published.
    return SharedSocketManager(redis_url(), channel=socketio_channel(), write_only=write_only,
                               redis_options={"socket_connect_timeout": 3})


_write_only_managers: Dict[int, SharedSocketManager] = {}


def _publisher() -> SharedSocketManager:
    """For processes without the app channel: emits through Redis only (one per event loop)."""
    loop_id = id(asyncio.get_running_loop())
    manager = _write_only_managers.get(loop_id)
    if manager is None:
        manager = _write_only_managers[loop_id] = _shared_manager(write_only=True)
    return manager


async def has_live_socket(sender_id: str) -> bool:
    """Whether the customer has a connected socket in any worker of any Rasa process."""
    return bool(await redis_client().zcount(live_key(sender_id), time.time(), "+inf"))


def app_message(message: Dict[str, Any]) -> Dict[str, Any]:
    """A bot message reduced to the shapes the app renders (Rasa's keys, no internals)."""
    out = {key: message[key] for key in MESSAGE_KEYS if message.get(key) not in (None, [], "")}
    if "buttons" in out:
        out["buttons"] = [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in out["buttons"]]
    return out


def socket_message(message: Dict[str, Any]) -> Dict[str, Any]:
    """Rasa Webchat renders buttons from `quick_replies`; the app reads `buttons`. Send both."""
    out = app_message(message)
    if out.get("buttons") and not out.get("quick_replies"):
        out["quick_replies"] = [{"content_type": "text", **b} for b in out["buttons"]]
    return out


async def push_to_customer(sender_id: str, message: Dict[str, Any]) -> str:
    """Delivers a bot message to an app customer outside a request.

    `sender_id` is the conversation id (`app-<customer id>`). Returns "socket" if it was
    emitted to a connected socket, "outbox" if it was queued for `GET /webhooks/app/messages`.
    """
    channel = _active_channel
    if await has_live_socket(sender_id):
        # Through Redis: the worker (of whichever Rasa process) that holds the socket emits it.
        if channel is not None and channel.sio is not None:
            await channel.sio.emit(channel.bot_message_evt, socket_message(message), room=sender_id)
        else:
            await _publisher().emit("bot_uttered", socket_message(message), room=sender_id, namespace="/")
        return "socket"
    ttl = channel.outbox_ttl_seconds if channel is not None else DEFAULT_OUTBOX_TTL_SECONDS
    key = outbox_key(sender_id)
    async with redis_client().pipeline(transaction=True) as pipe:
        pipe.rpush(key, json.dumps(app_message(message), ensure_ascii=False))
        pipe.expire(key, ttl)
        await pipe.execute()
    return "outbox"


async def pop_outbox(sender_id: str) -> List[Dict[str, Any]]:
    """Returns and clears the messages waiting for this conversation (atomically)."""
    key = outbox_key(sender_id)
    async with redis_client().pipeline(transaction=True) as pipe:
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        items, _ = await pipe.execute()
    return [json.loads(item) for item in items]


class AppPushOutput(OutputChannel):
    """Output channel for messages sent outside a customer request (handoff, reminders)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await push_to_customer(recipient_id, message)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await push_to_customer(recipient_id, {"text": text})


class AppCollectingOutput(CollectingOutputChannel):
    """Collects replies for the REST response, keeping Rasa's shapes (quick replies too)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        shaped = app_message(message)
        if shaped:
            self.messages.append({"recipient_id": recipient_id, **shaped})


class AppSocketOutput(OutputChannel):
    """Replies to one socket.io connection during a request."""

    def __init__(self, sio: AsyncServer, sid: str, bot_message_evt: str) -> None:
        self.sio, self.sid, self.bot_message_evt = sio, sid, bot_message_evt

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        shaped = socket_message(message)
        if shaped:
            await self.sio.emit(self.bot_message_evt, shaped, room=self.sid, ignore_queue=True)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        # The socket is this worker's (the message came in on it): not through Redis.
        await self.sio.emit(self.bot_message_evt, {"text": text}, room=self.sid, ignore_queue=True)


class MessageRejected(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def body(self) -> Dict[str, str]:
        return {"error": self.error, "message": self.message}


class AppInput(InputChannel):
    """The bank's mobile app (and the demo chat page)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            max_message_chars=int(credentials.get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS)),
            outbox_ttl_seconds=int(credentials.get("outbox_ttl_seconds", DEFAULT_OUTBOX_TTL_SECONDS)),
            login_throttle=LoginThrottle(
                max_failures=int(credentials.get("login_max_failures", DEFAULT_MAX_FAILURES)),
                window_seconds=int(credentials.get("login_window_seconds", DEFAULT_WINDOW_SECONDS))),
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
        )

    def __init__(self, max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
                 outbox_ttl_seconds: int = DEFAULT_OUTBOX_TTL_SECONDS,
                 login_throttle: Optional[LoginThrottle] = None,
                 user_message_evt: str = "user_uttered", bot_message_evt: str = "bot_uttered") -> None:
        self.max_message_chars = max_message_chars
        self.outbox_ttl_seconds = outbox_ttl_seconds
        self.login_throttle = login_throttle or LoginThrottle()
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.sio: Optional[AsyncServer] = None
        # This worker's sockets: socket id -> sender id (their entries in the live set).
        self.local_sockets: Dict[str, str] = {}

    def get_output_channel(self) -> Optional[OutputChannel]:
        return AppPushOutput()

    @staticmethod
    def socket_transports() -> List[str]:
        """Long polling needs every request of a session in one worker: one worker only."""
        return ["polling", "websocket"] if sanic_workers() <= 1 else ["websocket"]

    async def socket_opened(self, sid: str, sender_id: str) -> None:
        self.local_sockets[sid] = sender_id
        now = time.time()
        key = live_key(sender_id)
        async with redis_client().pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {sid: now + LIVE_SOCKET_TTL_SECONDS})
            pipe.expire(key, LIVE_SOCKET_TTL_SECONDS)
            await pipe.execute()

    async def socket_closed(self, sid: str) -> None:
        sender_id = self.local_sockets.pop(sid, None)
        if sender_id is not None:
            await redis_client().zrem(live_key(sender_id), sid)

    async def renew_live_sockets(self) -> None:
        """Renews this worker's entries in the live sets, every LIVE_SOCKET_REFRESH_SECONDS."""
        while True:
            await asyncio.sleep(LIVE_SOCKET_REFRESH_SECONDS)
            if not self.local_sockets:
                continue
            expiry = time.time() + LIVE_SOCKET_TTL_SECONDS
            try:
                async with redis_client().pipeline(transaction=False) as pipe:
                    for sid, sender_id in list(self.local_sockets.items()):
                        pipe.zadd(live_key(sender_id), {sid: expiry})
                        pipe.expire(live_key(sender_id), LIVE_SOCKET_TTL_SECONDS)
                    await pipe.execute()
            except Exception as exc:  # Redis away: try again next round
                logger.warning("app channel: could not renew %d live sockets: %r", len(self.local_sockets), exc)

    async def start_worker(self, app: Any, _loop: Any) -> None:
        """Per Sanic worker, after it starts: subscribe to the shared socket.io channel now
        (not at this worker's first connection) and keep the live-socket entries fresh."""
        sio = self.sio
        if sio is None:
            return
        if not sio.manager_initialized:
            sio.manager_initialized = True
            sio.manager.initialize()
        self._renewal = asyncio.ensure_future(self.renew_live_sockets())

    async def stop_worker(self, app: Any, _loop: Any) -> None:
        renewal = getattr(self, "_renewal", None)
        if renewal is not None:
            renewal.cancel()
        for sid in list(self.local_sockets):
            try:
                await self.socket_closed(sid)
            except Exception:  # shutting down; the entries lapse on their own
                break

    # --- validation shared by REST and socket.io -------------------------------------------
    def check_text(self, text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise MessageRejected(400, "empty_message", fragment("app_empty_message"))
        text = text.strip()
        if len(text) > self.max_message_chars:
            raise MessageRejected(413, "message_too_long",
                                  fragment("app_message_too_long", max_chars=self.max_message_chars))
        return text

    @staticmethod
    def user_message(text: str, customer: Customer, output: OutputChannel) -> UserMessage:
        return UserMessage(
            text,
            output,
            sender_for_customer(customer.customer_id),
            input_channel=CHANNEL_NAME,
            metadata={"customer_token": customer.token, "channel": CHANNEL_NAME,
                      "customer_id": customer.customer_id},
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        global _active_channel
        on_new_message = with_handoff_routing(on_new_message)  # a person's conversations reach the desk
        # An explicit allow-list: [] would switch the origin check off, "*" would allow any site.
        # Shared across workers and Rasa processes through Redis (module docstring).
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=allowed_origins(),
                          client_manager=_shared_manager(), transports=self.socket_transports())
        self.sio = sio
        _active_channel = self
        bp = _SocketBlueprint(sio, SOCKETIO_PATH, "app_webhook", __name__, channel=self)

        def unauthorized(message: str) -> HTTPResponse:
            return response.json({"error": "unauthorized", "message": message}, status=401,
                                 headers={"WWW-Authenticate": 'Bearer realm="app"'})

        def authenticate(request: Request) -> Customer:
            return verify_customer_token(bearer_token(request.headers.get("Authorization")))

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                customer = authenticate(request)
            except InvalidCustomerToken as exc:
                return unauthorized(fragment("app_unauthorized", reason=str(exc)))
            try:
                body = json.loads(request.body or b"null")
            except ValueError:
                return response.json({"error": "bad_request", "message": fragment("app_bad_request")}, status=400)
            try:
                text = self.check_text(body.get("message") if isinstance(body, dict) else None)
            except MessageRejected as exc:
                return response.json(exc.body(), status=exc.status)
            collector = AppCollectingOutput()
            try:
                await on_new_message(self.user_message(text, customer, collector))
            except Exception:  # customers never see raw errors
                logger.exception("app channel: processing a message of %s failed", customer.customer_id)
                return response.json({"error": "internal_error", "message": fragment("app_internal_error")},
                                     status=500)
            return response.json(collector.messages)

        @bp.route("/messages", methods=["GET"])
        async def pushed_messages(request: Request) -> HTTPResponse:
            try:
                customer = authenticate(request)
            except InvalidCustomerToken as exc:
                return unauthorized(fragment("app_unauthorized", reason=str(exc)))
            messages = await pop_outbox(sender_for_customer(customer.customer_id))
            return response.json({"messages": messages})

        @bp.route("/login", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            payload = {"username": str(body.get("username", "")), "password": str(body.get("password", ""))}
            address = request.remote_addr or request.ip or ""
            if await self.login_throttle.blocked(address):
                return response.json({"error": "too_many_attempts", "message": fragment("app_login_throttled")},
                                     status=429, headers={"Retry-After": str(self.login_throttle.window_seconds)})
            url = get_settings().core_banking_url.rstrip("/") + "/auth/login"
            try:
                async with http_session().post(url, json=payload, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    data = await resp.json(content_type=None)
                    status = resp.status
            except (aiohttp.ClientError, ValueError, TimeoutError) as exc:
                logger.warning("app channel: core banking login failed: %r", exc)
                return response.json({"error": "unavailable", "message": fragment("app_login_unavailable")},
                                     status=503)
            if status != 200 or not isinstance(data, dict) or "access_token" not in data:
                await self.login_throttle.failed(address)
                return response.json({"error": "login_failed", "message": fragment("app_login_failed")}, status=401)
            await self.login_throttle.succeeded(address)
            return response.json({k: v for k, v in data.items() if k in ("access_token", "token_type", "expires_in", "customer_id")})

        @bp.route("/chat", methods=["GET"])
        async def chat_page(_: Request) -> HTTPResponse:
            return await _static_file("chat.html")

        @bp.route("/static/<name>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            return await _static_file(name)

        # --- socket.io ------------------------------------------------------------------
        @sio.on("connect")
        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> None:
            token = auth.get("token") if isinstance(auth, dict) else None
            if not token:
                token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
            if not token:
                token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
            try:
                customer = verify_customer_token(token)
            except InvalidCustomerToken as exc:
                from socketio.exceptions import ConnectionRefusedError as Refused

                raise Refused(fragment("app_connection_refused")) from exc
            sender_id = sender_for_customer(customer.customer_id)
            await sio.save_session(sid, {"token": customer.token, "sender_id": sender_id})
            await sio.enter_room(sid, sender_id)
            await self.socket_opened(sid, sender_id)

        @sio.on("disconnect")
        async def disconnect(sid: str, *_reason: Any) -> None:
            await self.socket_closed(sid)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            session = await sio.get_session(sid)
            await sio.emit("session_confirm", session["sender_id"], room=sid, ignore_queue=True)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any) -> None:
            session = await sio.get_session(sid)
            try:
                customer = verify_customer_token(session.get("token"))
            except InvalidCustomerToken:
                await sio.emit("error", {"error": "unauthorized", "message": fragment("app_session_expired")},
                               room=sid, ignore_queue=True)
                await sio.disconnect(sid)
                return
            try:
                text = self.check_text(data.get("message") if isinstance(data, dict) else data)
            except MessageRejected as exc:
                await sio.emit("error", exc.body(), room=sid, ignore_queue=True)
                return
            output = AppSocketOutput(sio, sid, self.bot_message_evt)
            await on_new_message(self.user_message(text, customer, output))

        return bp


async def _static_file(name: str) -> HTTPResponse:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file():
        return response.json({"error": "not_found"}, status=404)
    return await response.file(str(path), headers={
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    })


class _SocketBlueprint(Blueprint):
    """Attaches the socket.io server to the Sanic app when the blueprint is registered."""

    def __init__(self, sio: AsyncServer, socketio_path: str, *args: Any, channel: Optional[AppInput] = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.socketio_path = socketio_path
        self.ctx.channel = channel

    def register(self, app: Any, options: Dict[str, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.socketio_path)
        channel = self.ctx.channel
        if channel is not None:  # run in every Sanic worker
            app.register_listener(channel.start_worker, "after_server_start")
            app.register_listener(channel.stop_worker, "before_server_stop")
        super().register(app, options)
