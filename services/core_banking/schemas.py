"""Public HTTP models (pydantic 1): inputs (`*In`, extra fields forbidden, bounded) and
outputs (`*Out`). Outputs carry masked numbers only; the action server's client parses
responses into these same models, so they stay free of database code.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, List, Optional

from pydantic import BaseModel, Field, confloat, conint, condecimal, constr, validator

from services.openapi_docs import document_nullable


class Channel(str, Enum):
    mobile_app = "手机银行"
    online_banking = "网上银行"
    counter = "柜台"
    atm = "ATM"
    wechat = "微信"


class VerificationMethod(str, Enum):
    sms = "sms"
    ushield = "ushield"
    face = "face"


class CustomerType(str, Enum):
    individual = "个人"
    sole_proprietor = "个体工商户"
    small_business = "小微企业"


class LoanType(str, Enum):
    consumer = "个人消费贷"
    mortgage = "住房贷款"
    auto = "汽车贷款"
    business = "经营贷"


class LoanStatus(str, Enum):
    submitted = "已提交"
    in_review = "审核中"
    need_materials = "待补充材料"
    approved = "已批准"
    disbursed = "已放款"
    rejected = "已拒绝"


class TransferStatus(str, Enum):
    processing = "处理中"
    arrived = "已到账"
    failed = "失败"
    returned = "已退回"


class TransferType(str, Enum):
    realtime = "实时到账"
    normal = "普通到账"
    next_day = "次日到账"


class CardType(str, Enum):
    debit = "debit"
    credit = "credit"


class CardStatus(str, Enum):
    active = "active"
    frozen = "frozen"
    lost = "lost"


class ComplaintCategory(str, Enum):
    service = "服务态度"
    transfer = "转账汇款"
    card = "银行卡"
    loan = "贷款"
    fees = "收费"
    app = "手机银行"
    wealth = "理财"
    other = "其他"


class ComplaintStatus(str, Enum):
    accepted = "已受理"
    processing = "处理中"
    replied = "已回复"
    closed = "已关闭"


class LimitRaiseStatus(str, Enum):
    effective = "已生效"
    pending_verification = "待验证"
    needs_stronger_verification = "需升级验证方式"
    go_to_counter = "需到柜台办理"


Money = Decimal
# Bounded amount for inputs: positive, at most 2 decimals, at most 1 亿元 (rejects 1e30, NaN).
AmountIn = condecimal(gt=Decimal(0), le=Decimal(100_000_000), max_digits=12, decimal_places=2)
CustomerId = constr(strict=True, strip_whitespace=True, min_length=2, max_length=16, regex=r"^[A-Za-z0-9]+$")
OpenId = constr(strict=True, strip_whitespace=True, min_length=1, max_length=64, regex=r"^[A-Za-z0-9_-]+$")


class InputModel(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True
        schema_extra = staticmethod(document_nullable)

    @validator("*")
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000: it was a 500 there (found by the OpenAPI fuzz test).
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


class OutputModel(BaseModel):
    class Config:
        schema_extra = staticmethod(document_nullable)


# -- auth ---------------------------------------------------------------------------------
class LoginIn(InputModel):
    username: constr(strict=True, min_length=1, max_length=32)
    password: constr(strict=True, min_length=1, max_length=128)


class TokenOut(OutputModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(..., description="seconds")
    customer_id: str


# -- customers and accounts -------------------------------------------------------------
class CustomerOut(OutputModel):
    customer_id: str
    name: str
    customer_type: CustomerType
    profile: str
    mobile_masked: str
    id_number_masked: str
    verification_methods: List[str]


class AccountOut(OutputModel):
    account_id: str
    account_type: str
    account_last4: str
    masked_account_number: str
    currency: str
    balance: Money
    available_balance: Money


# -- limits --------------------------------------------------------------------------------
class TransferLimitOut(OutputModel):
    channel: Channel
    verification: str = Field(..., description="sms / ushield / face / pin / in_person")
    single_limit: Money
    daily_limit: Money
    used_today: Money
    remaining_today: Money
    max_transfer_now: Money = Field(..., description="min(single_limit, remaining_today)")


class TransferLimitsOut(OutputModel):
    customer_id: str
    date: date
    limits: List[TransferLimitOut]
    note: str = ""


class LimitRaiseIn(InputModel):
    channel: Channel
    new_daily_limit: AmountIn
    verification_method: VerificationMethod


class LimitRaiseOut(OutputModel):
    request_id: str
    channel: Channel
    verification_method: VerificationMethod
    current_daily_limit: Money
    requested_daily_limit: Money
    status: LimitRaiseStatus
    next_step: str
    created_at: datetime


# -- transfers -----------------------------------------------------------------------------
class TransferOut(OutputModel):
    transfer_id: str
    amount: Money
    currency: str = "CNY"
    payee_name: str = Field(..., description="masked, e.g. 王*明")
    payee_account_last4: str
    payee_bank: str
    channel: Channel
    transfer_type: TransferType
    status: TransferStatus
    status_reason: Optional[str] = None
    created_at: datetime
    arrived_at: Optional[datetime] = None
    expected_arrival: Optional[str] = None


# -- loans ---------------------------------------------------------------------------------
class LoanProductOut(OutputModel):
    product_id: str
    loan_type: LoanType
    customer_type: CustomerType
    name: str
    max_amount: Money
    max_term_months: int
    rate_description: str
    description: str


class LoanMaterialOut(OutputModel):
    name: str
    required: bool
    note: str = ""


class LoanMaterialsOut(OutputModel):
    loan_type: LoanType
    customer_type: CustomerType
    product: Optional[LoanProductOut] = None
    materials: List[LoanMaterialOut]


class StatusEventOut(OutputModel):
    status: str
    note: str = ""
    at: datetime


class LoanOut(OutputModel):
    loan_id: str
    loan_type: LoanType
    product_name: str
    amount: Money
    term_months: int
    status: LoanStatus
    next_step: str = ""
    outstanding: Optional[Money] = None
    next_repayment_date: Optional[date] = None
    next_repayment_amount: Optional[Money] = None
    created_at: datetime
    updated_at: datetime
    history: List[StatusEventOut] = []


# -- cards ---------------------------------------------------------------------------------
class CardOut(OutputModel):
    card_id: str
    card_type: CardType
    product_name: str
    last4: str
    masked_number: str
    status: CardStatus
    credit_limit: Optional[Money] = None
    overseas_limit: Optional[Money] = None


class CardFreezeIn(InputModel):
    reason: Optional[constr(strict=True, max_length=200)] = None


class CardFreezeOut(OutputModel):
    card: CardOut
    changed: bool
    message: str


# -- complaints ----------------------------------------------------------------------------
class ComplaintIn(InputModel):
    category: ComplaintCategory
    description: constr(strict=True, min_length=2, max_length=2000)
    occurred_at: Optional[datetime] = None
    desired_outcome: Optional[constr(strict=True, max_length=500)] = None


class ComplaintOut(OutputModel):
    ticket_id: str
    category: ComplaintCategory
    description: str
    occurred_at: Optional[datetime] = None
    desired_outcome: Optional[str] = None
    status: ComplaintStatus
    created_at: datetime
    promised_reply_by: datetime
    promised_reply_text: str
    history: List[StatusEventOut] = []


class GuestComplaintIn(InputModel):
    category: ComplaintCategory
    description: constr(strict=True, min_length=2, max_length=2000)
    occurred: Optional[constr(strict=True, max_length=100)] = None
    desired_outcome: Optional[constr(strict=True, max_length=500)] = None
    contact_phone: constr(strict=True, regex=r"^1[3-9][0-9]{9}$")  # \d would take any script's digits


class GuestComplaintOut(OutputModel):
    ticket_id: str
    category: ComplaintCategory
    status: ComplaintStatus
    contact_phone_masked: str
    created_at: datetime
    promised_reply_by: datetime
    promised_reply_text: str


# -- internal --------------------------------------------------------------------------------
class WechatBindingIn(InputModel):
    openid: OpenId
    customer_id: CustomerId


class WechatBindingOut(OutputModel):
    openid: str
    customer_id: str
    bound_at: datetime


class WechatTokenIn(InputModel):
    openid: OpenId


class FaultsIn(InputModel):
    latency_ms: conint(ge=0, le=60_000) = 0
    error_rate: confloat(ge=0.0, le=1.0) = 0.0


class FaultsOut(OutputModel):
    latency_ms: int
    error_rate: float
    injected_errors: int = Field(..., description="requests answered with an injected 500 so far")
    delayed_requests: int


class HealthOut(OutputModel):
    status: str
    database: str


# -- the agent desk's customer panel (/internal/desk) ---------------------------------------
class DeskCustomerOut(OutputModel):
    customer_id: str
    name_masked: str
    customer_type: CustomerType
    profile: str


class CustomerOverviewOut(OutputModel):
    """What an agent sees beside the conversation: read-only, numbers masked."""

    customer: DeskCustomerOut
    accounts: List[AccountOut]
    transfer_limits: List[TransferLimitOut] = Field(..., description="today's limits and what is left")
    recent_transfers: List[TransferOut] = Field(..., description="newest first, at most 5")
    loans: List[LoanOut]
    open_complaints: List[ComplaintOut]


# -- errors (services/core_banking/errors.py) ------------------------------------------------
class ErrorDetailOut(OutputModel):
    field: str
    problem: str


class ErrorBodyOut(OutputModel):
    code: str = Field(..., description="e.g. not_authenticated, not_found, invalid_request, conflict")
    message: str = Field(..., description="中文 / English")
    details: Optional[List[ErrorDetailOut]] = Field(None, description="invalid_request: what is wrong where")


class ErrorOut(OutputModel):
    error: ErrorBodyOut
