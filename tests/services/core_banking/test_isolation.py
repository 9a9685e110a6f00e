"""A customer's token never reaches another customer's data: other customers' ids answer
exactly like ids that do not exist (404, same body), never 200 or 403."""
from __future__ import annotations

import pytest
import requests

from tests.services.core_banking.conftest import bearer

# Resources belonging to C1002 / C1003, read with C1001's token.
FOREIGN = [
    ("GET", "/me/transfers/TR100201", "/me/transfers/TR999999"),
    ("GET", "/me/transfers/TR100301", "/me/transfers/TR999998"),
    ("GET", "/me/loans/L100201", "/me/loans/L999999"),
    ("GET", "/me/loans/L100301", "/me/loans/L999998"),
    ("GET", "/me/cards/K1002", "/me/cards/K9999"),
    ("GET", "/me/cards/K1004", "/me/cards/K9998"),
    ("POST", "/me/cards/K1002/freeze", "/me/cards/K9999/freeze"),
    ("GET", "/me/complaints/TS202611020001", "/me/complaints/TS209901010001"),
]


@pytest.mark.parametrize("method,foreign,missing", FOREIGN, ids=[f for _, f, _ in FOREIGN])
def test_foreign_ids_look_like_missing_ids(server, tokens, method, foreign, missing):
    headers = bearer(tokens["C1001"])
    got = requests.request(method, server.url + foreign, headers=headers, json={} if method == "POST" else None,
                           timeout=10)
    absent = requests.request(method, server.url + missing, headers=headers, json={} if method == "POST" else None,
                              timeout=10)
    assert got.status_code == 404, got.text
    assert got.json() == absent.json()


def test_foreign_card_is_not_frozen_by_another_customer(server, tokens):
    requests.post(server.url + "/me/cards/K1002/freeze", headers=bearer(tokens["C1001"]), timeout=10)
    cards = requests.get(server.url + "/me/cards", headers=bearer(tokens["C1002"]), timeout=10).json()
    assert [c["status"] for c in cards if c["card_id"] == "K1002"] == ["active"]


def test_new_complaint_is_visible_only_to_its_owner(server, tokens):
    created = requests.post(server.url + "/me/complaints", headers=bearer(tokens["C1003"]),
                            json={"category": "手机银行", "description": "APP 登录总是闪退"}, timeout=10).json()
    ticket = created["ticket_id"]
    assert requests.get(server.url + f"/me/complaints/{ticket}", headers=bearer(tokens["C1003"]),
                        timeout=10).status_code == 200
    assert requests.get(server.url + f"/me/complaints/{ticket}", headers=bearer(tokens["C1001"]),
                        timeout=10).status_code == 404
    listed = requests.get(server.url + "/me/complaints", headers=bearer(tokens["C1001"]), timeout=10).json()
    assert ticket not in [c["ticket_id"] for c in listed]


@pytest.mark.parametrize("path,key,own", [
    ("/me/accounts", "account_id", {"C1001": {"A1001"}, "C1002": {"A1002"}, "C1003": {"A1003"}, "C1004": {"A1004"}}),
    ("/me/cards", "card_id", {"C1001": {"K1001"}, "C1002": {"K1002"}, "C1003": {"K1003", "K1004"}, "C1004": set()}),
    ("/me/loans", "loan_id", {"C1001": set(), "C1002": {"L100201"}, "C1003": {"L100301"}, "C1004": set()}),
])
def test_lists_contain_only_own_rows(server, tokens, path, key, own):
    for customer, expected in own.items():
        rows = requests.get(server.url + path, headers=bearer(tokens[customer]), timeout=10).json()
        assert {row[key] for row in rows} == expected, customer


def test_transfer_lists_contain_only_own_rows(server, tokens):
    ids = {}
    for customer in ("C1001", "C1002", "C1003", "C1004"):
        rows = requests.get(server.url + "/me/transfers?limit=100", headers=bearer(tokens[customer]), timeout=10).json()
        ids[customer] = {row["transfer_id"] for row in rows}
        assert ids[customer], customer
    assert "TR100101" in ids["C1001"] and "TR100201" in ids["C1002"]
    for a in ids:
        for b in ids:
            if a != b:
                assert not ids[a] & ids[b]
    for customer, token in tokens.items():
        me = requests.get(server.url + "/me", headers=bearer(token), timeout=10).json()
        assert me["customer_id"] == customer
