"""A minimal stand-in for the core-banking endpoints the channels use, for tests that run
before (or without) the real service (`services/core_banking`).

  POST /auth/login {username, password}               -> {access_token, token_type, expires_in}
  POST /internal/wechat/bindings {openid, customer_id} -> binds (replaces)
  GET  /internal/wechat/bindings/{openid}              -> 200 {openid, customer_id} | 404
  POST /internal/wechat/token {openid}                 -> {access_token, expires_in} | 404
  GET  /health                                         -> {"status": "ok"}

Tokens are real customer JWTs (EdDSA, `typ: customer`, `iss: core-banking`) signed with the
secret given to the constructor, exactly as the architecture describes.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

import jwt

from bot.identity import private_key

DEMO_CUSTOMERS = ("C1001", "C1002", "C1003", "C1004")
DEMO_PASSWORD = "demo1234"


def mint_customer_token(signing_key: str, customer_id: str, ttl_seconds: int = 900, **overrides: Any) -> str:
    """A customer JWT as core banking signs it (EdDSA, bot/identity.py) with `signing_key` (hex)."""
    now = int(time.time())
    claims = {"sub": customer_id, "typ": "customer", "iss": "core-banking", "iat": now, "exp": now + ttl_seconds}
    claims.update(overrides)
    return jwt.encode(claims, private_key(signing_key), algorithm="EdDSA")


class FakeCoreBanking:
    def __init__(self, signing_key: str, service_token: str, bindings: Optional[Dict[str, str]] = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.signing_key, self.service_token = signing_key, service_token
        self.bindings: Dict[str, str] = dict(bindings or {})
        self.requests: List[str] = []
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeCoreBanking":
        threading.Thread(target=self.server.serve_forever, name="fake-core-banking", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, payload: Any, status: int = 200) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> Dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    data = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return {}
                return data if isinstance(data, dict) else {}

            def _service_ok(self) -> bool:
                return self.headers.get("Authorization") == f"Bearer {fake.service_token}"

            def do_GET(self) -> None:
                fake.requests.append(f"GET {self.path}")
                if self.path == "/health":
                    return self._json({"status": "ok"})
                if self.path.startswith("/internal/wechat/bindings/"):
                    if not self._service_ok():
                        return self._json({"detail": "unauthorized"}, 401)
                    openid = self.path.rsplit("/", 1)[1]
                    if openid in fake.bindings:
                        return self._json({"openid": openid, "customer_id": fake.bindings[openid]})
                    return self._json({"detail": "not bound"}, 404)
                self._json({"detail": "not found"}, 404)

            def do_POST(self) -> None:
                fake.requests.append(f"POST {self.path}")
                body = self._body()
                if self.path == "/auth/login":
                    if body.get("username") in DEMO_CUSTOMERS and body.get("password") == DEMO_PASSWORD:
                        token = mint_customer_token(fake.signing_key, body["username"])
                        return self._json({"access_token": token, "token_type": "bearer", "expires_in": 900,
                                           "customer_id": body["username"]})
                    return self._json({"detail": "invalid credentials"}, 401)
                if self.path == "/internal/wechat/bindings":
                    if not self._service_ok():
                        return self._json({"detail": "unauthorized"}, 401)
                    fake.bindings[str(body.get("openid"))] = str(body.get("customer_id"))
                    return self._json({"openid": body.get("openid"), "customer_id": body.get("customer_id")})
                if self.path == "/internal/wechat/token":
                    if not self._service_ok():
                        return self._json({"detail": "unauthorized"}, 401)
                    customer = fake.bindings.get(str(body.get("openid")))
                    if not customer:
                        return self._json({"detail": "not bound"}, 404)
                    return self._json({"access_token": mint_customer_token(fake.signing_key, customer, 300),
                                       "expires_in": 300})
                self._json({"detail": "not found"}, 404)

        return Handler
