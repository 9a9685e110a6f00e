"""Database operations, keyword-only. Every customer-scoped lookup filters by customer_id,
so another customer's id behaves exactly like an id that does not exist (NotFound)."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import List, Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.masking import mask_text
from services.core_banking import models as m
from services.core_banking.errors import Conflict, InvalidRequest, NotFound, not_found
from services.core_banking.schemas import (CardStatus, Channel, ComplaintIn, ComplaintStatus, CustomerType,
                                           GuestComplaintIn, LimitRaiseIn, LimitRaiseStatus, LoanType, VerificationMethod)
from services.core_banking.security import verify_password

PROMISED_REPLY_WORKING_DAYS = 2

# Highest daily limit each verification method allows on the electronic channels (yuan).
VERIFICATION_DAILY_CAPS = {
    VerificationMethod.sms: 5_000,
    VerificationMethod.face: 200_000,
    VerificationMethod.ushield: 1_000_000,
}
VERIFICATION_SINGLE_CAPS = {
    VerificationMethod.sms: 5_000,
    VerificationMethod.face: 50_000,
    VerificationMethod.ushield: 500_000,
}
VERIFICATION_NAMES = {VerificationMethod.sms: "短信验证码", VerificationMethod.face: "人脸识别",
                      VerificationMethod.ushield: "U盾"}
ATM_DAILY_CAP = 50_000


def to_fen(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def to_yuan(fen: Optional[int]) -> Optional[Decimal]:
    return None if fen is None else (Decimal(fen) / 100).quantize(Decimal("0.01"))


def today_cst() -> date:
    return m.now_cst().date()


def _cst_day_bounds(day: date) -> "tuple[datetime, datetime]":
    start = datetime.combine(day, time.min, tzinfo=m.CST)
    return start, start + timedelta(days=1)


# -- customers ---------------------------------------------------------------------------
def get_customer(session: Session, *, customer_id: str) -> Optional[m.Customer]:
    return session.get(m.Customer, customer_id)


def authenticate(session: Session, *, username: str, password: str) -> Optional[m.Customer]:
    customer = session.get(m.Customer, username.strip().upper())
    ok = verify_password(password, customer.password_hash if customer else None)
    return customer if ok else None


def list_accounts(session: Session, *, customer_id: str) -> Sequence[m.Account]:
    return session.scalars(select(m.Account).where(m.Account.customer_id == customer_id)
                           .order_by(m.Account.id)).all()


# -- limits ------------------------------------------------------------------------------
def used_today_fen(limit: m.TransferLimit, *, today: date) -> int:
    return limit.used_today_fen if limit.usage_date == today else 0


def list_transfer_limits(session: Session, *, customer_id: str) -> Sequence[m.TransferLimit]:
    order = {channel.value: index for index, channel in enumerate(Channel)}
    rows = session.scalars(select(m.TransferLimit).where(m.TransferLimit.customer_id == customer_id)).all()
    return sorted(rows, key=lambda row: order.get(row.channel, 99))


def create_limit_raise_request(session: Session, *, customer: m.Customer, data: LimitRaiseIn) -> m.LimitRaiseRequest:
    limit = session.scalars(select(m.TransferLimit).where(
        m.TransferLimit.customer_id == customer.id, m.TransferLimit.channel == data.channel.value)).first()
    if data.channel is Channel.counter:
        raise InvalidRequest("柜台转账不设电子渠道限额，无需申请调整",
                             "Counter transfers have no electronic-channel limit to raise")
    if limit is None:
        raise InvalidRequest(f"您尚未开通{data.channel.value}转账功能，请先开通",
                             f"Transfers via {data.channel.name} are not enabled for this customer")
    requested_fen = to_fen(data.new_daily_limit)
    current_fen = limit.daily_limit_fen
    method = data.verification_method
    enabled = set(customer.verification_methods.split(","))
    requested = f"{data.new_daily_limit:,.2f}"

    if requested_fen <= current_fen:
        limit.daily_limit_fen = requested_fen
        limit.single_limit_fen = min(limit.single_limit_fen, requested_fen)
        status, next_step = LimitRaiseStatus.effective, f"日累计限额已调整为 {requested} 元，立即生效。"
    elif data.channel is Channel.atm:
        status = LimitRaiseStatus.go_to_counter
        next_step = (f"ATM转账限额需本人携带银行卡和身份证到网点办理，ATM日累计转账最高 {ATM_DAILY_CAP:,} 元。")
    elif requested_fen > VERIFICATION_DAILY_CAPS[method] * 100:
        better = [v for v in (VerificationMethod.face, VerificationMethod.ushield)
                  if VERIFICATION_DAILY_CAPS[v] * 100 >= requested_fen]
        if better:
            status = LimitRaiseStatus.needs_stronger_verification
            options = "；".join(f"{VERIFICATION_NAMES[v]}最高日累计 {VERIFICATION_DAILY_CAPS[v]:,} 元" for v in better)
            next_step = (f"{VERIFICATION_NAMES[method]}方式日累计最高 {VERIFICATION_DAILY_CAPS[method]:,} 元。"
                         f"如需调整为 {requested} 元，请更换验证方式：{options}。"
                         "人脸识别可在手机银行“安全中心”开通；U盾需本人携带身份证到网点办理。")
        else:
            status = LimitRaiseStatus.go_to_counter
            next_step = (f"申请金额超过电子渠道最高限额，请本人携带身份证到网点柜台办理大额转账"
                         f"（电子渠道最高日累计 {VERIFICATION_DAILY_CAPS[VerificationMethod.ushield]:,} 元）。")
    elif method.value not in enabled:
        if method is VerificationMethod.ushield:
            status = LimitRaiseStatus.go_to_counter
            next_step = "您尚未办理U盾。请本人携带身份证到任一网点办理U盾，办理后即可在线提升限额。"
        else:
            status = LimitRaiseStatus.pending_verification
            next_step = ("您尚未开通人脸识别。请在手机银行“我的-安全中心-人脸识别”完成开通和验证，"
                         f"验证通过后日累计限额调整为 {requested} 元。")
    else:
        status = LimitRaiseStatus.pending_verification
        next_step = (f"请在{data.channel.value}完成{VERIFICATION_NAMES[method]}验证，"
                     f"验证通过后日累计限额调整为 {requested} 元。")

    request = m.LimitRaiseRequest(
        id="LR" + m.now_cst().strftime("%Y%m%d") + secrets.token_hex(4).upper(),
        customer_id=customer.id, channel=data.channel.value, verification=method.value,
        current_daily_limit_fen=current_fen, requested_daily_limit_fen=requested_fen,
        status=status.value, next_step=next_step, created_at=m.now_cst())
    session.add(request)
    session.commit()
    return request


# -- transfers ---------------------------------------------------------------------------
def list_transfers(session: Session, *, customer_id: str, amount: Optional[Decimal] = None,
                   on_date: Optional[date] = None, limit: int = 20) -> Sequence[m.Transfer]:
    query = select(m.Transfer).where(m.Transfer.customer_id == customer_id)
    if amount is not None:
        query = query.where(m.Transfer.amount_fen == to_fen(amount))
    if on_date is not None:
        start, end = _cst_day_bounds(on_date)
        query = query.where(m.Transfer.created_at >= start, m.Transfer.created_at < end)
    return session.scalars(query.order_by(m.Transfer.created_at.desc(), m.Transfer.id.desc()).limit(limit)).all()


def get_transfer(session: Session, *, customer_id: str, transfer_id: str) -> m.Transfer:
    transfer = session.get(m.Transfer, transfer_id)
    if transfer is None or transfer.customer_id != customer_id:
        raise not_found("转账记录", "Transfer")
    return transfer


# -- loans -------------------------------------------------------------------------------
def list_loans(session: Session, *, customer_id: str) -> Sequence[m.LoanApplication]:
    return session.scalars(select(m.LoanApplication).options(selectinload(m.LoanApplication.history))
                           .where(m.LoanApplication.customer_id == customer_id)
                           .order_by(m.LoanApplication.created_at.desc())).all()


def get_loan(session: Session, *, customer_id: str, loan_id: str) -> m.LoanApplication:
    loan = session.get(m.LoanApplication, loan_id)
    if loan is None or loan.customer_id != customer_id:
        raise not_found("贷款记录", "Loan")
    return loan


def list_loan_products(session: Session, *, loan_type: Optional[LoanType] = None,
                       customer_type: Optional[CustomerType] = None) -> Sequence[m.LoanProduct]:
    query = select(m.LoanProduct)
    if loan_type is not None:
        query = query.where(m.LoanProduct.loan_type == loan_type.value)
    if customer_type is not None:
        query = query.where(m.LoanProduct.customer_type == customer_type.value)
    return session.scalars(query.order_by(m.LoanProduct.id)).all()


def loan_materials(session: Session, *, loan_type: LoanType,
                   customer_type: CustomerType) -> "tuple[m.LoanProduct, List[m.LoanMaterial]]":
    product = session.scalars(select(m.LoanProduct).where(
        m.LoanProduct.loan_type == loan_type.value, m.LoanProduct.customer_type == customer_type.value)).first()
    if product is None:
        raise NotFound(f"暂无适用于{customer_type.value}的{loan_type.value}产品",
                       f"No {loan_type.name} loan product for customer type {customer_type.name}",
                       code="no_such_product")
    materials = session.scalars(select(m.LoanMaterial).where(
        m.LoanMaterial.loan_type == loan_type.value, m.LoanMaterial.customer_type == customer_type.value)
        .order_by(m.LoanMaterial.sort_order, m.LoanMaterial.id)).all()
    return product, list(materials)


# -- cards -------------------------------------------------------------------------------
def list_cards(session: Session, *, customer_id: str) -> Sequence[m.Card]:
    return session.scalars(select(m.Card).where(m.Card.customer_id == customer_id).order_by(m.Card.id)).all()


def get_card(session: Session, *, customer_id: str, card_id: str) -> m.Card:
    card = session.get(m.Card, card_id)
    if card is None or card.customer_id != customer_id:
        raise not_found("银行卡", "Card")
    return card


def freeze_card(session: Session, *, customer_id: str, card_id: str,
                reason: Optional[str] = None) -> "tuple[m.Card, bool]":
    """Freezes an active card; freezing a frozen card changes nothing (idempotent)."""
    card = get_card(session, customer_id=customer_id, card_id=card_id)
    if card.status == CardStatus.lost.value:
        raise Conflict("该卡已挂失，无需冻结；如需补卡请到网点办理",
                       "The card is reported lost; it cannot be frozen", code="card_lost")
    if card.status == CardStatus.frozen.value:
        return card, False
    card.status = CardStatus.frozen.value
    card.frozen_at = m.now_cst()
    card.freeze_reason = mask_text(reason) if reason else None
    session.commit()
    return card, True


def unfreeze_card(session: Session, *, card_id: str) -> "tuple[m.Card, bool]":
    """Branch staff unfreeze a frozen card once the customer has shown ID in person."""
    card = session.get(m.Card, card_id)
    if card is None:
        raise not_found("银行卡", "Card")
    if card.status != CardStatus.frozen.value:
        return card, False
    card.status = CardStatus.active.value
    card.frozen_at = None
    card.freeze_reason = None
    session.commit()
    return card, True


# -- complaints --------------------------------------------------------------------------
def add_working_days(start: datetime, days: int) -> datetime:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current.replace(hour=18, minute=0, second=0, microsecond=0)


def _next_ticket_id(session: Session, model: type, prefix: str, now: datetime) -> str:
    prefix = prefix + now.strftime("%Y%m%d")
    count = session.scalar(select(func.count()).select_from(model)
                           .where(model.ticket_id.like(prefix + "%"))) or 0
    return f"{prefix}{count + 1:04d}"


def _add_with_ticket_id(session: Session, model: type, prefix: str, build):
    """Adds `build(ticket_id, now)` under the day's next ticket id; a concurrent request that
    took the number makes us retry with a random suffix."""
    for attempt in range(5):
        now = m.now_cst()
        ticket_id = _next_ticket_id(session, model, prefix, now)
        if attempt:
            ticket_id = ticket_id[:10] + f"{secrets.randbelow(10_000):04d}"
        row = build(ticket_id, now)
        session.add(row)
        try:
            session.commit()
            return row
        except IntegrityError:
            session.rollback()
    raise Conflict("系统繁忙，投诉暂未提交成功，请稍后再试", "Could not allocate a ticket id, retry later")


def create_complaint(session: Session, *, customer_id: str, data: ComplaintIn) -> m.Complaint:
    if data.occurred_at is not None:
        occurred = data.occurred_at if data.occurred_at.tzinfo else data.occurred_at.replace(tzinfo=m.CST)
        if occurred > m.now_cst() + timedelta(hours=1) or occurred.year < 2000:
            raise InvalidRequest("发生时间不合理（不能是将来的时间）",
                                 "occurred_at must be a past date-time after 2000")

    def build(ticket_id: str, now: datetime) -> m.Complaint:
        complaint = m.Complaint(
            ticket_id=ticket_id, customer_id=customer_id, category=data.category.value,
            description=mask_text(data.description),
            occurred_at=data.occurred_at, desired_outcome=mask_text(data.desired_outcome) if data.desired_outcome else None,
            status=ComplaintStatus.accepted.value, created_at=now,
            promised_reply_by=add_working_days(now, PROMISED_REPLY_WORKING_DAYS))
        complaint.history.append(m.ComplaintEvent(status=ComplaintStatus.accepted.value, at=now,
                                                  note="投诉已受理，已转相关部门处理"))
        return complaint

    return _add_with_ticket_id(session, m.Complaint, "TS", build)


def create_guest_complaint(session: Session, *, data: GuestComplaintIn) -> m.GuestComplaint:
    """A complaint without a login: kept under its own ticket ids (TG...), answered by phone."""

    def build(ticket_id: str, now: datetime) -> m.GuestComplaint:
        return m.GuestComplaint(
            ticket_id=ticket_id, contact_phone=data.contact_phone, category=data.category.value,
            description=mask_text(data.description), occurred=mask_text(data.occurred) if data.occurred else None,
            desired_outcome=mask_text(data.desired_outcome) if data.desired_outcome else None,
            status=ComplaintStatus.accepted.value, created_at=now,
            promised_reply_by=add_working_days(now, PROMISED_REPLY_WORKING_DAYS))

    return _add_with_ticket_id(session, m.GuestComplaint, "TG", build)


def list_complaints(session: Session, *, customer_id: str) -> Sequence[m.Complaint]:
    return session.scalars(select(m.Complaint).options(selectinload(m.Complaint.history))
                           .where(m.Complaint.customer_id == customer_id)
                           .order_by(m.Complaint.created_at.desc(), m.Complaint.ticket_id.desc())).all()


def get_complaint(session: Session, *, customer_id: str, ticket_id: str) -> m.Complaint:
    complaint = session.get(m.Complaint, ticket_id)
    if complaint is None or complaint.customer_id != customer_id:
        raise not_found("投诉工单", "Complaint ticket")
    return complaint


# -- WeChat bindings ---------------------------------------------------------------------
def upsert_wechat_binding(session: Session, *, openid: str, customer_id: str) -> m.WechatBinding:
    if get_customer(session, customer_id=customer_id) is None:
        raise not_found("客户", "Customer")
    binding = session.get(m.WechatBinding, openid)
    if binding is None:
        binding = m.WechatBinding(openid=openid, customer_id=customer_id, bound_at=m.now_cst())
        session.add(binding)
    else:
        binding.customer_id = customer_id
        binding.bound_at = m.now_cst()
    session.commit()
    return binding


def get_wechat_binding(session: Session, *, openid: str) -> m.WechatBinding:
    binding = session.get(m.WechatBinding, openid)
    if binding is None:
        raise not_found("微信绑定关系", "WeChat binding")
    return binding


def delete_wechat_binding(session: Session, *, openid: str) -> None:
    binding = get_wechat_binding(session, openid=openid)
    session.delete(binding)
    session.commit()
