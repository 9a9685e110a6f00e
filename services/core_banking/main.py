"""The FastAPI application: `create_app()` (also `uvicorn services.core_banking.main:app --factory`
style via `create_app`)."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Optional

from fastapi import FastAPI

from services.core_banking.api.main import api_router
from services.core_banking.config import CoreBankingSettings, get_settings
from services.core_banking.db import Database
from services.core_banking.errors import install_error_handlers, install_openapi_errors
from services.core_banking.faults import FaultInjectionMiddleware, FaultState
from services.core_banking.metrics import install_metrics
from services.core_banking.middleware import AccessLogMiddleware, BodySizeLimitMiddleware
from services.core_banking.seed import seed

logger = logging.getLogger("core_banking")

DESCRIPTION = """Stand-in for the bank's core systems (demo data only).

* Customer endpoints (`/me/...`) need `Authorization: Bearer <customer JWT>` from `POST /auth/login`
  (demo users C1001..C1004, password `demo1234`); they only ever return the caller's own data.
* `/internal/...` needs the service token (`CORE_BANKING_SERVICE_TOKEN`).
* Errors: `{"error": {"code": "...", "message": "中文 / English"}}`.
"""


def init_database(db: Database) -> None:
    """create_all + idempotent seed (safe on every start)."""
    db.create_all()
    with db.sessions() as session:
        seed(session)


def create_app(settings: Optional[CoreBankingSettings] = None, *, database: Optional[Database] = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_secrets()
    db = database or Database(settings)
    faults = FaultState(latency_ms=settings.fault_latency_ms, error_rate=settings.fault_error_rate)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        init_database(db)
        backend = db.engine.url.get_backend_name()
        logger.info("core banking ready (database: %s; fault latency %d ms, error rate %.2f)",
                    backend, faults.latency_ms, faults.error_rate)
        yield
        db.dispose()

    app = FastAPI(title="Core banking stub", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.db = db
    app.state.faults = faults
    install_error_handlers(app)
    app.include_router(api_router)
    install_openapi_errors(app)
    # Added innermost first: metrics -> access log -> body limit -> faults -> routes.
    app.add_middleware(FaultInjectionMiddleware, state=faults)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    install_metrics(app, faults)  # GET /metrics + the outermost middleware (services/core_banking/metrics.py)
    return app
