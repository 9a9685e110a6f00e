"""Every endpoint needs the right credential: agent JWT for /api, the service token for /internal."""
from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest
import requests
import websockets

from bot.identity import generate_key_pair, private_key
from tests.services.agent_desk.harness import DeskProcess
from tests.support.net import post_json_from

# Probes: /health (liveness) and /ready (readiness) need no credential (deploy/README.md).
PUBLIC = {("POST", "/api/auth/login"), ("GET", "/health"), ("GET", "/ready")}


def _routes(desk: DeskProcess):
    spec = requests.get(desk.url + "/openapi.json", timeout=10).json()
    for path, methods in spec["paths"].items():
        for method in methods:
            yield method.upper(), path.replace("{handoff_id}", "x").replace("{delivery_id}", "1") \
                .replace("{conversation_id}", "c")


def _call(desk: DeskProcess, method: str, path: str, headers=None) -> requests.Response:
    return requests.request(method, desk.url + path, headers=headers or {}, json={}, timeout=10)


def test_every_endpoint_without_a_token_is_401(desk: DeskProcess) -> None:
    routes = [(m, p) for m, p in _routes(desk) if (m, p) not in PUBLIC]
    assert len(routes) >= 14
    for method, path in routes:
        r = _call(desk, method, path)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] in ("not_authenticated", "invalid_service_token")


def _customer_tokens(desk: DeskProcess):
    now = int(time.time())
    customer = {"sub": "C1001", "typ": "customer", "iss": "core-banking", "iat": now, "exp": now + 600}
    yield "core-banking customer token", jwt.encode(customer, private_key(generate_key_pair()[0]), algorithm="EdDSA")
    # even signed with the desk's own secret, a customer-typed token is not an agent token
    yield "customer typ, desk secret", jwt.encode(dict(customer, aud="agent-desk", iss="agent-desk"),
                                                   desk.env["AGENT_DESK_JWT_SECRET"], algorithm="HS256")
    agentish = {"sub": "agent1", "typ": "agent", "role": "supervisor", "iss": "agent-desk", "aud": "agent-desk",
                "iat": now, "exp": now + 600}
    yield "agent claims, foreign secret", jwt.encode(agentish, "not-the-desk-secret-0123456789abcdef", algorithm="HS256")
    yield "expired agent token", jwt.encode(dict(agentish, iat=now - 7200, exp=now - 3600),
                                            desk.env["AGENT_DESK_JWT_SECRET"], algorithm="HS256")
    yield "alg none", jwt.encode(agentish, None, algorithm="none")
    yield "unknown agent", jwt.encode(dict(agentish, sub="ghost"), desk.env["AGENT_DESK_JWT_SECRET"], algorithm="HS256")
    yield "service token", desk.env["AGENT_DESK_SERVICE_TOKEN"]


