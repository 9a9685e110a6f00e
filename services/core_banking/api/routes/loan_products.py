from __future__ import annotations

from typing import Annotated, List, Optional

from fastapi import APIRouter, Query

from services.core_banking import crud
from services.core_banking.api.deps import AnyCaller, SessionDep
from services.core_banking.errors import error_responses
from services.core_banking.presenters import loan_material_out, loan_product_out
from services.core_banking.schemas import CustomerType, LoanMaterialsOut, LoanProductOut, LoanType

router = APIRouter(prefix="/loan-products", tags=["loan products (reference data)"])


@router.get("", response_model=List[LoanProductOut], summary="Loan products (customer or service token)")
def list_products(
    _: AnyCaller, session: SessionDep,
    loan_type: Annotated[Optional[LoanType], Query()] = None,
    customer_type: Annotated[Optional[CustomerType], Query()] = None,
) -> List[LoanProductOut]:
    return [loan_product_out(p) for p in crud.list_loan_products(session, loan_type=loan_type,
                                                                  customer_type=customer_type)]


@router.get("/materials", response_model=LoanMaterialsOut, responses=error_responses(404),
            summary="Materials needed for a loan type and customer type (customer or service token)")
def materials(_: AnyCaller, session: SessionDep, loan_type: Annotated[LoanType, Query()],
              customer_type: Annotated[CustomerType, Query()]) -> LoanMaterialsOut:
    product, rows = crud.loan_materials(session, loan_type=loan_type, customer_type=customer_type)
    return LoanMaterialsOut(loan_type=loan_type, customer_type=customer_type, product=loan_product_out(product),
                            materials=[loan_material_out(row) for row in rows])
