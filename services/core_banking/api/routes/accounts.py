from __future__ import annotations

from typing import List

from fastapi import APIRouter

from services.core_banking import crud
from services.core_banking.api.deps import CurrentCustomer, SessionDep
from services.core_banking.presenters import account_out
from services.core_banking.schemas import AccountOut

router = APIRouter(prefix="/me/accounts", tags=["accounts"])


@router.get("", response_model=List[AccountOut], summary="Accounts and balances")
def list_accounts(customer: CurrentCustomer, session: SessionDep) -> List[AccountOut]:
    return [account_out(a) for a in crud.list_accounts(session, customer_id=customer.id)]
