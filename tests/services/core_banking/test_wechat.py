"""WeChat bindings and short-lived tokens (service token only)."""
from __future__ import annotations

import requests

from bot.identity import customer_claims
from tests.services.core_banking.conftest import bearer


def test_bind_lookup_token_replace_unbind(server):
    headers = server.service_headers()
    url = server.url + "/internal/wechat"
    openid = "oWeChatTest_0001"
    assert requests.get(f"{url}/bindings/{openid}", headers=headers, timeout=10).status_code == 404
    assert requests.post(f"{url}/token", json={"openid": openid}, headers=headers, timeout=10).status_code == 404

    bound = requests.post(f"{url}/bindings", json={"openid": openid, "customer_id": "C1001"}, headers=headers,
                          timeout=10)
    assert bound.status_code == 200 and bound.json()["customer_id"] == "C1001"
    assert requests.get(f"{url}/bindings/{openid}", headers=headers, timeout=10).json()["customer_id"] == "C1001"

    token = requests.post(f"{url}/token", json={"openid": openid}, headers=headers, timeout=10).json()
    claims = customer_claims(token["access_token"], server.public_key)
    assert claims["sub"] == "C1001" and claims["typ"] == "customer" and claims["exp"] - claims["iat"] <= 300
    assert requests.get(server.url + "/me", headers=bearer(token["access_token"]), timeout=10).json()["customer_id"] == "C1001"

    replaced = requests.post(f"{url}/bindings", json={"openid": openid, "customer_id": "C1003"}, headers=headers,
                             timeout=10)
    assert replaced.json()["customer_id"] == "C1003"
    token = requests.post(f"{url}/token", json={"openid": openid}, headers=headers, timeout=10).json()
    assert token["customer_id"] == "C1003"

    assert requests.delete(f"{url}/bindings/{openid}", headers=headers, timeout=10).status_code == 204
    assert requests.get(f"{url}/bindings/{openid}", headers=headers, timeout=10).status_code == 404


def test_binding_input_is_validated(server):
    headers = server.service_headers()
    url = server.url + "/internal/wechat/bindings"
    unknown = requests.post(url, json={"openid": "oX1", "customer_id": "C9999"}, headers=headers, timeout=10)
    assert unknown.status_code == 404
    for body in ({"openid": "bad openid!", "customer_id": "C1001"}, {"openid": "o" * 65, "customer_id": "C1001"},
                 {"openid": "oX1"}, {"openid": "oX1", "customer_id": ["C1001"]}):
        response = requests.post(url, json=body, headers=headers, timeout=10)
        assert response.status_code == 422, body
