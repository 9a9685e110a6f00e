"""The typed core-banking client against the real service (subprocess on a free port):
typed answers, exception mapping, timeouts and the retry policy (GET yes, POST never)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterator

import pytest

from actions import core_banking_client as cbc
from actions.core_banking_client import (CoreBankingClient, CoreBankingUnavailable, InvalidRequest, NotAuthenticated,
                                         NotFound)
from tests.services.core_banking.server import CoreBankingServer, free_port

CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreBankingServer]:
    with CoreBankingServer(tmp_path_factory.mktemp("core-banking-client")) as running:
        yield running


@pytest.fixture()
def client(server: CoreBankingServer) -> Iterator[CoreBankingClient]:
    server.set_faults(0, 0.0)
    client = CoreBankingClient(server.url, service_token=server.service_token, connect_timeout=1.0,
                               read_timeout=1.0, backoff_factor=0.0)
    yield client
    client.close()
    server.set_faults(0, 0.0)


@pytest.fixture(scope="module")
def token(server: CoreBankingServer) -> str:
    return server.login("C1001")


def test_typed_answers_for_c1001(client, token):
    me = client.me(token)
    assert isinstance(me, cbc.CustomerOut) and me.customer_id == "C1001" and me.name == "王秀英"
    accounts = client.accounts(token)
    assert accounts[0].account_last4 == "1001" and accounts[0].balance == Decimal("86500")
    limits = client.transfer_limits(token)
    mobile = next(x for x in limits.limits if x.channel is cbc.Channel.mobile_app)
    assert (mobile.daily_limit, mobile.used_today, mobile.remaining_today) == (5000, 1000, 4000)
    today = datetime.now(CST).date()
    (transfer,) = client.transfers(token, amount=Decimal("1000"), on_date=today)
    assert transfer.status is cbc.TransferStatus.arrived and transfer.created_at.date() == today
    assert client.transfer(token, transfer.transfer_id) == transfer
    assert [card.last4 for card in client.cards(token)] == ["1001"]
    assert client.loans(token) == []


def test_login_and_loans_with_history(client):
    token = client.login("C1002", "demo1234").access_token
    (loan,) = client.loans(token)
    assert loan.status is cbc.LoanStatus.in_review
    assert [event.status for event in client.loan(token, loan.loan_id).history] == ["已提交", "待补充材料", "审核中"]
    with pytest.raises(NotAuthenticated):
        client.login("C1002", "wrong-password")


def test_loan_materials_with_the_service_token(client):
    materials = client.loan_materials(cbc.LoanType.business, cbc.CustomerType.sole_proprietor)
    assert materials.product.name and any(m.name.startswith("营业执照") for m in materials.materials)
    assert client.loan_products(customer_type="小微企业")
    with pytest.raises(NotFound):
        client.loan_materials("住房贷款", "小微企业")
    with pytest.raises(InvalidRequest) as info:
        client.loan_materials("彩票贷", "个人")
    assert info.value.status_code == 422 and "loan_type" in info.value.message


def test_complaint_create_list_get(client, server):
    token = server.login("C1004")
    created = client.create_complaint(token, category=cbc.ComplaintCategory.fees, description="对公账户管理费多扣了",
                                      occurred_at=datetime.now(CST) - timedelta(days=1), desired_outcome="退费")
    assert created.status is cbc.ComplaintStatus.accepted and created.ticket_id.startswith("TS")
    assert created.ticket_id in [c.ticket_id for c in client.complaints(token)]
    assert client.complaint(token, created.ticket_id) == created


def test_freeze_card_and_limit_raise(client, server):
    token = server.login("C1002")
    result = client.freeze_card(token, "K1002", reason="手机丢了")
    assert result.changed is True and result.card.status is cbc.CardStatus.frozen
    assert client.freeze_card(token, "K1002").changed is False
    raised = client.request_limit_raise(token, channel="微信", new_daily_limit=20000,
                                        verification_method=cbc.VerificationMethod.sms)
    assert raised.status is cbc.LimitRaiseStatus.needs_stronger_verification and raised.next_step


def test_wechat_binding_and_token(client):
    openid = "oClientTest0001"
    with pytest.raises(NotFound):
        client.wechat_binding(openid)
    with pytest.raises(NotFound):
        client.wechat_token(openid)
    assert client.bind_wechat(openid, "C1003").customer_id == "C1003"
    assert client.wechat_binding(openid).customer_id == "C1003"
    token = client.wechat_token(openid)
    assert token.expires_in <= 300 and client.me(token.access_token).customer_id == "C1003"
    client.unbind_wechat(openid)
    with pytest.raises(NotFound):
        client.wechat_binding(openid)


def test_error_mapping(client, token, server):
    with pytest.raises(NotAuthenticated):
        client.me("forged.token.value")
    with pytest.raises(NotAuthenticated):
        client.me("")
    with pytest.raises(NotAuthenticated):
        CoreBankingClient(server.url, service_token="wrong-token-value-1234").faults()
    with pytest.raises(NotFound) as info:
        client.transfer(token, "TR100201")  # C1002's transfer
    assert info.value.status_code == 404 and info.value.code == "not_found"
    with pytest.raises(NotFound):
        client.complaint(token, "../internal/faults")  # one path segment, never a different route
    with pytest.raises(InvalidRequest) as info:
        client.request_limit_raise(token, channel="手机银行", new_daily_limit="1e30", verification_method="sms")
    assert "new_daily_limit" in info.value.message
    with pytest.raises(InvalidRequest):
        client.create_complaint(token, category="其他", description="x" * 3000)
    assert issubclass(CoreBankingUnavailable, cbc.CoreBankingError) and issubclass(NotFound, cbc.CoreBankingError)


def test_connection_refused_is_unavailable():
    client = CoreBankingClient(f"http://127.0.0.1:{free_port()}", service_token="x" * 20, backoff_factor=0.0)
    with pytest.raises(CoreBankingUnavailable) as info:
        client.me("some-token")
    assert info.value.__cause__ is not None  # converted at the boundary, cause kept
    with pytest.raises(CoreBankingUnavailable):
        client.create_complaint("some-token", category="其他", description="连接不上")


def test_latency_beyond_the_timeout_is_unavailable_within_the_timeout(client, server, token):
    server.set_faults(latency_ms=4000)
    delayed_before = server.faults()["delayed_requests"]
    started = time.monotonic()
    with pytest.raises(CoreBankingUnavailable) as info:
        client.accounts(token)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0  # read timeout is 1 s; no retry after a read timeout
    assert "timed out" in info.value.message
    assert server.faults()["delayed_requests"] == delayed_before + 1


def test_500_is_unavailable_and_get_is_retried_but_post_is_not(client, server, token):
    server.set_faults(error_rate=1.0)
    before = server.faults()["injected_errors"]
    with pytest.raises(CoreBankingUnavailable) as info:
        client.accounts(token)
    assert info.value.status_code == 500 and info.value.code == "injected_fault"
    after_get = server.faults()["injected_errors"]
    assert after_get - before == 1 + cbc.GET_RETRIES
    with pytest.raises(CoreBankingUnavailable):
        client.create_complaint(token, category="其他", description="只应发送一次")
    with pytest.raises(CoreBankingUnavailable):
        client.freeze_card(token, "K1001")
    assert server.faults()["injected_errors"] - after_get == 2
    server.set_faults(error_rate=0.0)
    assert client.me(token).customer_id == "C1001"


def test_get_client_uses_the_shared_settings(server, token, monkeypatch):
    from bot import settings as bot_settings

    monkeypatch.setenv("CORE_BANKING_URL", server.url + "/")
    monkeypatch.setenv("CORE_BANKING_SERVICE_TOKEN", server.service_token)
    monkeypatch.setenv("CORE_BANKING_TIMEOUT_SECONDS", "1.5")
    bot_settings.get_settings.cache_clear()
    cbc.get_client.cache_clear()
    try:
        client = cbc.get_client()
        assert client is cbc.get_client()
        assert client.base_url == server.url and client.timeout == (1.0, 1.5)
        assert client.me(token).customer_id == "C1001"
        assert client.faults().error_rate == 0
    finally:
        cbc.get_client.cache_clear()
        bot_settings.get_settings.cache_clear()
