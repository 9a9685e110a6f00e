"""The FastAPI application: `create_app()` wires settings, SQL, Redis, the delivery worker and the console."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Dict, Optional, Set

import redis
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from services.agent_desk.api.deps import get_supervisor, reject_nul_in_url
from services.agent_desk.api.main import api_router
from services.agent_desk.config import DeskSettings, get_settings
from services.agent_desk.db import create_schema, make_engine, make_session_factory
from services.agent_desk.delivery import CallbackSender, DeliveryWorker, HttpCallbackSender
from services.agent_desk.errors import install_error_handlers, install_openapi_errors
from services.agent_desk.live import EventHub, LiveState
from services.agent_desk.metrics import install_metrics
from services.agent_desk.seed import seed_demo_agents
from services.agent_desk.studio import Studio

log = logging.getLogger("agent_desk")
STATIC_DIR = Path(__file__).parent / "static"

# The error answers of routes whose module does not declare them (api/routes/handoffs.py). Every
# route that needs a token, names a record in its path or takes input gets 401, 404 and 422
# (errors.install_openapi_errors), every supervisors-only route 403 (route_errors).
UNDECLARED_ROUTE_ERRORS = {
    "GET /api/handoffs/{handoff_id}": (403,),
    "POST /api/handoffs/{handoff_id}/claim": (403, 409),
    "POST /api/handoffs/{handoff_id}/messages": (403, 409),
    "POST /api/handoffs/{handoff_id}/close": (403, 409),
    "POST /api/handoffs/{handoff_id}/transfer": (403, 409),
    "POST /api/handoffs/{handoff_id}/deliveries/{delivery_id}/retry": (403,),
    "GET /api/handoffs/{handoff_id}/customer": (403, 503),
}


def _uses(dependant, call) -> bool:
    return any(d.call is call or _uses(d, call) for d in dependant.dependencies)


def route_errors(app: FastAPI) -> Dict[str, Set[int]]:
    """UNDECLARED_ROUTE_ERRORS, and 403 for every route that depends on `get_supervisor`."""
    found = {route: set(statuses) for route, statuses in UNDECLARED_ROUTE_ERRORS.items()}
    for route in app.routes:
        if isinstance(route, APIRoute) and _uses(route.dependant, get_supervisor):
            for method in route.methods:
                found.setdefault(f"{method} {route.path}", set()).add(403)
    return found


CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def create_app(settings: Optional[DeskSettings] = None, sender: Optional[CallbackSender] = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.effective_database_url)
    session_factory = make_session_factory(engine)
    client = redis.Redis.from_url(settings.effective_redis_url, decode_responses=True,
                                  socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30)
    live = LiveState(client, settings.redis_key_prefix, settings.queue_names, settings.presence_ttl_seconds)
    hub = EventHub(settings.effective_redis_url, live.keys.events)
    sender = sender or HttpCallbackSender(settings.effective_callback_url, settings.service_token,
                                          settings.callback_timeout_seconds)
    delivery = DeliveryWorker(session_factory, sender, live.publish, settings.callback_max_attempts,
                              settings.callback_backoff_seconds)

    def rebuild_live() -> None:
        with session_factory() as session:
            live.rebuild(session)

    async def watchdog() -> None:
        """Rebuilds the Redis projection from SQL whenever it is missing or a write to it failed."""
        while True:
            await asyncio.sleep(settings.live_check_seconds)
            try:
                if await asyncio.to_thread(live.needs_rebuild):
                    log.warning("live state missing or stale: rebuilding from SQL")
                    await asyncio.to_thread(rebuild_live)
                    live.publish("resync")
            except redis.RedisError as exc:
                live.dirty = True
                log.warning("Redis unavailable (%s); serving from SQL", exc)
            except Exception:  # noqa: BLE001
                log.exception("live state watchdog failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(create_schema, engine)
        if settings.seed_demo_agents:
            with session_factory() as session:
                created = await asyncio.to_thread(seed_demo_agents, session)
                if created:
                    log.info("demo agents created: %s", ", ".join(created))
        try:
            await asyncio.to_thread(rebuild_live)
        except redis.RedisError as exc:
            live.dirty = True
            log.warning("Redis unavailable at startup (%s); the live state is rebuilt when it returns", exc)
        await hub.start()
        await delivery.start()
        check = asyncio.create_task(watchdog(), name="live-watchdog")
        try:
            yield
        finally:
            check.cancel()
            await delivery.stop()
            await hub.stop()
            client.close()
            engine.dispose()

    app = FastAPI(title="Agent desk", version="1.0", lifespan=lifespan, dependencies=[Depends(reject_nul_in_url)],
                  docs_url="/docs" if settings.expose_docs else None,
                  redoc_url=None, openapi_url="/openapi.json" if settings.expose_docs else None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.live = live
    app.state.hub = hub
    app.state.delivery = delivery
    app.state.studio = Studio.from_settings(settings)
    install_error_handlers(app)
    app.include_router(api_router)
    install_openapi_errors(app, route_errors(app))

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        path = request.url.path
        if path.startswith(("/console", "/studio")):
            response.headers.setdefault("Content-Security-Policy", CONSOLE_CSP)
        if path.startswith(("/api", "/internal")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    app.mount("/studio", StaticFiles(directory=STATIC_DIR / "studio", html=True), name="studio")
    app.mount("/console", StaticFiles(directory=STATIC_DIR, html=True), name="console")
    install_metrics(app, settings.queue_names)  # GET /metrics + the outermost middleware (metrics.py)
    return app
