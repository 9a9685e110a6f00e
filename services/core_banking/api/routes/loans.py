from __future__ import annotations

from typing import List

from fastapi import APIRouter

from services.core_banking import crud
from services.core_banking.api.deps import CurrentCustomer, RecordId, SessionDep
from services.core_banking.presenters import loan_out
from services.core_banking.schemas import LoanOut

router = APIRouter(prefix="/me/loans", tags=["loans"])


@router.get("", response_model=List[LoanOut], summary="Loans and loan applications with status history")
def list_loans(customer: CurrentCustomer, session: SessionDep) -> List[LoanOut]:
    return [loan_out(row) for row in crud.list_loans(session, customer_id=customer.id)]


@router.get("/{loan_id}", response_model=LoanOut, summary="One loan (404 unless it is yours)")
def get_loan(loan_id: RecordId, customer: CurrentCustomer, session: SessionDep) -> LoanOut:
    return loan_out(crud.get_loan(session, customer_id=customer.id, loan_id=loan_id))
