"""HTTP models (pydantic 1): separate input models (`...In`) and public output models (`...Out`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, Field, confloat, conint, conlist, constr, validator

from services.openapi_docs import document_nullable

from services.core_banking.schemas import CustomerOverviewOut

Role = constr(regex=r"^(customer|bot|agent)$")
Status = constr(regex=r"^(waiting|active|closed)$")
ShortText = constr(strip_whitespace=True, max_length=200)


def no_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold U+0000: such input was a 500 there (found by the OpenAPI fuzz test)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


class _In(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True
        schema_extra = staticmethod(document_nullable)

    _no_nul = validator("*", allow_reuse=True)(no_nul)


class _InternalIn(BaseModel):
    """Bot-side inputs: unknown fields are ignored so both sides can evolve independently."""

    class Config:
        extra = "ignore"
        anystr_strip_whitespace = True
        schema_extra = staticmethod(document_nullable)

    _no_nul = validator("*", allow_reuse=True)(no_nul)


class _Out(BaseModel):
    class Config:
        orm_mode = True
        schema_extra = staticmethod(document_nullable)


# --- auth ----------------------------------------------------------------------------
class LoginIn(_In):
    username: constr(min_length=1, max_length=64)
    password: constr(min_length=1, max_length=256)


class AgentOut(_Out):
    username: str
    display_name: str
    role: str
    queues: List[str] = Field(default_factory=list, description="queues this agent serves (supervisors: all)")


class TokenOut(_Out):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    agent: AgentOut


# --- handoffs: bot side (internal) -----------------------------------------------------
class CustomerIn(_InternalIn):
    id: Optional[constr(max_length=64)] = None
    display_name: constr(max_length=64) = ""
    segment: constr(max_length=32) = ""


class TranscriptEntryIn(_InternalIn):
    role: Role
    text: constr(max_length=4000)
    ts: Optional[datetime] = None


class NluEntryIn(_InternalIn):
    text: constr(max_length=4000)
    intent: constr(max_length=128) = ""
    confidence: float = Field(0.0, ge=0.0, le=1.0)


class HandoffIn(_InternalIn):
    conversation_id: constr(min_length=1, max_length=128)
    channel: constr(min_length=1, max_length=32)
    reason: constr(max_length=500) = ""
    priority: conint(ge=0, le=9) = 0
    queue: Optional[constr(max_length=32)] = None
    customer: CustomerIn = Field(default_factory=CustomerIn)
    transcript: List[TranscriptEntryIn] = Field(default_factory=list, max_items=500)
    nlu: List[NluEntryIn] = Field(default_factory=list, max_items=100)
    slots: Dict[str, Any] = Field(default_factory=dict)
    summary: constr(max_length=2000) = ""

    @validator("slots")
    def _slots_small(cls, value: Dict[str, Any]) -> Dict[str, Any]:
        if len(value) > 200:
            raise ValueError("too many slots")
        return value


class HandoffCreatedOut(_Out):
    id: str
    created: bool = Field(..., description="false when an open handoff already existed for the conversation")
    status: str
    queue: str
    queue_position: Optional[int]
    estimated_wait_seconds: int
    within_service_hours: bool
    next_service_start: Optional[datetime] = None
    message: str = Field(..., description="text the bot can show the customer")


class SuggestionIn(_InternalIn):
    """A reply the assistant would give to this message (bot/suggestions.py), best first."""
    intent: constr(min_length=1, max_length=64)
    confidence: confloat(ge=0.0, le=1.0)
    text: constr(min_length=1, max_length=4000)


MAX_SUGGESTIONS = 3


class CustomerMessageIn(_InternalIn):
    text: constr(min_length=1, max_length=4000)
    ts: Optional[datetime] = None
    suggestions: conlist(SuggestionIn, max_items=MAX_SUGGESTIONS) = Field(  # type: ignore[valid-type]
        default_factory=list, description="replies the assistant would give, for the agent to send, edit or ignore")


class RatingIn(_InternalIn):
    rating: conint(ge=1, le=5)
    comment: constr(max_length=500) = ""


class AckOut(_Out):
    ok: bool = True
    handoff_id: str
    status: str


class ActiveHandoffOut(_Out):
    id: str
    conversation_id: str
    channel: str
    status: str
    queue: str
    queue_position: Optional[int]
    estimated_wait_seconds: Optional[int]
    claimed_by: Optional[str]
    agent_display_name: Optional[str]
    created_at: datetime


# --- handoffs: agents ------------------------------------------------------------------
class CustomerOut(_Out):
    id: Optional[str]
    display_name: str
    segment: str


class DeliveryOut(_Out):
    id: int
    kind: str
    status: str
    attempts: int
    last_error: Optional[str]
    delivered_at: Optional[datetime]


class TranscriptEntryOut(_Out):
    id: int
    role: str
    text: str
    ts: datetime
    agent: Optional[str] = None
    delivery: Optional[DeliveryOut] = None


class NluEntryOut(_Out):
    text: str
    intent: str
    intent_label: str = Field("", description="the intent's Chinese name (data/knowledge/intents.yml)")
    confidence: float


class CollectedOut(_Out):
    name: str
    label: str = Field(..., description="the slot's Chinese name (data/knowledge/context_labels.yml)")
    value: str = Field(..., description="formatted as customers read it (5 万元, 是, 2026年12月3日)")


class HandoffSummaryOut(_Out):
    id: str
    conversation_id: str
    channel: str
    status: str
    reason: str
    priority: int
    queue: str
    created_at: datetime
    waiting_since: datetime
    waiting_seconds: int
    queue_position: Optional[int]
    customer: CustomerOut
    claimed_by: Optional[str]
    claimed_at: Optional[datetime]
    closed_at: Optional[datetime]
    within_service_hours: bool
    last_message: Optional[str]


class SuggestionOut(_Out):
    id: int
    message_id: int = Field(..., description="the customer message it answers")
    rank: int
    intent: str
    intent_label: str = Field("", description="the intent's Chinese name (data/knowledge/intents.yml)")
    confidence: float
    text: str
    outcome: str = Field(..., description="shown (not decided yet) | used | edited | ignored")


class HandoffDetailOut(HandoffSummaryOut):
    transcript: List[TranscriptEntryOut]
    nlu: List[NluEntryOut]
    slots: Dict[str, Any]
    collected: List[CollectedOut] = Field(default_factory=list, description="slots as the agent reads them")
    summary: str
    rating: Optional[int]
    resolution: Optional[str]
    back_to_bot: Optional[bool]
    closed_by: Optional[str]
    estimated_wait_seconds: Optional[int]
    deliveries: List[DeliveryOut] = Field(default_factory=list, description="close events sent to the bot side")
    disposition: Optional[str] = Field(None, description="how the agent closed it (wrap-up)")
    suggestions: List[SuggestionOut] = Field(
        default_factory=list, description="suggested replies to the newest customer message not answered yet")


class MessageIn(_In):
    text: constr(min_length=1, max_length=2000)
    suggestion_id: Optional[conint(ge=1, le=2 ** 31 - 1)] = Field(  # type: ignore[valid-type]
        None, description="the suggested reply this text comes from: sent as it was (used) or changed (edited)")


HandBack = constr(regex=r"^(rating|continue_form|limit_raise|nothing)$")


Disposition = constr(regex=r"^(solved|follow_up|complaint_registered|transferred)$")


class WrapUpIn(_In):
    disposition: Optional[Disposition] = Field(  # type: ignore[valid-type]
        None, description="how the case ended: solved, follow_up (needs follow_up_due), complaint_registered, "
                          "transferred; the console asks for it, the report counts missing ones as unknown")
    follow_up_due: Optional[datetime] = Field(None, description="follow_up: when someone must get back to the customer")
    follow_up_note: constr(max_length=500) = ""


class CloseIn(WrapUpIn):
    resolution: constr(max_length=500) = ""
    back_to_bot: bool = True
    then: Optional[HandBack] = Field(  # type: ignore[valid-type]
        None, description="what the bot does next: rating (ask for a rating), continue_form (the form the "
                          "customer was in), limit_raise (start the limit-raise form), nothing; default rating "
                          "when back_to_bot, else nothing. The customer is told in one sentence.")


class TransferIn(_In):
    queue: constr(min_length=1, max_length=32)
    note: constr(max_length=500) = ""


class CannedResponseOut(_Out):
    id: str
    category: str
    title: str
    text: str


class QueueOut(_Out):
    name: str
    label: str
    waiting: int
    served: bool = Field(False, description="whether the asking agent picks up this queue's customers")


class CustomerPanelOut(_Out):
    """Beside the conversation: nothing but what they said for a customer who is not logged in."""

    anonymous: bool
    overview: Optional[CustomerOverviewOut] = Field(None, description="core banking's read-only view, masked")


class FollowUpTaskOut(_Out):
    id: int
    handoff_id: str
    queue: str
    customer_id: Optional[str]
    note: str
    due_at: datetime
    overdue: bool = False
    created_by: str
    created_at: datetime
    done_at: Optional[datetime]
    done_by: Optional[str]


class QueueReportOut(_Out):
    queue: str
    label: str
    handled: int = Field(..., description="handoffs closed after an agent claimed them")
    median_wait_seconds: Optional[float] = Field(None, description="waiting until claimed")
    median_handling_seconds: Optional[float] = Field(None, description="claimed until closed")
    csat: Optional[float] = Field(None, description="mean 1-5 rating of the rated ones")
    rated: int = 0
    suggestion_use_rate: Optional[float] = Field(
        None, description="share of customer messages with suggestions whose reply came from one (used or edited); "
                          "none when no suggestion was shown")
    suggestions: Dict[str, int] = Field(default_factory=dict,
                                        description="customer messages with suggestions by outcome: used, edited, ignored")
    dispositions: Dict[str, int] = Field(default_factory=dict)


class ReportOut(_Out):
    since: datetime
    until: datetime
    queues: List[QueueReportOut]
    open_follow_ups: int


class AuditEventOut(_Out):
    id: int
    ts: datetime
    actor_type: str
    actor: str
    action: str
    handoff_id: Optional[str]
    detail: Optional[Dict[str, Any]]


class OnlineAgentOut(_Out):
    username: str
    display_name: str
    role: str


class HealthOut(_Out):
    status: str
    database: str
    redis: str


# --- errors (errors.py) -------------------------------------------------------------------
class ErrorDetailOut(_Out):
    loc: List[Union[str, int]]
    msg: str


class ErrorBodyOut(_Out):
    code: str = Field(..., description="e.g. not_authenticated, forbidden, handoff_not_found, validation_error")
    message: str
    details: Optional[List[ErrorDetailOut]] = Field(None, description="validation_error: what is wrong where")
    # The content studio's answers (services/agent_desk/studio): where a content file is wrong,
    # and on a conflict what the other editor changed since this one read the file.
    file: Optional[str] = Field(None, description="content_invalid / edit_conflict: the project file")
    line: Optional[int] = Field(None, description="content_invalid: the line to fix (1-based)")
    diff: Optional[str] = Field(None, description="edit_conflict: unified diff, the version read → the current one")
    current_version: Optional[str] = Field(None, description="edit_conflict: the file's version now")


class ErrorOut(_Out):
    error: ErrorBodyOut
