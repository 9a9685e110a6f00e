"""Authentication: every customer endpoint needs a valid customer JWT; /internal/* needs the
service token; neither credential works in the other's place."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest
import requests

from bot.identity import customer_claims, generate_key_pair, private_key
from tests.services.core_banking.conftest import bearer

CUSTOMER_ENDPOINTS = [
    ("GET", "/me", None),
    ("GET", "/me/accounts", None),
    ("GET", "/me/transfer-limits", None),
    ("POST", "/me/limit-raise-requests", {"channel": "手机银行", "new_daily_limit": 20000, "verification_method": "face"}),
    ("GET", "/me/transfers", None),
    ("GET", "/me/transfers/TR100101", None),
    ("GET", "/me/loans", None),
    ("GET", "/me/loans/L100201", None),
    ("GET", "/me/cards", None),
    ("GET", "/me/cards/K1001", None),
    ("POST", "/me/cards/K1001/freeze", {}),
    ("POST", "/me/complaints", {"category": "其他", "description": "测试投诉内容"}),
    ("GET", "/me/complaints", None),
    ("GET", "/me/complaints/TS202611020001", None),
    ("GET", "/loan-products", None),
    ("GET", "/loan-products/materials?loan_type=经营贷&customer_type=个体工商户", None),
]
INTERNAL_ENDPOINTS = [
    ("POST", "/internal/wechat/bindings", {"openid": "oAuthTest001", "customer_id": "C1001"}),
    ("GET", "/internal/wechat/bindings/oAuthTest001", None),
    ("DELETE", "/internal/wechat/bindings/oAuthTest001", None),
    ("POST", "/internal/wechat/token", {"openid": "oAuthTest001"}),
    ("GET", "/internal/faults", None),
    ("PUT", "/internal/faults", {"latency_ms": 0, "error_rate": 0}),
]


def call(server, method, path, body, headers=None):
    return requests.request(method, server.url + path, json=body, headers=headers or {}, timeout=10)


def make_token(signing_key: str, **overrides) -> str:
    now = datetime.now(timezone.utc)
    claims = {"sub": "C1001", "typ": "customer", "iss": "core-banking", "iat": int(now.timestamp()),
              "exp": int((now + timedelta(minutes=5)).timestamp())}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, private_key(signing_key), algorithm="EdDSA")


def bad_tokens(server):
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    return {
        "garbage": "not-a-jwt",
        "expired": make_token(server.signing_key, iat=int(past.timestamp()), exp=int(past.timestamp()) + 60),
        "wrong key": make_token(generate_key_pair()[0]),
        "hmac with the public key": jwt.encode({"sub": "C1001", "typ": "customer", "iss": "core-banking", "iat": 0,
                                                "exp": 4102444800}, server.public_key, algorithm="HS256"),
        "wrong typ": make_token(server.signing_key, typ="agent"),
        "wrong issuer": make_token(server.signing_key, iss="someone-else"),
        "no exp": make_token(server.signing_key, exp=None),
        "unknown customer": make_token(server.signing_key, sub="C9999"),
        "alg none": jwt.encode({"sub": "C1001", "typ": "customer", "iss": "core-banking", "iat": 0,
                                "exp": 4102444800}, None, algorithm="none"),
        "service token": server.service_token,
    }


def assert_structured_401(response):
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] in ("not_authenticated", "invalid_credentials")
    assert "/" in error["message"]  # Chinese / English
    assert response.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("method,path,body", CUSTOMER_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in CUSTOMER_ENDPOINTS])
def test_customer_endpoints_require_a_valid_customer_token(server, method, path, body):
    assert_structured_401(call(server, method, path, body))
    assert_structured_401(call(server, method, path, body, {"Authorization": "Basic dXNlcjpwYXNz"}))
    for name, token in bad_tokens(server).items():
        if name == "service token" and path.startswith("/loan-products"):
            continue  # reference data is open to the service token too
        response = call(server, method, path, body, bearer(token))
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"


@pytest.mark.parametrize("method,path,body", INTERNAL_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in INTERNAL_ENDPOINTS])
def test_internal_endpoints_refuse_customer_tokens(server, tokens, method, path, body):
    assert_structured_401(call(server, method, path, body))
    response = call(server, method, path, body, bearer(tokens["C1001"]))
    assert response.status_code == 401, response.text
    response = call(server, method, path, body, bearer(server.service_token + "x"))
    assert response.status_code == 401, response.text


def test_service_token_works_on_internal_and_reference_data_only(server):
    headers = server.service_headers()
    assert requests.get(server.url + "/internal/faults", headers=headers, timeout=10).status_code == 200
    assert requests.get(server.url + "/loan-products", headers=headers, timeout=10).status_code == 200
    assert requests.get(server.url + "/me", headers=headers, timeout=10).status_code == 401


def test_login_returns_a_customer_jwt_per_contract(server):
    response = requests.post(server.url + "/auth/login", json={"username": "C1001", "password": "demo1234"}, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["customer_id"] == "C1001" and body["expires_in"] == 1800
    claims = customer_claims(body["access_token"], server.public_key)
    assert claims["sub"] == "C1001" and claims["typ"] == "customer"
    assert claims["exp"] - claims["iat"] == 1800
    me = requests.get(server.url + "/me", headers=bearer(body["access_token"]), timeout=10)
    assert me.status_code == 200 and me.json()["name"] == "王秀英"


@pytest.mark.parametrize("body", [
    {"username": "C1001", "password": "wrong"},
    {"username": "C9999", "password": "demo1234"},
])
def test_login_with_wrong_credentials_is_401(server, body):
    response = requests.post(server.url + "/auth/login", json=body, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "用户名或密码错误" in response.json()["error"]["message"]


def test_login_input_is_bounded(server):
    response = requests.post(server.url + "/auth/login", json={"username": "C" * 100, "password": "x"}, timeout=10)
    assert response.status_code == 422
    assert "username" in response.json()["error"]["message"]
