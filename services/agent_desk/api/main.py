from fastapi import APIRouter

from services.agent_desk.api.routes import auth, desk, handoffs, health, internal, live

api_router = APIRouter()
for module in (health, auth, handoffs, desk, internal, live):
    api_router.include_router(module.router)
