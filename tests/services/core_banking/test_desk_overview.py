"""The agent desk's customer panel: only with the desk's own token, one customer, masked."""
from __future__ import annotations

import re

import requests

from tests.services.core_banking.conftest import bearer


def overview(server, customer_id: str, token: str) -> requests.Response:
    return requests.get(f"{server.url}/internal/desk/customers/{customer_id}/overview",
                        headers={**bearer(token), "X-Desk-Agent": "agent1"}, timeout=10)


def test_the_desk_reads_one_customers_overview_masked(server):
    r = overview(server, "C1001", server.desk_token)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["customer"]["customer_id"] == "C1001" and "*" in data["customer"]["name_masked"]
    assert data["accounts"] and all(re.fullmatch(r"\*{4} \*{4} \*{4} \d{4}", a["masked_account_number"])
                                    for a in data["accounts"])
    assert {row["channel"] for row in data["transfer_limits"]} and all("remaining_today" in row
                                                                       for row in data["transfer_limits"])
    assert len(data["recent_transfers"]) <= 5
    text = r.text
    assert not re.search(r"\d{16,19}", text)  # no full card or account number anywhere
    others = overview(server, "C1003", server.desk_token).json()
    assert {t["transfer_id"] for t in others["recent_transfers"]}.isdisjoint(
        {t["transfer_id"] for t in data["recent_transfers"]})


def test_only_the_desk_token_opens_it(server, tokens):
    for token in (server.service_token, tokens["C1001"], "desk-forged-0123456789abcdef"):
        r = overview(server, "C1001", token)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated", token[:8]
    assert requests.get(f"{server.url}/internal/desk/customers/C1001/overview", timeout=10).status_code == 401
    missing = overview(server, "C9999", server.desk_token)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # the desk token opens nothing else
    assert requests.get(f"{server.url}/internal/wechat/bindings/abc", headers=bearer(server.desk_token),
                        timeout=10).status_code == 401
    assert requests.get(f"{server.url}/me", headers=bearer(server.desk_token), timeout=10).status_code == 401