def test_only_agent_tokens_open_the_agent_api(desk: DeskProcess) -> None:
    for label, token in _customer_tokens(desk):
        for method, path in [("GET", "/api/handoffs"), ("GET", "/api/canned-responses"), ("GET", "/api/auth/me")]:
            r = _call(desk, method, path, {"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, (label, path, r.text)
    assert desk.get("/api/handoffs").status_code == 200


def test_only_the_service_token_opens_the_internal_api(desk: DeskProcess) -> None:
    agent = desk.agent_headers("supervisor1")
    for label, token in [("agent token", agent["Authorization"].split()[1]),
                         ("wrong token", "x" * 43), ("prefix of the token", desk.env["AGENT_DESK_SERVICE_TOKEN"][:-1])]:
        for method, path in [("POST", "/internal/handoffs"), ("GET", "/internal/conversations/c/active-handoff"),
                             ("POST", "/internal/handoffs/x/rating")]:
            r = _call(desk, method, path, {"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, (label, path, r.text)
    r = requests.get(desk.url + "/internal/conversations/none/active-handoff", headers=desk.service_headers, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_active_handoff"


def test_login_failures_are_rejected_and_locked(make_desk) -> None:
    private = make_desk(AGENT_DESK_LOGIN_MAX_FAILURES="3")
    for _ in range(3):
        r = requests.post(private.url + "/api/auth/login", json={"username": "agent2", "password": "wrong"}, timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    r = requests.post(private.url + "/api/auth/login", json={"username": "agent2", "password": "agent2-demo"},
                      timeout=10)
    assert r.status_code == 429
    r = requests.post(private.url + "/api/auth/login", json={"username": "nobody", "password": "x"}, timeout=10)
    assert r.status_code == 401


def _login_from(desk: DeskProcess, source: str, username: str, password: str) -> int:
    return post_json_from(source, desk.url, "/api/auth/login", {"username": username, "password": password})


def test_an_attacker_cannot_lock_an_agent_out(make_desk) -> None:
    """The lock-out counts per username and address: guessing from elsewhere locks only the guesser."""
    private = make_desk(AGENT_DESK_LOGIN_MAX_FAILURES="3")
    attacker, agent_desk = "127.0.0.7", "127.0.0.1"
    assert [_login_from(private, attacker, "agent1", f"guess{n}") for n in range(3)] == [401, 401, 401]
    assert _login_from(private, attacker, "agent1", "agent1-demo") == 429  # the guesser is locked out
    assert _login_from(private, agent_desk, "agent1", "agent1-demo") == 200  # agent1 at her desk is not


def test_security_headers_and_validation_errors(desk: DeskProcess) -> None:
    console = requests.get(desk.url + "/console/", timeout=10)
    assert console.status_code == 200 and "default-src 'self'" in console.headers["Content-Security-Policy"]
    assert console.headers["X-Frame-Options"] == "DENY"
    r = requests.post(desk.url + "/internal/handoffs", json={"channel": "app"}, headers=desk.service_headers,
                      timeout=10)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = desk.get("/api/handoffs/does-not-exist")
    assert r.status_code == 404 and r.json() == {"error": {"code": "handoff_not_found", "message": "会话不存在"}}


@pytest.mark.parametrize("label", ["none", "customer", "service"])
def test_live_stream_requires_an_agent_token(desk: DeskProcess, label: str) -> None:
    tokens = dict(_customer_tokens(desk))
    token = {"none": None, "customer": tokens["core-banking customer token"],
             "service": desk.env["AGENT_DESK_SERVICE_TOKEN"]}[label]

    async def attempt():
        async with websockets.connect(desk.url.replace("http", "ws") + "/api/live") as ws:
            if token is not None:
                await ws.send(json.dumps({"type": "auth", "token": token}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            return closed.value.code

    assert asyncio.run(attempt()) == 4401


def test_demo_agents_and_api_docs_only_when_asked_for(make_desk, monkeypatch) -> None:
    from services.agent_desk.config import DeskSettings

    for name in ("AGENT_DESK_SEED_DEMO", "AGENT_DESK_EXPOSE_DOCS"):
        monkeypatch.delenv(name, raising=False)
    defaults = DeskSettings(_env_file=None)
    assert not defaults.seed_demo_agents and not defaults.expose_docs
    production = make_desk(AGENT_DESK_SEED_DEMO="false", AGENT_DESK_EXPOSE_DOCS="false")
    r = requests.post(production.url + "/api/auth/login", json={"username": "agent1", "password": "agent1-demo"},
                      timeout=10)
    assert r.status_code == 401
    assert requests.get(production.url + "/openapi.json", timeout=10).status_code == 404
    assert requests.get(production.url + "/docs", timeout=10).status_code == 404


def test_an_agent_cannot_read_or_follow_another_agents_handoff(make_desk) -> None:
    """Issue 12: agent2 opened agent1's handoff (200, customer + transcript) and got its live events."""
    desk = make_desk()
    created = desk.register()
    hid = created["id"]
    assert desk.get(f"/api/handoffs/{hid}", username="agent2").status_code == 200  # waiting: anyone may pick it
    assert desk.post(f"/api/handoffs/{hid}/claim", username="agent1").status_code == 200

    refused = desk.get(f"/api/handoffs/{hid}", username="agent2")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert hid not in [h["id"] for h in desk.get("/api/handoffs", username="agent2", params={"status": "active"}).json()]
    assert desk.get(f"/api/handoffs/{hid}", username="agent1").status_code == 200
    assert desk.get(f"/api/handoffs/{hid}", username="supervisor1").status_code == 200
    assert desk.post(f"/api/handoffs/{hid}/messages", {"text": "我来"}, username="agent2").status_code == 403
    assert desk.post(f"/api/handoffs/{hid}/close", {"back_to_bot": True}, username="agent2").status_code == 403
    assert desk.post(f"/api/handoffs/{hid}/transfer", {"queue": "general"}, username="agent2").status_code == 403
    assert desk.post(f"/api/handoffs/{hid}/deliveries/999999/retry", username="agent2").status_code == 404

    secret_words = "我的卡号是多少来着"

    async def events_seen_by(username: str) -> list:
        async with websockets.connect(desk.url.replace("http", "ws") + "/api/live") as ws:
            await ws.send(json.dumps({"type": "auth", "token": desk.token(username)}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
            await asyncio.get_running_loop().run_in_executor(None, lambda: requests.post(
                f"{desk.url}/internal/handoffs/{hid}/customer-messages", json={"text": secret_words},
                headers=desk.service_headers, timeout=10).raise_for_status())
            seen = []
            while True:
                try:
                    seen.append(json.loads(await asyncio.wait_for(ws.recv(), 3)))
                except asyncio.TimeoutError:
                    return seen

    agent2_saw = asyncio.run(events_seen_by("agent2"))
    about_it = [e for e in agent2_saw if e.get("handoff_id") == hid]
    assert about_it, agent2_saw  # the queue view still learns that something happened
    assert secret_words not in json.dumps(agent2_saw, ensure_ascii=False)
    agent1_saw = asyncio.run(events_seen_by("agent1"))
    assert secret_words in json.dumps(agent1_saw, ensure_ascii=False)


def test_an_agent_sees_and_picks_up_only_the_queues_they_serve(make_desk) -> None:
    """Issue 12: every agent saw and could claim every waiting handoff, whatever its queue.
    agent2 serves general and loans (seed.py); agent1 serves every queue."""
    desk = make_desk()
    secret_reason = "信用卡被盗刷 客户很着急"
    cards = desk.register(queue="cards", reason=secret_reason)["id"]
    loans = desk.register(queue="loans")["id"]

    def waiting(username: str) -> list:
        return [h["id"] for h in desk.get("/api/handoffs", username=username, params={"status": "waiting"}).json()]

    assert desk.get("/api/auth/me", username="agent2").json()["queues"] == ["general", "loans"]
    served = {q["name"]: q["served"] for q in desk.get("/api/queues", username="agent2").json()}
    assert served == {"general": True, "cards": False, "loans": True, "wealth": False, "complaints": False}
    assert loans in waiting("agent2") and cards not in waiting("agent2")
    assert cards in waiting("agent1") and cards in waiting("supervisor1")
    assert desk.get("/api/handoffs", username="agent2", params={"status": "waiting", "queue": "cards"}).json() == []

    for method, path, body in [("get", f"/api/handoffs/{cards}", None),
                               ("post", f"/api/handoffs/{cards}/claim", None),
                               ("post", f"/api/handoffs/{cards}/close", {"back_to_bot": True}),
                               ("post", f"/api/handoffs/{cards}/transfer", {"queue": "general"}),
                               ("post", f"/api/handoffs/{cards}/deliveries/1/retry", None)]:
        r = desk.get(path, username="agent2") if method == "get" else desk.post(path, body, username="agent2")
        assert r.status_code in (403, 404), (path, r.status_code, r.text)
        assert secret_reason not in r.text
    assert desk.get(f"/api/handoffs/{cards}", username="agent2").json()["error"]["message"] == "该会话不在您负责的队列中"
    assert desk.get(f"/api/handoffs/{cards}", username="agent1").json()["status"] == "waiting"  # nothing changed

    async def created_event_seen_by(username: str) -> dict:
        async with websockets.connect(desk.url.replace("http", "ws") + "/api/live") as ws:
            await ws.send(json.dumps({"type": "auth", "token": desk.token(username)}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
            hid = (await asyncio.to_thread(desk.register, queue="cards", reason=secret_reason))["id"]
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if event.get("handoff_id") == hid:
                    return event

    stripped = asyncio.run(created_event_seen_by("agent2"))
    assert stripped["type"] == "handoff_created" and stripped["queue"] == "cards" and "reason" not in stripped
    assert asyncio.run(created_event_seen_by("agent1"))["reason"] == secret_reason

    # a transfer into a queue moves the handoff to that queue's agents
    assert desk.post(f"/api/handoffs/{cards}/claim", username="agent1").status_code == 200
    assert desk.post(f"/api/handoffs/{cards}/transfer", {"queue": "loans"}, username="agent1").status_code == 200
    assert cards in waiting("agent2")
    assert desk.post(f"/api/handoffs/{cards}/claim", username="agent2").status_code == 200


def test_every_read_of_customer_data_is_in_the_audit_log(make_desk) -> None:
    """Issue 12: only an agent's first view of a handoff in five minutes was written down."""
    desk = make_desk()
    hid = desk.register()["id"]
    for _ in range(3):
        assert desk.get(f"/api/handoffs/{hid}", username="agent2").status_code == 200
    desk.get("/api/handoffs", username="agent2", params={"status": "waiting"})
    views = [e for e in desk.get(f"/api/handoffs/{hid}/audit", username="supervisor1").json()
             if e["action"] == "viewed" and e["actor"] == "agent2"]
    assert len(views) == 3
    listed = desk.get("/api/audit", username="supervisor1", params={"actor": "agent2", "action": "listed"}).json()
    assert listed and hid in listed[0]["detail"]["handoff_ids"]
    assert desk.get("/api/audit", username="agent2").status_code == 403  # supervisors only
