"""The content studio's inbox and annotation routes (studio/inbox.py, studio/annotate.py).

GET  /api/studio/inbox                      messages the bot did not handle well, grouped, masked
GET  /api/studio/conversations/{sender_id}  one conversation's transcript, masked
GET  /api/studio/intents                    the worktree's intents, their files and file versions
GET  /api/studio/intents/{name}             one intent's examples
POST /api/studio/annotations                messages → examples of an (existing or new) intent: one commit

Everything a customer wrote is masked on the server (bot.masking) before it is answered; the
examples written are the masked texts. Routes are `def`: Redis, git and YAML work runs in the
threadpool, never on the event loop.
"""
from __future__ import annotations

import datetime as dt
from typing import Dict, List, Optional
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, constr

from services.agent_desk import errors
from services.agent_desk.api.deps import StudioDep, StudioUser
from services.agent_desk.studio import author_of
from services.agent_desk.studio import annotate as annotation
from services.agent_desk.studio import inbox as inbox_mod
from services.agent_desk.studio.schemas import ChangeOut

router = APIRouter(prefix="/api/studio", tags=["studio"])


# ------------------------------------------------------------------------------ models
class EntityOut(BaseModel):
    entity: str
    start: int = Field(..., description="offset in the masked text")
    end: int
    value: str = Field(..., description="masked")


class InboxMessageOut(BaseModel):
    sender_id: str
    text: str = Field(..., description="masked (card, ID, phone numbers, names); what annotation writes")
    intent: Optional[str] = Field(None, description="the bot's best real intent")
    intent_label: str = ""
    confidence: Optional[float] = None
    reason: str = Field(..., description="the first of reasons")
    reasons: List[str] = Field(..., description="nlu_fallback | out_of_scope | low_confidence | core_fallback | "
                                                "handoff | repeated | low_rating")
    ts: Optional[float] = Field(None, description="seconds since the epoch (the tracker's timestamp)")
    entities: List[EntityOut]
    annotated: Optional[str] = Field(None, description="the intent this text is now an example of (已标注)")


class GuessOut(BaseModel):
    intent: str
    label: str
    count: int


class InboxGroupOut(BaseModel):
    id: str
    size: int
    senders: int
    representative: str
    reasons: Dict[str, int]
    guessed_intents: List[GuessOut]
    annotated: int = Field(..., description="how many of its messages are already examples")
    examples: List[InboxMessageOut]


class InboxOut(BaseModel):
    conversations: int = Field(..., description="conversations read (the newest, at most `limit`)")
    messages: int
    threshold: float
    groups: List[InboxGroupOut]


class TurnOut(BaseModel):
    role: str = Field(..., description="user | bot | system")
    text: str = Field(..., description="masked")
    ts: Optional[float] = None
    intent: Optional[str] = None
    confidence: Optional[float] = None
    entities: List[EntityOut] = []
    event: Optional[str] = Field(None, description="system turns: handoff | session_started | rating")


class ConversationOut(BaseModel):
    sender_id: str
    turns: List[TurnOut]


class IntentOut(BaseModel):
    name: str
    label: str = Field(..., description="中文名称 from data/knowledge/intents.yml, \"\" when none")
    file: Optional[str] = Field(None, description="the NLU file holding its examples")
    examples_count: int
    version: str = Field(..., description="the version of `file` (send it back in base_versions)")


class IntentsOut(BaseModel):
    intents: List[IntentOut]
    versions: Dict[str, str] = Field(..., description="path -> version of every file an annotation may write")
    nlu_files: List[str]
    default_new_file: str


class IntentDetailOut(IntentOut):
    examples: List[str]


class NewIntentIn(BaseModel):
    answer_text: constr(strip_whitespace=True, min_length=1, max_length=2000)  # type: ignore[valid-type]
    file: Optional[constr(max_length=200)] = Field(  # type: ignore[valid-type]
        None, description=f"data/nlu/*.yml for its examples (default {annotation.DEFAULT_NEW_FILE})")
    label: Optional[constr(max_length=60)] = Field(None, description="中文名称")  # type: ignore[valid-type]


class AnnotationIn(BaseModel):
    texts: List[constr(max_length=1000)] = Field(..., min_items=1, max_items=500)  # type: ignore[valid-type]
    intent: constr(strip_whitespace=True, min_length=1, max_length=64)  # type: ignore[valid-type]
    new_intent: Optional[NewIntentIn] = Field(None, description="create `intent` (with an answer and a rule)")
    base_versions: Dict[constr(max_length=300), constr(max_length=64)] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="path -> version read (GET /api/studio/intents `versions`)")


class AnnotationOut(ChangeOut):
    intent: str
    added: List[str] = Field(..., description="examples written (masked)")
    skipped: List[str] = Field(..., description="already examples of the intent")
    created_intent: bool


# ------------------------------------------------------------------------------ helpers
def _since(value: Optional[str], timezone: str) -> Optional[float]:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise errors.InvalidInput("since 须为日期或时间，例如 2024-05-01 或 2024-05-01T08:00") from exc
    if when.tzinfo is None:
        try:
            when = when.replace(tzinfo=ZoneInfo(timezone))
        except (KeyError, ValueError):
            when = when.astimezone()
    return when.timestamp()


def _entities(items: List[inbox_mod.Entity]) -> List[EntityOut]:
    return [EntityOut(entity=e.entity, start=e.start, end=e.end, value=e.value) for e in items]


