"""Demo data. `seed(session)` is idempotent: rows are keyed by fixed ids (or unique keys) and
only missing rows are inserted, so re-running never duplicates or overwrites what the demo
changed (a frozen card stays frozen).

`refresh_daily_usage` keeps the demo story true on any day: C1001 (王秀英) has already
transferred 1,000 元 today through 手机银行, so of her 5,000 元 daily limit 4,000 元 are left
and "我为什么转不了5000块" has a real answer.

Demo customers (password for all: demo1234, see README.md):
  C1001 王秀英  个人 (retiree, 手机银行 with SMS only: 单笔/日累计 5,000 元)
  C1002 李建国  个体工商户 (restaurant; 经营贷 application in review, with history)
  C1003 陈晓    个人 (salaried; debit + credit card, a disbursed 个人消费贷)
  C1004 杭州明远贸易有限公司  小微企业
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Dict, List, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core_banking import models as m
from services.core_banking.security import hash_password

DEMO_PASSWORD = "demo1234"

CUSTOMERS = [
    dict(id="C1001", name="王秀英", customer_type="个人", mobile="13905711001", id_number="330102195503151228",
         profile="退休人员，使用手机银行（仅短信验证码验证）", verification_methods="sms"),
    dict(id="C1002", name="李建国", customer_type="个体工商户", mobile="13705711002", id_number="410105197808082315",
         profile="个体工商户，经营一家餐馆（建国家常菜馆）", verification_methods="sms,ushield"),
    dict(id="C1003", name="陈晓", customer_type="个人", mobile="13605711003", id_number="330106199604204521",
         profile="企业职员，使用手机银行（短信验证码+人脸识别）", verification_methods="sms,face"),
    dict(id="C1004", name="杭州明远贸易有限公司", customer_type="小微企业", mobile="13505711004",
         id_number="91330106MA2H7Q3X5K", profile="小微企业（商贸），法定代表人 周明远", verification_methods="ushield"),
]

ACCOUNTS = [
    dict(id="A1001", customer_id="C1001", account_type="个人结算账户（借记卡）", account_number="6222021202004561001",
         balance=86_500_00),
    dict(id="A1002", customer_id="C1002", account_type="个人结算账户（借记卡）", account_number="6222021202004561002",
         balance=152_300_50),
    dict(id="A1003", customer_id="C1003", account_type="个人结算账户（借记卡）", account_number="6217001202004561003",
         balance=23_800_66),
    dict(id="A1004", customer_id="C1004", account_type="对公基本存款账户", account_number="33050161000000561004",
         balance=1_288_000_00),
]

CARDS = [
    dict(id="K1001", customer_id="C1001", card_type="debit", product_name="借记卡（社保卡）",
         card_number="6222021202004561001", account_id="A1001"),
    dict(id="K1002", customer_id="C1002", card_type="debit", product_name="借记卡",
         card_number="6222021202004561002", account_id="A1002"),
    dict(id="K1003", customer_id="C1003", card_type="debit", product_name="借记卡",
         card_number="6217001202004561003", account_id="A1003"),
    dict(id="K1004", customer_id="C1003", card_type="credit", product_name="信用卡（白金卡）",
         card_number="5187101202007784", credit_limit=50_000_00, overseas_limit=20_000_00),
]

# (customer, channel, verification, single yuan, daily yuan)
LIMITS: List[Tuple[str, str, str, int, int]] = [
    ("C1001", "手机银行", "sms", 5_000, 5_000),
    ("C1001", "网上银行", "sms", 5_000, 5_000),
    ("C1001", "柜台", "in_person", 1_000_000, 5_000_000),
    ("C1001", "ATM", "pin", 20_000, 50_000),
    ("C1001", "微信", "sms", 5_000, 5_000),
    ("C1002", "手机银行", "ushield", 200_000, 500_000),
    ("C1002", "网上银行", "ushield", 500_000, 1_000_000),
    ("C1002", "柜台", "in_person", 1_000_000, 5_000_000),
    ("C1002", "ATM", "pin", 20_000, 50_000),
    ("C1002", "微信", "sms", 5_000, 5_000),
    ("C1003", "手机银行", "face", 50_000, 200_000),
    ("C1003", "网上银行", "sms", 5_000, 5_000),
    ("C1003", "柜台", "in_person", 1_000_000, 5_000_000),
    ("C1003", "ATM", "pin", 20_000, 50_000),
    ("C1003", "微信", "sms", 5_000, 5_000),
    ("C1004", "手机银行", "ushield", 200_000, 500_000),
    ("C1004", "网上银行", "ushield", 1_000_000, 5_000_000),
    ("C1004", "柜台", "in_person", 10_000_000, 50_000_000),
]

# Demo daily usage re-applied every day: (customer, channel) -> yuan used today.
DAILY_USAGE = {("C1001", "手机银行"): 1_000}

# (customer, id, days ago, amount yuan, payee, payee account, bank, channel, type, status, reason, expected)
TRANSFERS = [
    ("C1001", "TR100101", 3, 2_000, "张丽", "6228480012345671001", "中国农业银行", "手机银行", "实时到账", "已到账", None, None),
    ("C1001", "TR100102", 2, 500, "王建明", "6222021202009981002", "本行", "手机银行", "普通到账", "失败",
     "收款人户名与账号不符", None),
    ("C1001", "TR100103", 6, 3_000, "刘春华", "6217858000001231003", "中国银行", "网上银行", "普通到账", "已退回",
     "收款账户已销户，资金已退回原账户", None),
    ("C1002", "TR100201", 1, 18_600, "杭州明远贸易有限公司", "33050161000000561004", "本行", "网上银行", "次日到账",
     "处理中", None, "预计下一工作日 24:00 前到账"),
    ("C1002", "TR100202", 4, 5_000, "赵德福", "6228480012345672002", "中国农业银行", "手机银行", "实时到账", "已到账", None, None),
    ("C1003", "TR100301", 0, 1_200, "孙悦", "6214830012345673001", "招商银行", "手机银行", "实时到账", "已到账", None, None),
    ("C1003", "TR100302", 0, 8_000, "陈国平", "6222021202009983002", "本行", "手机银行", "普通到账", "处理中", None,
     "预计 2 小时内到账"),
    ("C1004", "TR100401", 2, 120_000, "宁波海通物流有限公司", "39010188000000124401", "宁波银行", "网上银行", "普通到账",
     "已到账", None, None),
]

LOAN_PRODUCTS = [
    # id, loan type, customer type, name, max amount yuan, max term months, rate, description
    ("LP01", "个人消费贷", "个人", "个人消费贷款（薪易贷）", 300_000, 60, "年化利率 3.45% 起（单利）",
     "用于装修、旅游、教育、购买大件商品等个人消费，不得用于购房、投资理财"),
    ("LP02", "个人消费贷", "个体工商户", "个人消费贷款（经营者消费贷）", 200_000, 36, "年化利率 3.65% 起（单利）",
     "面向个体工商户经营者本人的个人消费用途贷款"),
    ("LP03", "住房贷款", "个人", "个人住房贷款", 10_000_000, 360, "按 LPR 加减点定价，首套房执行当地政策利率",
     "购买自住住房，首付比例和利率按当地政策执行"),
    ("LP04", "住房贷款", "个体工商户", "个人住房贷款（经营者）", 10_000_000, 360, "按 LPR 加减点定价",
     "个体工商户经营者以个人名义购买自住住房"),
    ("LP05", "汽车贷款", "个人", "个人汽车消费贷款", 1_000_000, 60, "年化利率 3.2% 起，部分车型厂商贴息",
     "购买自用新车或二手车，首付比例不低于车价的 15%（新能源车）/ 20%（燃油车）"),
    ("LP06", "汽车贷款", "个体工商户", "个人汽车消费贷款（经营者）", 1_000_000, 60, "年化利率 3.4% 起",
     "个体工商户经营者购买自用或经营用车"),
    ("LP07", "汽车贷款", "小微企业", "小微企业购车贷款", 3_000_000, 36, "年化利率 3.6% 起",
     "小微企业购买生产经营用车辆"),
    ("LP08", "经营贷", "个体工商户", "个体工商户经营贷款（商户贷）", 3_000_000, 36, "年化利率 3.5% 起，可随借随还",
     "用于店铺进货、装修、流动资金周转；可信用或抵押"),
    ("LP09", "经营贷", "小微企业", "小微企业流动资金贷款（普惠贷）", 10_000_000, 36, "年化利率 3.3% 起（普惠小微）",
     "用于企业日常生产经营周转；可信用、保证或抵押"),
]

_ID = ("本人有效身份证件（原件及复印件）", True, "二代身份证，需在有效期内")
_MARRIAGE = ("婚姻状况证明", True, "结婚证/离婚证/单身声明")
_INCOME = ("收入证明或近 6 个月工资流水", True, "单位盖章的收入证明，或代发工资账户流水")
_LICENSE = ("营业执照（正本或副本）", True, "个体工商户需经营满 1 年")
_SITE = ("经营场所证明", True, "租赁合同或产权证明")
_TURNOVER = ("近 6 个月经营流水", True, "对私或对公账户流水、收款码流水均可")
_PURPOSE = ("借款用途证明", True, "购销合同、装修合同、发票等")

MATERIALS: Dict[Tuple[str, str], List[Tuple[str, bool, str]]] = {
    ("个人消费贷", "个人"): [_ID, _INCOME, ("工作证明", True, "劳动合同或单位在职证明"), _PURPOSE,
                        ("个人征信授权书", True, "在网点或手机银行在线签署")],
    ("个人消费贷", "个体工商户"): [_ID, _LICENSE, _TURNOVER, _PURPOSE, ("个人征信授权书", True, "在线签署")],
    ("住房贷款", "个人"): [_ID, _MARRIAGE, ("户口簿", True, "本人及配偶"), ("购房合同", True, "网签备案合同"),
                       ("首付款凭证", True, "首付款发票或收据"), _INCOME],
    ("住房贷款", "个体工商户"): [_ID, _MARRIAGE, ("购房合同", True, "网签备案合同"), ("首付款凭证", True, ""),
                          _LICENSE, _TURNOVER, ("纳税证明", False, "近一年，如有")],
    ("汽车贷款", "个人"): [_ID, ("驾驶证", True, ""), ("购车合同或订单", True, "经销商盖章"),
                       ("首付款凭证", True, ""), _INCOME],
    ("汽车贷款", "个体工商户"): [_ID, ("驾驶证", True, ""), ("购车合同或订单", True, ""), _LICENSE, _TURNOVER],
    ("汽车贷款", "小微企业"): [("营业执照", True, ""), ("法定代表人身份证", True, ""), ("公司章程", True, ""),
                        ("购车合同", True, ""), ("近一年财务报表", True, ""), ("股东会或董事会借款决议", True, "")],
    ("经营贷", "个体工商户"): [("经营者本人身份证", True, "已婚需提供配偶身份证"), _LICENSE, _SITE, _TURNOVER,
                        ("行业经营许可证", False, "餐饮需《食品经营许可证》"), ("纳税证明", False, "近一年，如有"),
                        _PURPOSE, ("抵押物权属证明", False, "申请抵押贷款时提供房产证等")],
    ("经营贷", "小微企业"): [("营业执照", True, ""), ("公司章程", True, ""), ("法定代表人及实际控制人身份证", True, ""),
                       ("近两年及最近一期财务报表", True, "资产负债表、利润表"), ("近 12 个月对公账户流水", True, ""),
                       ("纳税证明", True, "近一年完税证明或纳税申报表"), ("股东会或董事会借款决议", True, ""),
                       _PURPOSE, ("抵押或担保资料", False, "抵押物权属证明或担保人资料")],
}


def _now() -> datetime:
    return m.now_cst()


def _loans(now: datetime) -> List[Tuple[dict, List[Tuple[str, str, datetime]]]]:
    next_month = (now.replace(day=1) + timedelta(days=32)).replace(day=15).date()
    return [
        (dict(id="L100201", customer_id="C1002", loan_type="经营贷", product_name="个体工商户经营贷款（商户贷）",
              amount_fen=300_000_00, term_months=36, status="审核中",
              next_step="材料已齐全，正在审批，预计 3 个工作日内出结果，结果将短信通知",
              created_at=now - timedelta(days=10), updated_at=now - timedelta(days=5)),
         [("已提交", "线上申请已提交", now - timedelta(days=10)),
          ("待补充材料", "请补充近 6 个月经营流水和《食品经营许可证》", now - timedelta(days=8)),
          ("审核中", "补充材料已收到，进入审批", now - timedelta(days=5))]),
        (dict(id="L100301", customer_id="C1003", loan_type="个人消费贷", product_name="个人消费贷款（薪易贷）",
              amount_fen=50_000_00, term_months=24, status="已放款", next_step="请按期还款，可在手机银行查看还款计划",
              outstanding_fen=31_250_00, next_repayment_date=next_month, next_repayment_fen=2_291_67,
              created_at=now - timedelta(days=270), updated_at=now - timedelta(days=265)),
         [("已提交", "手机银行申请", now - timedelta(days=270)),
          ("已批准", "审批通过，额度 50,000 元", now - timedelta(days=268)),
          ("已放款", "已放款至尾号 1003 的借记卡", now - timedelta(days=265))]),
    ]


def seed(session: Session) -> None:
    now = _now()
    for data in CUSTOMERS:
        if session.get(m.Customer, data["id"]) is None:
            session.add(m.Customer(**data, password_hash=hash_password(DEMO_PASSWORD), created_at=now))
    session.flush()
    for data in ACCOUNTS:
        if session.get(m.Account, data["id"]) is None:
            session.add(m.Account(id=data["id"], customer_id=data["customer_id"], account_type=data["account_type"],
                                  account_number=data["account_number"], balance_fen=data["balance"],
                                  available_fen=data["balance"], opened_at=now - timedelta(days=2000)))
    session.flush()
    for data in CARDS:
        if session.get(m.Card, data["id"]) is None:
            session.add(m.Card(id=data["id"], customer_id=data["customer_id"], card_type=data["card_type"],
                               product_name=data["product_name"], card_number=data["card_number"],
                               account_id=data.get("account_id"), status="active",
                               credit_limit_fen=data.get("credit_limit"), overseas_limit_fen=data.get("overseas_limit")))
    existing_limits = {(row.customer_id, row.channel) for row in session.scalars(select(m.TransferLimit))}
    for customer_id, channel, verification, single, daily in LIMITS:
        if (customer_id, channel) not in existing_limits:
            session.add(m.TransferLimit(customer_id=customer_id, channel=channel, verification=verification,
                                        single_limit_fen=single * 100, daily_limit_fen=daily * 100,
                                        used_today_fen=0, usage_date=None))
    for (customer_id, transfer_id, days_ago, amount, payee, payee_account, bank, channel, kind, status,
         reason, expected) in TRANSFERS:
        if session.get(m.Transfer, transfer_id) is None:
            created = now - timedelta(days=days_ago, hours=2 if days_ago else 0, minutes=7)
            if created.date() != (now - timedelta(days=days_ago)).date():
                created = now - timedelta(days=days_ago, minutes=1)
            session.add(m.Transfer(
                id=transfer_id, customer_id=customer_id, from_account_id="A" + customer_id[1:],
                amount_fen=amount * 100, payee_name=payee, payee_account=payee_account, payee_bank=bank,
                channel=channel, transfer_type=kind, status=status, status_reason=reason, expected_arrival=expected,
                created_at=created, arrived_at=created + timedelta(seconds=8) if status == "已到账" else None))
    for product in LOAN_PRODUCTS:
        if session.get(m.LoanProduct, product[0]) is None:
            pid, loan_type, customer_type, name, max_amount, term, rate, description = product
            session.add(m.LoanProduct(id=pid, loan_type=loan_type, customer_type=customer_type, name=name,
                                      max_amount_fen=max_amount * 100, max_term_months=term,
                                      rate_description=rate, description=description))
    existing_materials = {(row.loan_type, row.customer_type, row.name) for row in session.scalars(select(m.LoanMaterial))}
    for (loan_type, customer_type), materials in MATERIALS.items():
        for order, (name, required, note) in enumerate(materials):
            if (loan_type, customer_type, name) not in existing_materials:
                session.add(m.LoanMaterial(loan_type=loan_type, customer_type=customer_type, name=name,
                                           required=required, note=note, sort_order=order))
    for data, history in _loans(now):
        if session.get(m.LoanApplication, data["id"]) is None:
            loan = m.LoanApplication(**data)
            loan.history = [m.LoanStatusEvent(status=s, note=note, at=at) for s, note, at in history]
            session.add(loan)
    if session.get(m.Complaint, "TS202611020001") is None:
        created = now - timedelta(days=20)
        complaint = m.Complaint(
            ticket_id="TS202611020001", customer_id="C1002", category="收费",
            description="商户收款码手续费扣费与约定费率不一致", desired_outcome="退还多收的手续费",
            status="已回复", created_at=created, promised_reply_by=created + timedelta(days=2))
        complaint.history = [
            m.ComplaintEvent(status="已受理", note="投诉已受理，已转相关部门处理", at=created),
            m.ComplaintEvent(status="处理中", note="支付结算部核查中", at=created + timedelta(hours=5)),
            m.ComplaintEvent(status="已回复", note="经核实多收 36.50 元，已退回原账户", at=created + timedelta(days=1)),
        ]
        session.add(complaint)
    session.commit()
    refresh_daily_usage(session, today=now.date())


def refresh_daily_usage(session: Session, *, today: date) -> None:
    """Re-applies the demo's "already used today" amounts once per day (see module docstring)."""
    for (customer_id, channel), amount in DAILY_USAGE.items():
        limit = session.scalars(select(m.TransferLimit).where(
            m.TransferLimit.customer_id == customer_id, m.TransferLimit.channel == channel)).first()
        if limit is None or limit.usage_date == today:
            continue
        limit.used_today_fen = amount * 100
        limit.usage_date = today
        transfer_id = f"TR{today:%Y%m%d}{customer_id}"
        if session.get(m.Transfer, transfer_id) is None:
            created = max(m.now_cst() - timedelta(hours=1),
                          datetime.combine(today, datetime.min.time(), tzinfo=m.CST) + timedelta(minutes=5))
            session.add(m.Transfer(
                id=transfer_id, customer_id=customer_id, from_account_id="A" + customer_id[1:],
                amount_fen=amount * 100, payee_name="王建明", payee_account="6222021202009981002", payee_bank="本行",
                channel=channel, transfer_type="实时到账", status="已到账", created_at=created,
                arrived_at=created + timedelta(seconds=5)))
    session.commit()
