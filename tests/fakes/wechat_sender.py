"""Plays WeChat's side of a callback: builds signed (and, in safe/wecom mode, AES-encrypted)
XML with wechatpy's own signer and crypto, POSTs it to the connector and decodes the reply.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.utils import WeChatSigner

_msg_counter = [int(time.time() * 1000) % 10**9 * 1000]


def next_msg_id() -> str:
    _msg_counter[0] += 1
    return str(6_000_000_000_000_000_000 + _msg_counter[0])


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def message_xml(fields: Dict[str, Any]) -> str:
    inner = []
    for key, value in fields.items():
        if isinstance(value, int):
            inner.append(f"<{key}>{value}</{key}>")
        else:
            inner.append(f"<{key}><![CDATA[{value}]]></{key}>")
    return "<xml>" + "".join(inner) + "</xml>"


def text_message(openid: str, content: str, msg_id: Optional[str] = None, to: str = "gh_testbank") -> Dict[str, Any]:
    return {"ToUserName": to, "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": "text",
            "Content": content, "MsgId": msg_id or next_msg_id()}


def voice_message(openid: str, recognition: str, to: str = "gh_testbank") -> Dict[str, Any]:
    return {"ToUserName": to, "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": "voice",
            "MediaId": "media123", "Format": "amr", "Recognition": recognition, "MsgId": next_msg_id()}


def event_message(openid: str, event: str, create_time: Optional[int] = None, to: str = "gh_testbank") -> Dict[str, Any]:
    return {"ToUserName": to, "FromUserName": openid, "CreateTime": create_time or int(time.time()),
            "MsgType": "event", "Event": event}


@dataclass
class Reply:
    status: int
    body: str
    fields: Optional[Dict[str, Any]]  # the decoded passive reply, None for `success`/errors
    seconds: float

    @property
    def content(self) -> Optional[str]:
        return (self.fields or {}).get("Content")


class WeChatSender:
    def __init__(self, url: str, token: str, mode: str = "plain", aes_key: str = "", app_id: str = "",
                 session: Optional[requests.Session] = None) -> None:
        self.url, self.token, self.mode, self.aes_key, self.app_id = url, token, mode, aes_key, app_id
        self.session = session or requests.Session()

    def _crypto(self) -> Any:
        cls = WeComCrypto if self.mode == "wecom" else MpCrypto
        return cls(self.token, self.aes_key, self.app_id)

    def signed_params(self, timestamp: Optional[str] = None) -> Dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = secrets.token_hex(6)
        params = {"timestamp": timestamp, "nonce": nonce}
        if self.mode != "wecom":
            params["signature"] = sign(self.token, timestamp, nonce)
        if self.mode == "safe":
            params["encrypt_type"] = "aes"
        return params

    def encode(self, xml: str, params: Dict[str, str]) -> bytes:
        if self.mode == "plain":
            return xml.encode("utf-8")
        envelope = xmltodict.parse(self._crypto().encrypt_message(xml, params["nonce"], params["timestamp"]))["xml"]
        params["msg_signature"] = envelope["MsgSignature"]
        to_user = "gh_testbank" if self.mode != "wecom" else self.app_id
        return (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>").encode("utf-8")

    def post_xml(self, xml: str, params: Optional[Dict[str, str]] = None, timeout: float = 15) -> Reply:
        params = dict(params or self.signed_params())
        body = self.encode(xml, params)
        return self.post_raw(body, params, timeout=timeout)

    def post_raw(self, body: bytes, params: Dict[str, str], timeout: float = 15) -> Reply:
        started = time.monotonic()
        resp = self.session.post(self.url, params=params, data=body, timeout=timeout,
                                 headers={"Content-Type": "text/xml"})
        seconds = time.monotonic() - started
        return Reply(resp.status_code, resp.text, self.decode(resp.text, params) if resp.status_code == 200 else None,
                     seconds)

    def send(self, fields: Dict[str, Any], timeout: float = 15) -> Reply:
        return self.post_xml(message_xml(fields), timeout=timeout)

    def decode(self, body: str, params: Dict[str, str]) -> Optional[Dict[str, Any]]:
        if not body or body == "success" or not body.lstrip().startswith("<xml"):
            return None
        if self.mode == "plain":
            return xmltodict.parse(body)["xml"]
        envelope = xmltodict.parse(body)["xml"]
        # Check the reply's signature the way WeChat does, then decrypt.
        expected = sign(self.token, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"])
        assert expected == envelope["MsgSignature"], "reply signature does not verify"
        plain = self._crypto().decrypt_message(body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return xmltodict.parse(plain)["xml"]

    def verify_url(self, echostr: str, forge: bool = False) -> requests.Response:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(6)
        if self.mode == "wecom":
            from wechatpy.enterprise.crypto import PrpCrypto

            import base64

            encrypted = PrpCrypto(base64.b64decode(self.aes_key + "=")).encrypt(echostr, self.app_id)
            encrypted = encrypted.decode() if isinstance(encrypted, bytes) else encrypted
            params = {"msg_signature": sign(self.token, timestamp, nonce, encrypted), "timestamp": timestamp,
                      "nonce": nonce, "echostr": encrypted}
        else:
            params = {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                      "echostr": echostr}
        if forge:
            key = "msg_signature" if self.mode == "wecom" else "signature"
            params[key] = "0" * 40
        return self.session.get(self.url, params=params, timeout=10)


def send_pair(sender: WeChatSender, fields: Dict[str, Any]) -> Tuple[Reply, Dict[str, Any]]:
    return sender.send(fields), fields
