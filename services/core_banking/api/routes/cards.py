from __future__ import annotations

from typing import Annotated, List, Optional

from fastapi import APIRouter, Body

from services.core_banking import crud
from services.core_banking.api.deps import CurrentCustomer, RecordId, SessionDep
from services.core_banking.errors import error_responses
from services.core_banking.presenters import card_out
from services.core_banking.schemas import CardFreezeIn, CardFreezeOut, CardOut

router = APIRouter(prefix="/me/cards", tags=["cards"])


@router.get("", response_model=List[CardOut], summary="Cards (last 4 digits only)")
def list_cards(customer: CurrentCustomer, session: SessionDep) -> List[CardOut]:
    return [card_out(card) for card in crud.list_cards(session, customer_id=customer.id)]


@router.get("/{card_id}", response_model=CardOut, summary="One card (404 unless it is yours)")
def get_card(card_id: RecordId, customer: CurrentCustomer, session: SessionDep) -> CardOut:
    return card_out(crud.get_card(session, customer_id=customer.id, card_id=card_id))


@router.post("/{card_id}/freeze", response_model=CardFreezeOut, responses=error_responses(409),
             summary="Freeze a card (idempotent; 409 if the card is reported lost)")
def freeze_card(card_id: RecordId, customer: CurrentCustomer, session: SessionDep,
                body: Annotated[Optional[CardFreezeIn], Body()] = None) -> CardFreezeOut:
    card, changed = crud.freeze_card(session, customer_id=customer.id, card_id=card_id,
                                     reason=body.reason if body else None)
    last4 = card.card_number[-4:]
    message = (f"尾号 {last4} 的卡已冻结，冻结期间无法交易；解冻请本人携带身份证到网点办理" if changed
               else f"尾号 {last4} 的卡已处于冻结状态")
    return CardFreezeOut(card=card_out(card), changed=changed, message=message)