def _message(message: inbox_mod.InboxMessage, labels: Dict[str, str]) -> InboxMessageOut:
    return InboxMessageOut(sender_id=message.sender_id, text=message.text, intent=message.intent,
                           intent_label=labels.get(message.intent or "", ""), confidence=message.confidence,
                           reason=message.reason, reasons=list(message.reasons), ts=message.ts,
                           entities=_entities(message.entities), annotated=message.annotated)


def _intent_out(info: annotation.IntentInfo) -> IntentOut:
    return IntentOut(name=info.name, label=info.label, file=info.file, examples_count=len(info.examples),
                     version=info.version)


# ------------------------------------------------------------------------------ routes
@router.get("/inbox", response_model=InboxOut, responses=errors.error_responses(403, 503))
def inbox(studio: StudioDep, user: StudioUser,
          limit: int = Query(200, ge=1, le=2000, description="the newest N conversations"),
          since: Optional[str] = Query(None, max_length=40, description="ISO date/time; only events since then"),
          threshold: float = Query(inbox_mod.DEFAULT_THRESHOLD, ge=0, le=1, description="low confidence below this"),
          include_annotated: bool = Query(True, description="false = hide messages already annotated")) -> InboxOut:
    """Messages that fell back, had low confidence, were followed by 转人工 or a repeat, or were in a
    low-rated session; grouped by similarity; masked."""
    settings = studio.settings
    start = _since(since, settings.timezone)
    project = annotation.read_project(studio.workspace)
    annotated = {text: found[0] for text, found in project.example_intent.items()}
    labels = {name: info.label for name, info in project.intents.items() if info.label}
    client = inbox_mod.redis_client(settings.effective_redis_url)
    try:
        found = inbox_mod.build_inbox(client, settings.redis_key_prefix, limit=limit, since=start,
                                      threshold=threshold, annotated=annotated, include_annotated=include_annotated,
                                      background=list(project.example_intent))
    finally:
        client.close()
    groups = []
    for group in found.groups:
        groups.append(InboxGroupOut(
            id=group.id, size=len(group.messages), senders=len({m.sender_id for m in group.messages}),
            representative=group.representative, reasons=group.reasons,
            guessed_intents=[GuessOut(intent=i, label=labels.get(i, ""), count=c) for i, c in group.guessed],
            annotated=sum(1 for m in group.messages if m.annotated),
            examples=[_message(m, labels) for m in group.messages]))
    return InboxOut(conversations=found.conversations, messages=found.messages, threshold=threshold, groups=groups)


@router.get("/conversations/{sender_id:path}", response_model=ConversationOut,
            responses=errors.error_responses(403, 404, 503))
def conversation(studio: StudioDep, user: StudioUser,
                 sender_id: str = Path(..., min_length=1, max_length=256)) -> ConversationOut:
    """One conversation from the tracker store, masked: customer turns with intent and confidence."""
    client = inbox_mod.redis_client(studio.settings.effective_redis_url)
    try:
        conv = inbox_mod.read_conversation(client, studio.settings.redis_key_prefix, sender_id)
    finally:
        client.close()
    turns = [TurnOut(role=t.role, text=t.text, ts=t.ts, intent=t.intent, confidence=t.confidence,
                     entities=_entities(t.entities), event=t.event) for t in inbox_mod.transcript(conv)]
    return ConversationOut(sender_id=conv.sender_id, turns=turns)


@router.get("/intents", response_model=IntentsOut, responses=errors.error_responses(403, 503))
def intents(studio: StudioDep, user: StudioUser) -> IntentsOut:
    """The worktree's intents (domain.yml and data/nlu/*.yml) and the versions to save against."""
    project = annotation.read_project(studio.workspace)
    return IntentsOut(intents=[_intent_out(i) for i in project.intents.values()], versions=project.versions,
                      nlu_files=project.nlu_files, default_new_file=annotation.DEFAULT_NEW_FILE)


@router.get("/intents/{name}", response_model=IntentDetailOut, responses=errors.error_responses(403, 404, 503))
def intent(studio: StudioDep, user: StudioUser, name: str = Path(..., max_length=64)) -> IntentDetailOut:
    info, _ = annotation.intent_detail(studio.workspace, name)
    return IntentDetailOut(**_intent_out(info).dict(), examples=info.examples)


@router.post("/annotations", response_model=AnnotationOut, status_code=201,
             responses=errors.error_responses(403, 404, 409, 503))
def annotate(body: AnnotationIn, studio: StudioDep, user: StudioUser) -> AnnotationOut:
    """Writes the (masked) messages as examples of the intent, creating it with `new_intent`
    (domain intent, utter_<intent> with the answer, a rule in data/rules/faq.yml): one commit.
    A file changed since `base_versions` → 409 with the diff; content the check refuses → 422."""
    new = None
    if body.new_intent is not None:
        new = annotation.NewIntent(answer_text=body.new_intent.answer_text, file=body.new_intent.file,
                                   label=body.new_intent.label)
    done = annotation.annotate(studio.workspace, author_of(user), body.texts, body.intent, dict(body.base_versions),
                               new)
    return AnnotationOut(**ChangeOut.of(done.change).dict(), intent=done.intent, added=done.added,
                         skipped=done.skipped, created_intent=done.created_intent)
