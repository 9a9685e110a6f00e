from __future__ import annotations

from typing import List

from fastapi import APIRouter

from services.core_banking import crud
from services.core_banking.api.deps import CurrentCustomer, RecordId, SessionDep
from services.core_banking.errors import error_responses
from services.core_banking.presenters import complaint_out
from services.core_banking.schemas import ComplaintIn, ComplaintOut

router = APIRouter(prefix="/me/complaints", tags=["complaints"])


@router.post("", response_model=ComplaintOut, status_code=201, responses=error_responses(409),
             summary="File a complaint; card/ID/mobile numbers in the text are stored masked")
def create_complaint(body: ComplaintIn, customer: CurrentCustomer, session: SessionDep) -> ComplaintOut:
    return complaint_out(crud.create_complaint(session, customer_id=customer.id, data=body))


@router.get("", response_model=List[ComplaintOut], summary="The customer's complaint tickets, newest first")
def list_complaints(customer: CurrentCustomer, session: SessionDep) -> List[ComplaintOut]:
    return [complaint_out(c) for c in crud.list_complaints(session, customer_id=customer.id)]


@router.get("/{ticket_id}", response_model=ComplaintOut, summary="One ticket (404 unless it is yours)")
def get_complaint(ticket_id: RecordId, customer: CurrentCustomer,
                  session: SessionDep) -> ComplaintOut:
    return complaint_out(crud.get_complaint(session, customer_id=customer.id, ticket_id=ticket_id))
