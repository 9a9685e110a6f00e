"""All routers in one APIRouter."""
from fastapi import APIRouter

from services.core_banking.api.routes import (accounts, auth, cards, complaints, customers, desk, health, internal,
                                              limits, loan_products, loans, transfers)

api_router = APIRouter()
for module in (health, auth, customers, accounts, limits, transfers, loans, loan_products, cards, complaints,
               internal, desk):
    api_router.include_router(module.router)
