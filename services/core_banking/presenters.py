"""ORM rows -> public output models. The only place internal numbers are turned into
masked/last-4 forms, so nothing else can leak them."""
from __future__ import annotations

from datetime import date

from bot.masking import mask_card, mask_id_number, mask_mobile, mask_name
from services.core_banking import models as m
from services.core_banking.crud import PROMISED_REPLY_WORKING_DAYS, to_yuan, used_today_fen
from services.core_banking.schemas import (AccountOut, CardOut, ComplaintOut, CustomerOut, GuestComplaintOut,
                                           LimitRaiseOut, LoanMaterialOut, LoanOut, LoanProductOut, StatusEventOut,
                                           TransferLimitOut, TransferOut, WechatBindingOut)


def customer_out(customer: m.Customer) -> CustomerOut:
    return CustomerOut(
        customer_id=customer.id, name=customer.name, customer_type=customer.customer_type,
        profile=customer.profile, mobile_masked=mask_mobile(customer.mobile),
        id_number_masked=mask_id_number(customer.id_number),
        verification_methods=[v for v in customer.verification_methods.split(",") if v])


def account_out(account: m.Account) -> AccountOut:
    return AccountOut(
        account_id=account.id, account_type=account.account_type, account_last4=account.account_number[-4:],
        masked_account_number=mask_card(account.account_number), currency=account.currency,
        balance=to_yuan(account.balance_fen), available_balance=to_yuan(account.available_fen))


def transfer_limit_out(limit: m.TransferLimit, *, today: date) -> TransferLimitOut:
    used = used_today_fen(limit, today=today)
    remaining = max(limit.daily_limit_fen - used, 0)
    return TransferLimitOut(
        channel=limit.channel, verification=limit.verification,
        single_limit=to_yuan(limit.single_limit_fen), daily_limit=to_yuan(limit.daily_limit_fen),
        used_today=to_yuan(used), remaining_today=to_yuan(remaining),
        max_transfer_now=to_yuan(min(limit.single_limit_fen, remaining)))


def limit_raise_out(request: m.LimitRaiseRequest) -> LimitRaiseOut:
    return LimitRaiseOut(
        request_id=request.id, channel=request.channel, verification_method=request.verification,
        current_daily_limit=to_yuan(request.current_daily_limit_fen),
        requested_daily_limit=to_yuan(request.requested_daily_limit_fen),
        status=request.status, next_step=request.next_step, created_at=request.created_at)


def transfer_out(transfer: m.Transfer) -> TransferOut:
    return TransferOut(
        transfer_id=transfer.id, amount=to_yuan(transfer.amount_fen), payee_name=mask_name(transfer.payee_name),
        payee_account_last4=transfer.payee_account[-4:], payee_bank=transfer.payee_bank,
        channel=transfer.channel, transfer_type=transfer.transfer_type, status=transfer.status,
        status_reason=transfer.status_reason, created_at=transfer.created_at, arrived_at=transfer.arrived_at,
        expected_arrival=transfer.expected_arrival)


def loan_product_out(product: m.LoanProduct) -> LoanProductOut:
    return LoanProductOut(
        product_id=product.id, loan_type=product.loan_type, customer_type=product.customer_type,
        name=product.name, max_amount=to_yuan(product.max_amount_fen), max_term_months=product.max_term_months,
        rate_description=product.rate_description, description=product.description)


def loan_material_out(material: m.LoanMaterial) -> LoanMaterialOut:
    return LoanMaterialOut(name=material.name, required=material.required, note=material.note)


def loan_out(loan: m.LoanApplication) -> LoanOut:
    return LoanOut(
        loan_id=loan.id, loan_type=loan.loan_type, product_name=loan.product_name,
        amount=to_yuan(loan.amount_fen), term_months=loan.term_months, status=loan.status,
        next_step=loan.next_step, outstanding=to_yuan(loan.outstanding_fen),
        next_repayment_date=loan.next_repayment_date, next_repayment_amount=to_yuan(loan.next_repayment_fen),
        created_at=loan.created_at, updated_at=loan.updated_at,
        history=[StatusEventOut(status=e.status, note=e.note, at=e.at) for e in loan.history])


def card_out(card: m.Card) -> CardOut:
    return CardOut(
        card_id=card.id, card_type=card.card_type, product_name=card.product_name,
        last4=card.card_number[-4:], masked_number=mask_card(card.card_number), status=card.status,
        credit_limit=to_yuan(card.credit_limit_fen), overseas_limit=to_yuan(card.overseas_limit_fen))


def promised_reply_text(reply_by) -> str:
    return f"{PROMISED_REPLY_WORKING_DAYS}个工作日内答复（{reply_by.month}月{reply_by.day}日 {reply_by:%H:%M} 前）"


def complaint_out(complaint: m.Complaint) -> ComplaintOut:
    reply_by = complaint.promised_reply_by
    return ComplaintOut(
        ticket_id=complaint.ticket_id, category=complaint.category, description=complaint.description,
        occurred_at=complaint.occurred_at, desired_outcome=complaint.desired_outcome, status=complaint.status,
        created_at=complaint.created_at, promised_reply_by=reply_by,
        promised_reply_text=promised_reply_text(reply_by),
        history=[StatusEventOut(status=e.status, note=e.note, at=e.at) for e in complaint.history])


def guest_complaint_out(complaint: m.GuestComplaint) -> GuestComplaintOut:
    return GuestComplaintOut(
        ticket_id=complaint.ticket_id, category=complaint.category, status=complaint.status,
        contact_phone_masked=mask_mobile(complaint.contact_phone), created_at=complaint.created_at,
        promised_reply_by=complaint.promised_reply_by,
        promised_reply_text=promised_reply_text(complaint.promised_reply_by))


def wechat_binding_out(binding: m.WechatBinding) -> WechatBindingOut:
    return WechatBindingOut(openid=binding.openid, customer_id=binding.customer_id, bound_at=binding.bound_at)
