"""SQLAlchemy models. Internal fields (full card/account/ID/mobile numbers, password hashes)
live here only; `schemas.py` decides what leaves the service.

Money is stored as integer fen (1 元 = 100 fen); times as naive UTC and read back as
China Standard Time (UTC+8) aware datetimes.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import List, Optional

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

CST = timezone(timedelta(hours=8), name="Asia/Shanghai")

Base = declarative_base()


def now_cst() -> datetime:
    return datetime.now(CST)


class CSTDateTime(TypeDecorator):
    """Stores UTC without a zone (portable across SQLite/PostgreSQL), returns CST-aware values."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=CST)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc).astimezone(CST)


class Customer(Base):
    __tablename__ = "cb_customers"

    id = Column(String(16), primary_key=True)
    name = Column(String(100), nullable=False)
    customer_type = Column(String(16), nullable=False)  # 个人 / 个体工商户 / 小微企业
    profile = Column(String(200), nullable=False, default="")
    mobile = Column(String(20), nullable=False)
    id_number = Column(String(32), nullable=False)  # ID card or unified social credit code
    password_hash = Column(String(200), nullable=False)
    verification_methods = Column(String(64), nullable=False, default="sms")  # comma separated
    created_at = Column(CSTDateTime, nullable=False, default=now_cst)

    accounts: List["Account"] = relationship("Account", back_populates="customer", order_by="Account.id")


