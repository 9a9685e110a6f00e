from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, List, Optional

from fastapi import APIRouter, Query

from services.core_banking import crud
from services.core_banking.api.deps import CurrentCustomer, RecordId, SessionDep
from services.core_banking.presenters import transfer_out
from services.core_banking.schemas import TransferOut

router = APIRouter(prefix="/me/transfers", tags=["transfers"])


@router.get("", response_model=List[TransferOut], summary="Recent transfers, newest first")
def list_transfers(
    customer: CurrentCustomer,
    session: SessionDep,
    amount: Annotated[Optional[Decimal], Query(gt=0, le=100_000_000, description="exact amount in yuan")] = None,
    date_: Annotated[Optional[date], Query(alias="date", description="YYYY-MM-DD (Beijing time)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> List[TransferOut]:
    rows = crud.list_transfers(session, customer_id=customer.id, amount=amount, on_date=date_, limit=limit)
    return [transfer_out(row) for row in rows]


@router.get("/{transfer_id}", response_model=TransferOut, summary="One transfer (404 unless it is yours)")
def get_transfer(transfer_id: RecordId, customer: CurrentCustomer,
                 session: SessionDep) -> TransferOut:
    return transfer_out(crud.get_transfer(session, customer_id=customer.id, transfer_id=transfer_id))
