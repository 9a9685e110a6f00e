"""A local stand-in for WeChat's server API, for tests (runs in a thread of the test process).

Endpoints (the subset the connector uses):
  GET  /cgi-bin/token?grant_type=client_credential&appid=..&secret=..   Official Account token
  GET  /cgi-bin/gettoken?corpid=..&corpsecret=..                        WeCom token
  POST /cgi-bin/message/custom/send?access_token=..                      customer-service message
  POST /cgi-bin/message/send?access_token=..                             WeCom application message
  GET  /_records                                                          what was sent (JSON)

Tests read `fake.sent` (list of dicts: touser, content, msgtype, time, path) directly, or
`GET /_records`; `fake.reset()` clears them; `fake.expire_tokens()` makes every issued token
invalid (errcode 40001) to exercise the refresh path.

    with FakeWeChat(app_id="wxtest", app_secret="s3cret") as fake:
        os.environ["WECHAT_API_BASE"] = fake.url
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlparse


class FakeWeChat:
    def __init__(self, app_id: str = "wxtestapp", app_secret: str = "testsecret",
                 corp_id: str = "wwtestcorp", corp_secret: str = "corpsecret",
                 host: str = "127.0.0.1", port: int = 0, expires_in: int = 7200) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.corp_id, self.corp_secret = corp_id, corp_secret
        self.expires_in = expires_in
        self.sent: List[Dict[str, Any]] = []
        self.token_requests = 0
        self.valid_tokens: set = set()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeWeChat":
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-wechat", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeWeChat":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        with self.lock:
            self.sent.clear()

    def records(self, touser: Optional[str] = None) -> List[Dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.sent if touser is None or r["touser"] == touser]

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def _issue(self) -> Dict[str, Any]:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.valid_tokens.add(token)
            self.token_requests += 1
        return {"access_token": token, "expires_in": self.expires_in}

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _json(self, payload: Any, status: int = 200) -> None:
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/cgi-bin/token":
                    if q.get("grant_type") == "client_credential" and q.get("appid") == fake.app_id \
                            and q.get("secret") == fake.app_secret:
                        return self._json(fake._issue())
                    return self._json({"errcode": 40013, "errmsg": "invalid appid"})
                if url.path == "/cgi-bin/gettoken":
                    if q.get("corpid") == fake.corp_id and q.get("corpsecret") == fake.corp_secret:
                        return self._json({"errcode": 0, "errmsg": "ok", **fake._issue()})
                    return self._json({"errcode": 40001, "errmsg": "invalid credential"})
                if url.path == "/_records":
                    return self._json(fake.records())
                self._json({"errcode": 404, "errmsg": "not found"}, status=404)

            def do_POST(self) -> None:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if url.path not in ("/cgi-bin/message/custom/send", "/cgi-bin/message/send"):
                    return self._json({"errcode": 404, "errmsg": "not found"}, status=404)
                with fake.lock:
                    token_ok = q.get("access_token") in fake.valid_tokens
                if not token_ok:
                    return self._json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    return self._json({"errcode": 47001, "errmsg": "data format error"})
                record = {
                    "path": url.path,
                    "touser": body.get("touser"),
                    "msgtype": body.get("msgtype"),
                    "content": (body.get("text") or {}).get("content"),
                    "agentid": body.get("agentid"),
                    "time": time.time(),
                }
                with fake.lock:
                    fake.sent.append(record)
                self._json({"errcode": 0, "errmsg": "ok"})

        return Handler


if __name__ == "__main__":  # python -m tests.fakes.fake_wechat  (manual experiments)
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8099
    fake = FakeWeChat(port=port).start()
    print(f"fake WeChat API on {fake.url} (appid {fake.app_id}, secret {fake.app_secret})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
