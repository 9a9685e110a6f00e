"""Client of WeChat's server API: access tokens and customer-service (客服) messages.

Official Account (`kind="mp"`):
  GET  {api_base}/cgi-bin/token?grant_type=client_credential&appid=..&secret=..
  POST {api_base}/cgi-bin/message/custom/send?access_token=..  {"touser", "msgtype": "text", "text": {"content"}}
WeCom (`kind="wecom"`):
  GET  {api_base}/cgi-bin/gettoken?corpid=..&corpsecret=..
  POST {api_base}/cgi-bin/message/send?access_token=..  {"touser", "msgtype": "text", "agentid", "text"}

Access tokens are cached in Redis (`<prefix>:wechat:token:<appid>`) with a TTL shorter than
`expires_in` by `refresh_margin_seconds`, so they are refreshed before they expire; an
"invalid/expired token" error (40001, 40014, 42001) drops the cached token and retries once.
A per-process asyncio lock keeps concurrent senders from fetching a token at the same time.
Everything is aiohttp: the event loop is never blocked.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import aiohttp

from connectors.common import http_session, redis_client, redis_key

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_WECOM_API_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = {40001, 40014, 42001}
MAX_TEXT_BYTES = 2000  # WeChat limits a text message to 2048 bytes (UTF-8); keep a margin


def split_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> List[str]:
    """Splits a long text into messages of at most max_bytes, preferring line breaks."""
    chunks: List[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) <= max_bytes:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while len(line.encode("utf-8")) > max_bytes:  # a single very long line: cut by characters
            cut = max_bytes // 3
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        chunks.append(current)
    return chunks


class WeChatAPIError(Exception):
    """WeChat's API answered with an error or could not be reached."""


@dataclass
class WeChatAPI:
    api_base: str
    app_id: str              # Official Account appid, or WeCom corp id
    app_secret: str          # AppSecret, or WeCom corp secret
    kind: str = "mp"         # "mp" | "wecom"
    agent_id: Optional[str] = None  # WeCom application id
    refresh_margin_seconds: int = 300
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        self.api_base = self.api_base.rstrip("/")
        self._locks: Dict[int, asyncio.Lock] = {}

    @property
    def token_key(self) -> str:
        suffix = f"{self.app_id}:{self.agent_id}" if self.kind == "wecom" and self.agent_id else self.app_id
        return redis_key("wechat", "token", suffix)

    def _lock(self) -> asyncio.Lock:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._locks:
            self._locks[loop_id] = asyncio.Lock()
        return self._locks[loop_id]

    async def _request(self, method: str, path: str, **kwargs: Any) -> Dict[str, Any]:
        url = f"{self.api_base}{path}"
        try:
            async with http_session().request(method, url, timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                                              **kwargs) as resp:
                data = await resp.json(content_type=None)
                if resp.status != 200 or not isinstance(data, dict):
                    raise WeChatAPIError(f"{path}: HTTP {resp.status}")
                return data
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise WeChatAPIError(f"{path}: {exc!r}") from exc

    async def access_token(self, force_refresh: bool = False) -> str:
        redis = redis_client()
        if not force_refresh:
            cached = await redis.get(self.token_key)
            if cached:
                return cached
        async with self._lock():
            if not force_refresh:
                cached = await redis.get(self.token_key)
                if cached:
                    return cached
            if self.kind == "wecom":
                data = await self._request("GET", "/cgi-bin/gettoken",
                                           params={"corpid": self.app_id, "corpsecret": self.app_secret})
            else:
                data = await self._request("GET", "/cgi-bin/token", params={
                    "grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret})
            token = data.get("access_token")
            if not token:
                raise WeChatAPIError(f"token request failed: errcode={data.get('errcode')} {data.get('errmsg')}")
            expires_in = int(data.get("expires_in") or 7200)
            ttl = max(60, expires_in - self.refresh_margin_seconds)
            await redis.set(self.token_key, token, ex=ttl)
            return token

    async def send_text(self, touser: str, content: str, attempts: int = 3) -> None:
        """Sends a text (split into several messages if longer than WeChat allows)."""
        for chunk in split_text(content):
            await self._send_one(touser, chunk, attempts)

    async def _send_one(self, touser: str, content: str, attempts: int) -> None:
        """Sends one customer-service text message; retries network errors, refreshes stale tokens."""
        body: Dict[str, Any] = {"touser": touser, "msgtype": "text", "text": {"content": content}}
        path = "/cgi-bin/message/custom/send"
        if self.kind == "wecom":
            path = "/cgi-bin/message/send"
            body["agentid"] = int(self.agent_id) if (self.agent_id or "").isdigit() else self.agent_id
        force_refresh = False
        last_error: Optional[Exception] = None
        for attempt in range(attempts):
            try:
                token = await self.access_token(force_refresh=force_refresh)
                data = await self._request("POST", path, params={"access_token": token}, json=body)
            except WeChatAPIError as exc:
                last_error = exc
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return
            if errcode in TOKEN_ERRORS:
                force_refresh = True
                last_error = WeChatAPIError(f"token rejected ({errcode})")
                continue
            raise WeChatAPIError(f"send failed: errcode={errcode} {data.get('errmsg')}")
        raise WeChatAPIError(f"send failed after {attempts} attempts: {last_error}")