class Account(Base):
    __tablename__ = "cb_accounts"

    id = Column(String(16), primary_key=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    account_type = Column(String(32), nullable=False)
    account_number = Column(String(32), nullable=False)
    currency = Column(String(3), nullable=False, default="CNY")
    balance_fen = Column(BigInteger, nullable=False, default=0)
    available_fen = Column(BigInteger, nullable=False, default=0)
    opened_at = Column(CSTDateTime, nullable=False, default=now_cst)

    customer = relationship("Customer", back_populates="accounts")


class TransferLimit(Base):
    __tablename__ = "cb_transfer_limits"
    __table_args__ = (UniqueConstraint("customer_id", "channel", name="uq_cb_limit_channel"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    verification = Column(String(16), nullable=False)  # sms / ushield / face / none
    single_limit_fen = Column(BigInteger, nullable=False)
    daily_limit_fen = Column(BigInteger, nullable=False)
    used_today_fen = Column(BigInteger, nullable=False, default=0)
    usage_date = Column(Date, nullable=True)  # CST date `used_today_fen` belongs to


class LimitRaiseRequest(Base):
    __tablename__ = "cb_limit_raise_requests"

    id = Column(String(24), primary_key=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    verification = Column(String(16), nullable=False)
    current_daily_limit_fen = Column(BigInteger, nullable=False)
    requested_daily_limit_fen = Column(BigInteger, nullable=False)
    status = Column(String(16), nullable=False)
    next_step = Column(String(300), nullable=False)
    created_at = Column(CSTDateTime, nullable=False, default=now_cst)


class Transfer(Base):
    __tablename__ = "cb_transfers"

    id = Column(String(24), primary_key=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    from_account_id = Column(String(16), ForeignKey("cb_accounts.id"), nullable=False)
    amount_fen = Column(BigInteger, nullable=False)
    payee_name = Column(String(100), nullable=False)
    payee_account = Column(String(32), nullable=False)
    payee_bank = Column(String(100), nullable=False)
    channel = Column(String(16), nullable=False)
    transfer_type = Column(String(16), nullable=False)  # 实时到账 / 普通到账 / 次日到账
    status = Column(String(16), nullable=False)  # 处理中 / 已到账 / 失败 / 已退回
    status_reason = Column(String(200), nullable=True)
    created_at = Column(CSTDateTime, nullable=False, index=True)
    arrived_at = Column(CSTDateTime, nullable=True)
    expected_arrival = Column(String(100), nullable=True)


class LoanProduct(Base):
    __tablename__ = "cb_loan_products"
    __table_args__ = (UniqueConstraint("loan_type", "customer_type", name="uq_cb_loan_product"),)

    id = Column(String(16), primary_key=True)
    loan_type = Column(String(16), nullable=False)
    customer_type = Column(String(16), nullable=False)
    name = Column(String(100), nullable=False)
    max_amount_fen = Column(BigInteger, nullable=False)
    max_term_months = Column(Integer, nullable=False)
    rate_description = Column(String(200), nullable=False)
    description = Column(String(500), nullable=False)


class LoanMaterial(Base):
    __tablename__ = "cb_loan_materials"
    __table_args__ = (UniqueConstraint("loan_type", "customer_type", "name", name="uq_cb_loan_material"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    loan_type = Column(String(16), nullable=False, index=True)
    customer_type = Column(String(16), nullable=False)
    name = Column(String(100), nullable=False)
    required = Column(Boolean, nullable=False, default=True)
    note = Column(String(300), nullable=False, default="")
    sort_order = Column(Integer, nullable=False, default=0)


class LoanApplication(Base):
    __tablename__ = "cb_loan_applications"

    id = Column(String(24), primary_key=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    loan_type = Column(String(16), nullable=False)
    product_name = Column(String(100), nullable=False)
    amount_fen = Column(BigInteger, nullable=False)
    term_months = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False)
    next_step = Column(String(300), nullable=False, default="")
    outstanding_fen = Column(BigInteger, nullable=True)
    next_repayment_date = Column(Date, nullable=True)
    next_repayment_fen = Column(BigInteger, nullable=True)
    created_at = Column(CSTDateTime, nullable=False)
    updated_at = Column(CSTDateTime, nullable=False)

    history: List["LoanStatusEvent"] = relationship(
        "LoanStatusEvent", order_by="LoanStatusEvent.at", cascade="all, delete-orphan")


class LoanStatusEvent(Base):
    __tablename__ = "cb_loan_status_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    application_id = Column(String(24), ForeignKey("cb_loan_applications.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False)
    note = Column(String(300), nullable=False, default="")
    at = Column(CSTDateTime, nullable=False)


class Card(Base):
    __tablename__ = "cb_cards"

    id = Column(String(16), primary_key=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    card_type = Column(String(8), nullable=False)  # debit / credit
    product_name = Column(String(100), nullable=False)
    card_number = Column(String(24), nullable=False)
    status = Column(String(8), nullable=False, default="active")  # active / frozen / lost
    account_id = Column(String(16), ForeignKey("cb_accounts.id"), nullable=True)
    credit_limit_fen = Column(BigInteger, nullable=True)
    overseas_limit_fen = Column(BigInteger, nullable=True)
    frozen_at = Column(CSTDateTime, nullable=True)
    # Masked free text is Text: masking can lengthen it (a 16-digit card number becomes 19
    # characters), so a String(n) as long as the input limit overflowed (a 500 on PostgreSQL).
    freeze_reason = Column(Text, nullable=True)


class Complaint(Base):
    __tablename__ = "cb_complaints"

    ticket_id = Column(String(24), primary_key=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    category = Column(String(16), nullable=False)
    description = Column(Text, nullable=False)
    occurred_at = Column(CSTDateTime, nullable=True)
    desired_outcome = Column(Text, nullable=True)  # masked (see Card.freeze_reason)
    status = Column(String(8), nullable=False)
    created_at = Column(CSTDateTime, nullable=False)
    promised_reply_by = Column(CSTDateTime, nullable=False)

    history: List["ComplaintEvent"] = relationship(
        "ComplaintEvent", order_by="ComplaintEvent.id", cascade="all, delete-orphan")


class ComplaintEvent(Base):
    __tablename__ = "cb_complaint_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(String(24), ForeignKey("cb_complaints.ticket_id"), nullable=False, index=True)
    status = Column(String(8), nullable=False)
    note = Column(String(300), nullable=False, default="")
    at = Column(CSTDateTime, nullable=False)


class GuestComplaint(Base):
    """A complaint from someone who is not logged in: the bank calls them back on the phone given."""

    __tablename__ = "cb_guest_complaints"

    ticket_id = Column(String(24), primary_key=True)
    contact_phone = Column(String(20), nullable=False)
    category = Column(String(16), nullable=False)
    description = Column(Text, nullable=False)
    occurred = Column(Text, nullable=True)  # as the customer said it ("昨天下午"), masked
    desired_outcome = Column(Text, nullable=True)  # masked (see Card.freeze_reason)
    status = Column(String(8), nullable=False)
    created_at = Column(CSTDateTime, nullable=False)
    promised_reply_by = Column(CSTDateTime, nullable=False)


class WechatBinding(Base):
    __tablename__ = "cb_wechat_bindings"

    openid = Column(String(64), primary_key=True)
    customer_id = Column(String(16), ForeignKey("cb_customers.id"), nullable=False, index=True)
    bound_at = Column(CSTDateTime, nullable=False)
