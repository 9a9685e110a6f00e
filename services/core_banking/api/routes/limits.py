from __future__ import annotations

from fastapi import APIRouter

from services.core_banking import crud
from services.core_banking.api.deps import CurrentCustomer, SessionDep
from services.core_banking.presenters import limit_raise_out, transfer_limit_out
from services.core_banking.schemas import LimitRaiseIn, LimitRaiseOut, TransferLimitsOut

router = APIRouter(prefix="/me", tags=["transfer limits"])


@router.get("/transfer-limits", response_model=TransferLimitsOut,
            summary="Transfer limits per channel: single, daily, used today, remaining")
def transfer_limits(customer: CurrentCustomer, session: SessionDep) -> TransferLimitsOut:
    today = crud.today_cst()
    limits = [transfer_limit_out(row, today=today)
              for row in crud.list_transfer_limits(session, customer_id=customer.id)]
    return TransferLimitsOut(customer_id=customer.id, date=today, limits=limits,
                             note="日累计额度每日 0 点（北京时间）恢复")


@router.post("/limit-raise-requests", response_model=LimitRaiseOut, status_code=201,
             summary="Ask for a different daily limit; the answer says what happens next")
def request_limit_raise(body: LimitRaiseIn, customer: CurrentCustomer, session: SessionDep) -> LimitRaiseOut:
    return limit_raise_out(crud.create_limit_raise_request(session, customer=customer, data=body))
