"""The resources' behaviour with the seeded demo data, and input validation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.services.core_banking.conftest import bearer

CST = timezone(timedelta(hours=8))


def get(server, token, path, **params):
    return requests.get(server.url + path, headers=bearer(token), params=params, timeout=10)


def post(server, token, path, body=None, **kwargs):
    return requests.post(server.url + path, headers=bearer(token), json=body, timeout=10, **kwargs)


def test_c1001_mobile_banking_limit_is_5000_with_4000_left_today(server, tokens):
    body = get(server, tokens["C1001"], "/me/transfer-limits").json()
    assert body["date"] == datetime.now(CST).date().isoformat()
    mobile = next(limit for limit in body["limits"] if limit["channel"] == "手机银行")
    assert mobile["verification"] == "sms"
    assert (mobile["single_limit"], mobile["daily_limit"]) == (5000, 5000)
    assert (mobile["used_today"], mobile["remaining_today"], mobile["max_transfer_now"]) == (1000, 4000, 4000)
    assert {limit["channel"] for limit in body["limits"]} == {"手机银行", "网上银行", "柜台", "ATM", "微信"}


def test_todays_1000_transfer_is_in_the_history(server, tokens):
    today = datetime.now(CST).date().isoformat()
    rows = get(server, tokens["C1001"], "/me/transfers", amount="1000", date=today).json()
    assert len(rows) == 1
    transfer = rows[0]
    assert transfer["amount"] == 1000 and transfer["status"] == "已到账" and transfer["channel"] == "手机银行"
    assert transfer["payee_name"] == "王*明" and len(transfer["payee_account_last4"]) == 4
    assert get(server, tokens["C1001"], f"/me/transfers/{transfer['transfer_id']}").json() == transfer


def test_transfers_cover_every_status_and_are_newest_first(server, tokens):
    statuses = set()
    for customer in ("C1001", "C1002", "C1003"):
        rows = get(server, tokens[customer], "/me/transfers").json()
        created = [row["created_at"] for row in rows]
        assert created == sorted(created, reverse=True)
        statuses |= {row["status"] for row in rows}
    assert statuses == {"处理中", "已到账", "失败", "已退回"}
    assert len(get(server, tokens["C1001"], "/me/transfers", limit=1).json()) == 1


def test_accounts_show_balances_and_last4_only(server, tokens):
    accounts = get(server, tokens["C1001"], "/me/accounts").json()
    assert accounts == [{
        "account_id": "A1001", "account_type": "个人结算账户（借记卡）", "account_last4": "1001",
        "masked_account_number": "**** **** **** 1001", "currency": "CNY", "balance": 86500.0,
        "available_balance": 86500.0}]


def test_me_masks_personal_numbers(server, tokens):
    me = get(server, tokens["C1002"], "/me").json()
    assert me["name"] == "李建国" and me["customer_type"] == "个体工商户"
    assert me["mobile_masked"] == "137****1002" and me["id_number_masked"].startswith("410")
    assert "*" in me["id_number_masked"] and "password_hash" not in me and "mobile" not in me


def test_business_loan_in_review_with_history(server, tokens):
    loans = get(server, tokens["C1002"], "/me/loans").json()
    assert len(loans) == 1
    loan = get(server, tokens["C1002"], f"/me/loans/{loans[0]['loan_id']}").json()
    assert loan["loan_type"] == "经营贷" and loan["status"] == "审核中"
    assert [event["status"] for event in loan["history"]] == ["已提交", "待补充材料", "审核中"]
    assert loan["next_step"]


def test_consumer_loan_for_c1003_has_repayment_data(server, tokens):
    (loan,) = get(server, tokens["C1003"], "/me/loans").json()
    assert loan["loan_type"] == "个人消费贷" and loan["status"] == "已放款"
    assert loan["outstanding"] == 31250 and loan["next_repayment_amount"] == 2291.67


@pytest.mark.parametrize("loan_type,customer_type,expected", [
    ("经营贷", "个体工商户", "营业执照（正本或副本）"),
    ("经营贷", "小微企业", "公司章程"),
    ("住房贷款", "个人", "购房合同"),
    ("个人消费贷", "个人", "工作证明"),
    ("汽车贷款", "个人", "驾驶证"),
])
def test_loan_materials_by_loan_and_customer_type(server, tokens, loan_type, customer_type, expected):
    for headers in (server.service_headers(), bearer(tokens["C1001"])):
        response = requests.get(server.url + "/loan-products/materials", headers=headers, timeout=10,
                                params={"loan_type": loan_type, "customer_type": customer_type})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["product"]["loan_type"] == loan_type and body["product"]["customer_type"] == customer_type
        assert expected in [material["name"] for material in body["materials"]]


def test_loan_materials_for_a_combination_without_product_is_a_clear_404(server):
    response = requests.get(server.url + "/loan-products/materials", headers=server.service_headers(), timeout=10,
                            params={"loan_type": "住房贷款", "customer_type": "小微企业"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_such_product"
    assert "小微企业" in response.json()["error"]["message"]


def test_loan_materials_with_unknown_loan_type_is_422_listing_the_choices(server):
    response = requests.get(server.url + "/loan-products/materials", headers=server.service_headers(), timeout=10,
                            params={"loan_type": "彩票贷", "customer_type": "个人"})
    assert response.status_code == 422
    assert "loan_type" in response.json()["error"]["message"] and "经营贷" in response.json()["error"]["message"]


def test_loan_products_filter(server):
    rows = requests.get(server.url + "/loan-products", headers=server.service_headers(), timeout=10,
                        params={"customer_type": "小微企业"}).json()
    assert rows and {row["customer_type"] for row in rows} == {"小微企业"}


def test_cards_expose_last4_and_credit_card_overseas_limit(server, tokens):
    cards = {card["card_id"]: card for card in get(server, tokens["C1003"], "/me/cards").json()}
    assert cards["K1003"]["card_type"] == "debit" and cards["K1003"]["overseas_limit"] is None
    credit = cards["K1004"]
    assert credit["card_type"] == "credit" and credit["overseas_limit"] == 20000 and credit["credit_limit"] == 50000
    assert credit["last4"] == "7784" and credit["masked_number"] == "**** **** **** 7784"
    assert "card_number" not in credit


def test_freeze_card_flow(server, tokens):
    token = tokens["C1003"]
    first = post(server, token, "/me/cards/K1004/freeze", {"reason": "卡片丢失找不到了"})
    assert first.status_code == 200, first.text
    assert first.json()["changed"] is True and first.json()["card"]["status"] == "frozen"
    assert "7784" in first.json()["message"]
    again = post(server, token, "/me/cards/K1004/freeze")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert get(server, token, "/me/cards/K1004").json()["status"] == "frozen"
    assert get(server, token, "/me/cards/K1003").json()["status"] == "active"


def test_complaint_create_list_get(server, tokens):
    token = tokens["C1002"]
    created = post(server, token, "/me/complaints", {
        "category": "转账汇款", "description": "转给供应商的钱两天了还没到，卡号 6222021202004561002",
        "occurred_at": (datetime.now(CST) - timedelta(days=2)).isoformat(), "desired_outcome": "尽快到账"})
    assert created.status_code == 201, created.text
    ticket = created.json()
    today = datetime.now(CST).strftime("%Y%m%d")
    assert ticket["ticket_id"].startswith("TS" + today) and len(ticket["ticket_id"]) == 14
    assert ticket["status"] == "已受理" and [e["status"] for e in ticket["history"]] == ["已受理"]
    assert "6222021202004561002" not in ticket["description"] and "1002" in ticket["description"]
    assert "2个工作日" in ticket["promised_reply_text"]
    reply_by = datetime.fromisoformat(ticket["promised_reply_by"])
    assert reply_by.weekday() < 5 and reply_by > datetime.now(CST)
    listed = get(server, token, "/me/complaints").json()
    assert listed[0]["ticket_id"] == ticket["ticket_id"]
    assert "TS202611020001" in [c["ticket_id"] for c in listed]
    assert get(server, token, f"/me/complaints/{ticket['ticket_id']}").json() == ticket


def test_ticket_ids_are_unique(server, tokens):
    ids = {post(server, tokens["C1004"], "/me/complaints", {"category": "其他", "description": f"第{i}次投诉"})
           .json()["ticket_id"] for i in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("body,status", [
    ({"channel": "手机银行", "new_daily_limit": 20000, "verification_method": "sms"}, "需升级验证方式"),
    ({"channel": "手机银行", "new_daily_limit": 20000, "verification_method": "face"}, "待验证"),
    ({"channel": "手机银行", "new_daily_limit": 20000, "verification_method": "ushield"}, "需到柜台办理"),
    ({"channel": "手机银行", "new_daily_limit": 3000, "verification_method": "sms"}, "已生效"),
])
def test_limit_raise_request_for_c1001(server, tokens, body, status):
    response = post(server, tokens["C1001"], "/me/limit-raise-requests", body)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["status"] == status and result["next_step"]
    assert result["requested_daily_limit"] == body["new_daily_limit"]
    if status == "已生效":  # lowering takes effect at once; put it back for the other tests
        limits = get(server, tokens["C1001"], "/me/transfer-limits").json()["limits"]
        assert next(x for x in limits if x["channel"] == "手机银行")["daily_limit"] == 3000
        post(server, tokens["C1001"], "/me/limit-raise-requests",
             {"channel": "手机银行", "new_daily_limit": 5000, "verification_method": "sms"})


@pytest.mark.parametrize("path,body,field", [
    ("/me/limit-raise-requests", {"channel": "手机银行", "new_daily_limit": 1e30, "verification_method": "sms"},
     "new_daily_limit"),
    ("/me/limit-raise-requests", {"channel": "手机银行", "new_daily_limit": "很多", "verification_method": "sms"},
     "new_daily_limit"),
    ("/me/limit-raise-requests", {"channel": "手机银行", "new_daily_limit": -5, "verification_method": "sms"},
     "new_daily_limit"),
    ("/me/limit-raise-requests", {"channel": "手机银行", "new_daily_limit": "NaN", "verification_method": "sms"},
     "new_daily_limit"),
    ("/me/limit-raise-requests", {"channel": "飞鸽传书", "new_daily_limit": 100, "verification_method": "sms"},
     "channel"),
    ("/me/limit-raise-requests", {"channel": "手机银行", "new_daily_limit": 100, "verification_method": "sms",
                                  "is_admin": True}, "is_admin"),
    ("/me/limit-raise-requests", {"channel": "手机银行"}, "new_daily_limit"),
    ("/me/complaints", {"category": "其他", "description": "长" * 2001}, "description"),
    ("/me/complaints", {"category": "其他", "description": ""}, "description"),
    ("/me/complaints", {"category": "不存在的类别", "description": "内容内容"}, "category"),
    ("/me/complaints", {"category": "其他", "description": 12345}, "description"),
    ("/me/complaints", {"category": "其他", "description": "内容内容", "occurred_at": "yesterday"}, "occurred_at"),
    ("/me/cards/K1001/freeze", {"reason": "x" * 201}, "reason"),
])
def test_bad_input_is_422_naming_the_field(server, tokens, path, body, field):
    response = post(server, tokens["C1001"], path, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"] and "请求参数有误" in error["message"]
    assert "长长长长" not in response.text  # the rejected value is not echoed back


@pytest.mark.parametrize("params,field", [
    ({"amount": "1e30"}, "amount"), ({"amount": "abc"}, "amount"), ({"amount": "-1"}, "amount"),
    ({"date": "2026-13-45"}, "date"), ({"limit": "1000"}, "limit"), ({"limit": "0"}, "limit"),
])
def test_bad_query_parameters_are_422(server, tokens, params, field):
    response = get(server, tokens["C1001"], "/me/transfers", **params)
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]


def test_future_occurred_at_is_refused(server, tokens):
    response = post(server, tokens["C1001"], "/me/complaints", {
        "category": "其他", "description": "内容内容", "occurred_at": "2099-01-01T00:00:00+08:00"})
    assert response.status_code == 422 and "occurred_at" in response.json()["error"]["message"]


def test_limit_raise_for_counter_is_refused_with_a_reason(server, tokens):
    response = post(server, tokens["C1001"], "/me/limit-raise-requests",
                    {"channel": "柜台", "new_daily_limit": 100000, "verification_method": "sms"})
    assert response.status_code == 422 and "柜台" in response.json()["error"]["message"]


def test_huge_body_is_413_before_validation(server, tokens):
    description = "投" * (10 * 1024 * 1024 // 3)
    response = post(server, tokens["C1001"], "/me/complaints", {"category": "其他", "description": description})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_huge_chunked_body_is_413(server, tokens):
    def chunks():
        yield b'{"category": "\xe5\x85\xb6\xe4\xbb\x96", "description": "'
        for _ in range(200):
            yield b"x" * 65536
        yield b'"}'

    response = requests.post(server.url + "/me/complaints", data=chunks(), timeout=30,
                             headers={**bearer(tokens["C1001"]), "Content-Type": "application/json"})
    assert response.status_code == 413


def test_malformed_json_is_422(server, tokens):
    response = requests.post(server.url + "/me/complaints", data=b"{not json", timeout=10,
                             headers={**bearer(tokens["C1001"]), "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


def test_overlong_path_id_is_422_and_unknown_route_is_structured_404(server, tokens):
    assert get(server, tokens["C1001"], "/me/cards/" + "K" * 500).status_code == 422
    response = get(server, tokens["C1001"], "/me/nothing-here")
    assert response.status_code == 404 and "error" in response.json()


def test_openapi_docs_are_served(server):
    assert requests.get(server.url + "/docs", timeout=10).status_code == 200
    paths = requests.get(server.url + "/openapi.json", timeout=10).json()["paths"]
    assert "/me/transfer-limits" in paths and "/internal/wechat/token" in paths
    card_schema = requests.get(server.url + "/openapi.json", timeout=10).json()["components"]["schemas"]["CardOut"]
    assert "card_number" not in card_schema["properties"]
