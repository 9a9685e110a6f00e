from fastapi import APIRouter

from services.agent_desk.api.routes import (audit, auth, desk, handoffs, health, internal, live, studio, studio_answers,
                                            studio_inbox, studio_training, wrap_up)

api_router = APIRouter()
for module in (health, auth, handoffs, desk, audit, wrap_up, internal, live,
               studio, studio_inbox, studio_answers, studio_training):
    api_router.include_router(module.router)
