"""The agent desk's internal API, as the action server uses it (service token).

    POST /internal/handoffs                     register a handoff with its context
    POST /internal/handoffs/{id}/rating         the customer's 1-5 rating

Exceptions:
    AgentDeskError
     └── AgentDeskUnavailable   timeout, connection refused, 5xx, or an unexpected answer
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Dict, List, Optional

import requests
from pydantic import BaseModel, Field
from requests.adapters import HTTPAdapter

from bot.settings import get_settings

TIMEOUT = (1.0, 3.0)  # (connect, read) seconds: the customer is waiting


class AgentDeskError(Exception):
    pass


class AgentDeskUnavailable(AgentDeskError):
    pass


class CustomerContext(BaseModel):
    id: Optional[str] = None
    display_name: str = ""
    segment: str = ""


class TranscriptEntry(BaseModel):
    role: str  # customer | bot | agent
    text: str
    ts: Optional[datetime] = None


class NluEntry(BaseModel):
    text: str
    intent: str = ""
    confidence: float = 0.0


class HandoffRequest(BaseModel):
    """The context package: everything an agent needs so the customer repeats nothing."""

    conversation_id: str
    channel: str
    reason: str
    priority: int = 1
    customer: CustomerContext = Field(default_factory=CustomerContext)
    transcript: List[TranscriptEntry] = Field(default_factory=list)
    nlu: List[NluEntry] = Field(default_factory=list)
    slots: Dict[str, Any] = Field(default_factory=dict)
    summary: str = ""


class HandoffCreated(BaseModel):
    id: str
    created: bool = True
    status: str
    queue_position: Optional[int] = None
    estimated_wait_seconds: int = 0
    within_service_hours: bool = True
    message: str = ""


class AgentDeskClient:
    def __init__(self, base_url: str, service_token: str, session: Optional[requests.Session] = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._session.mount("http://", HTTPAdapter(pool_maxsize=20))
        self._session.headers["Authorization"] = f"Bearer {service_token}"

    def register_handoff(self, request: HandoffRequest) -> HandoffCreated:
        return HandoffCreated.parse_obj(self._post("/internal/handoffs", request.json()))

    def store_rating(self, handoff_id: str, rating: int) -> None:
        self._post(f"/internal/handoffs/{handoff_id}/rating", f'{{"rating": {int(rating)}}}')

    def _post(self, path: str, body: str) -> Dict[str, Any]:
        try:
            response = self._session.post(self._base_url + path, data=body.encode("utf-8"),
                                          headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise AgentDeskUnavailable(f"agent desk unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            raise AgentDeskUnavailable(f"agent desk answered {response.status_code} on {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise AgentDeskUnavailable("agent desk sent a non-JSON answer") from exc


@lru_cache(maxsize=1)
def get_agent_desk_client() -> AgentDeskClient:
    settings = get_settings()
    return AgentDeskClient(settings.agent_desk_url, settings.agent_desk_service_token)
