from __future__ import annotations

from fastapi import APIRouter

from services.core_banking.api.deps import CurrentCustomer
from services.core_banking.presenters import customer_out
from services.core_banking.schemas import CustomerOut

router = APIRouter(prefix="/me", tags=["customers"])


@router.get("", response_model=CustomerOut, summary="The logged-in customer's profile (numbers masked)")
def me(customer: CurrentCustomer) -> CustomerOut:
    return customer_out(customer)
