"""The agent desk's read-only view of one customer (desk token only): the customer panel
beside a handoff. Nothing here changes data; every number is masked by the presenters."""
from __future__ import annotations

import logging

from fastapi import APIRouter

from bot.masking import mask_name
from services.core_banking import crud
from services.core_banking.api.deps import DeskCaller, RecordId, SessionDep
from services.core_banking.errors import NotFound
from services.core_banking.presenters import account_out, complaint_out, loan_out, transfer_limit_out, transfer_out
from services.core_banking.schemas import ComplaintStatus, CustomerOverviewOut, DeskCustomerOut

router = APIRouter(prefix="/internal/desk", tags=["agent desk (desk token)"])
log = logging.getLogger(__name__)

RECENT_TRANSFERS = 5
OPEN_COMPLAINT = {ComplaintStatus.accepted.value, ComplaintStatus.processing.value}


@router.get("/customers/{customer_id}/overview", response_model=CustomerOverviewOut,
            summary="Segment, masked accounts, today's limits, recent transfers, loans, open complaints")
def customer_overview(customer_id: RecordId, caller: DeskCaller, session: SessionDep) -> CustomerOverviewOut:
    customer = crud.get_customer(session, customer_id=customer_id)
    if customer is None:
        raise NotFound()
    log.info("customer overview of %s read by %s", customer_id, caller)
    today = crud.today_cst()
    transfers = crud.list_transfers(session, customer_id=customer_id, limit=RECENT_TRANSFERS)  # newest first
    return CustomerOverviewOut(
        customer=DeskCustomerOut(customer_id=customer.id, name_masked=mask_name(customer.name),
                                 customer_type=customer.customer_type, profile=customer.profile),
        accounts=[account_out(a) for a in crud.list_accounts(session, customer_id=customer_id)],
        transfer_limits=[transfer_limit_out(limit, today=today)
                         for limit in crud.list_transfer_limits(session, customer_id=customer_id)],
        recent_transfers=[transfer_out(t) for t in transfers],
        loans=[loan_out(loan) for loan in crud.list_loans(session, customer_id=customer_id)],
        open_complaints=[complaint_out(c) for c in crud.list_complaints(session, customer_id=customer_id)
                         if c.status in OPEN_COMPLAINT])
