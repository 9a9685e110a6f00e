"""Start-up: configuration errors, idempotent seeding, PostgreSQL, masked logs."""
from __future__ import annotations


import pytest
import requests

from services.core_banking import seed as seed_data
from tests.services.core_banking.conftest import bearer
from tests.services.core_banking.server import CoreBankingServer, free_port, run_command, service_env
from tests.support.postgres import PG_URL, pg_test_schema, url_with_schema


def test_serve_without_secrets_fails_with_a_clear_message(tmp_path):
    env = service_env(tmp_path, CORE_BANKING_JWT_PRIVATE_KEY="", CORE_BANKING_SERVICE_TOKEN="")
    result = run_command(env, "serve", "--port", str(free_port()), timeout=60)
    assert result.returncode == 2
    assert "CORE_BANKING_JWT_PRIVATE_KEY is not set" in result.stderr
    assert "python -m bot run" in result.stderr


def test_short_secret_is_refused(tmp_path):
    env = service_env(tmp_path, CORE_BANKING_SERVICE_TOKEN="short", CORE_BANKING_JWT_PRIVATE_KEY="abc123")
    result = run_command(env, "serve", "--port", str(free_port()), timeout=60)
    assert result.returncode == 2 and "shorter than" in result.stderr and "64 hex characters" in result.stderr


def _counts(database_url: str) -> dict:
    from sqlalchemy import create_engine, func, select

    from services.core_banking import models

    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            return {table.name: connection.scalar(select(func.count()).select_from(table))
                    for table in models.Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_seed_command_is_idempotent(tmp_path):
    env = service_env(tmp_path)
    first = run_command(env, "seed")
    assert first.returncode == 0, first.stderr
    counts = _counts(env["CORE_BANKING_DATABASE_URL"])
    second = run_command(env, "seed")
    assert second.returncode == 0, second.stderr
    assert _counts(env["CORE_BANKING_DATABASE_URL"]) == counts
    assert counts["cb_customers"] == 4 and counts["cb_loan_products"] == len(seed_data.LOAN_PRODUCTS)


def test_default_database_is_sqlite_under_run_dir(tmp_path):
    env = service_env(tmp_path)
    env.pop("CORE_BANKING_DATABASE_URL")
    result = run_command(env, "seed")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "core_banking.db").exists()


@pytest.fixture()
def pg_schema():
    with pg_test_schema("cbtest_") as schema:
        yield url_with_schema(PG_URL, schema)


def test_postgresql(tmp_path, pg_schema):
    with CoreBankingServer(tmp_path, database_url=pg_schema) as server:
        c1001, c1003 = server.login("C1001"), server.login("C1003")
        limits = requests.get(server.url + "/me/transfer-limits", headers=bearer(c1001), timeout=10).json()
        mobile = next(x for x in limits["limits"] if x["channel"] == "手机银行")
        assert (mobile["daily_limit"], mobile["remaining_today"]) == (5000, 4000)
        created = requests.post(server.url + "/me/complaints", headers=bearer(c1001), timeout=10,
                                json={"category": "银行卡", "description": "ATM 吞卡"}).json()
        got = requests.get(server.url + f"/me/complaints/{created['ticket_id']}", headers=bearer(c1001), timeout=10)
        assert got.status_code == 200 and got.json()["history"][0]["status"] == "已受理"
        assert requests.get(server.url + f"/me/complaints/{created['ticket_id']}", headers=bearer(c1003),
                            timeout=10).status_code == 404
        frozen = requests.post(server.url + "/me/cards/K1003/freeze", headers=bearer(c1003), timeout=10).json()
        assert frozen["card"]["status"] == "frozen"
        today = limits["date"]
        rows = requests.get(server.url + "/me/transfers", params={"date": today, "amount": "1000"},
                            headers=bearer(c1001), timeout=10).json()
        assert len(rows) == 1
        counts = _counts(pg_schema)
    result = run_command(server.env, "seed")
    assert result.returncode == 0, result.stderr
    assert _counts(pg_schema) == counts
    assert counts["cb_complaints"] == 2


SECRET_NUMBERS = ([c["mobile"] for c in seed_data.CUSTOMERS] + [c["id_number"] for c in seed_data.CUSTOMERS]
                  + [c["card_number"] for c in seed_data.CARDS] + [a["account_number"] for a in seed_data.ACCOUNTS])


def test_logs_never_contain_full_numbers(server, tokens):
    # Numbers in a path reach the access log: they must be masked there.
    card = seed_data.CARDS[0]["card_number"]
    requests.get(server.url + f"/me/cards/{card}", headers=bearer(tokens["C1001"]), timeout=10)
    requests.get(server.url + "/internal/wechat/bindings/13905711001", headers=server.service_headers(), timeout=10)
    requests.post(server.url + "/me/complaints", headers=bearer(tokens["C1001"]), timeout=10,
                  json={"category": "其他", "description": f"卡号{card} 手机13905711001"})
    log = server.log_text()
    assert "/me/cards/**** **** **** 1001" in log
    for number in SECRET_NUMBERS:
        assert number not in log
