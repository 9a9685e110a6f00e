"""The content studio's answers: domain.yml responses and the knowledge tables as forms, the
placeholder check and the app / WeChat preview (services/agent_desk/studio/answers.py).

GET  /api/studio/answers                          what can be edited (responses, tables)
GET  /api/studio/answers/responses/{name}         a response's variations, its placeholders, version
PUT  /api/studio/answers/responses/{name}         new variations -> one commit on the studio branch
GET  /api/studio/answers/tables/{file_stem}       a knowledge table's entries, version
PUT  /api/studio/answers/tables/{file_stem}       changed entries -> one commit on the studio branch
POST /api/studio/answers/preview                  a message as the app and WeChat show it
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, List, Literal, Optional, Union

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr, conlist, constr, validator

from services.agent_desk import errors
from services.agent_desk.api.deps import StudioDep, StudioUser
from services.agent_desk.studio import answers, author_of
from services.agent_desk.studio.schemas import ChangeOut
from services.openapi_docs import document_nullable

router = APIRouter(prefix="/api/studio", tags=["studio"])

RESPONSE_NAME = r"^utter_[A-Za-z0-9_]{1,120}$"
FILE_STEM = r"^[A-Za-z0-9_\-]{1,64}$"
# Characters a content file may not hold: control characters (except tab and line breaks) and
# lone surrogates (not UTF-8).
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

PathKey = Union[StrictInt, StrictStr]
Scalar = Optional[Union[StrictBool, StrictInt, StrictFloat, StrictStr]]
Version = constr(regex=r"^[0-9a-f]{0,64}$")


def _writable(value: Any) -> Any:
    if isinstance(value, str):
        if _UNWRITABLE.search(value):
            raise ValueError("不能包含控制字符")
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _dict(value: Any) -> Any:
    return dataclasses.asdict(value)


# ------------------------------------------------------------------------------ models
class _Out(BaseModel):
    class Config:
        schema_extra = staticmethod(document_nullable)  # Optional fields may be null, and say so


class ButtonIO(BaseModel):
    title: constr(max_length=200) = Field(..., description="the button's text (the app's quick reply)")
    payload: constr(max_length=1000) = Field(..., description="what a click sends, e.g. /request_human")

    _clean = validator("title", "payload", allow_reuse=True)(_writable)


class VariationIn(BaseModel):
    text: constr(max_length=4000) = ""
    buttons: conlist(ButtonIO, max_items=30) = []
    channel: Optional[constr(regex=r"^[A-Za-z0-9_\-]{1,40}$")] = Field(
        None, description="only for this channel (Rasa's channel-specific variation)")

    _clean = validator("text", allow_reuse=True)(_writable)


class ResponseEditIn(BaseModel):
    variations: conlist(VariationIn, min_items=1, max_items=30)
    base_version: Version = Field(..., description="`version` of the read (domain.yml's)")
    message: Optional[constr(max_length=200)] = Field(None, description="修改说明; default 修改回答 <name>")

    _clean = validator("message", allow_reuse=True)(_writable)


class SourceOut(_Out):
    reader: str = Field(..., description="动作 / 渠道程序 / 坐席系统")
    file: str
    line: int
    filled: Optional[List[str]] = Field(..., description="placeholders this call fills; null: not known")


class PlaceholdersOut(_Out):
    required: List[str] = Field(..., description="must stay in the text (the program fills them)")
    fills: List[str] = Field(..., description="the program fills these")
    slots: List[str] = Field(..., description="responses only: slots Rasa fills as well")
    open: bool = Field(..., description="what is filled cannot be told: any name is accepted")
    sources: List[SourceOut]
    note: str


class VariationOut(_Out):
    text: str
    buttons: List[ButtonIO]
    channel: Optional[str]
    line: Optional[int]
    other_keys: List[str] = Field(..., description="other keys of the variation, kept as they are")


class ResponseOut(_Out):
    name: str
    label: str = Field(..., description="what it is for (topics.yml), may be empty")
    file: str
    line: Optional[int]
    version: str = Field(..., description="send it back as base_version")
    variations: List[VariationOut]
    placeholders: PlaceholdersOut


class ResponseSummaryOut(_Out):
    name: str
    label: str
    variations: int
    buttons: int = Field(..., description="buttons of the first variation")
    text: str = Field(..., description="the first variation's text (its beginning)")
    placeholders: List[str]


class TableSummaryOut(_Out):
    stem: str
    file: str
    title: str
    entries: int


class AnswersOut(_Out):
    responses: List[ResponseSummaryOut]
    tables: List[TableSummaryOut]
    domain_version: str


class EntryOut(_Out):
    path: List[PathKey] = Field(..., description="keys and list indexes from the top of the table")
    group: str
    label: str
    kind: Literal["text", "name", "number", "bool"]
    value: Scalar
    line: Optional[int]
    comment: str
    section: str
    removable: bool
    placeholders: Optional[PlaceholdersOut] = Field(None, description="wording.yml fragments")


class ListOut(_Out):
    path: List[PathKey]
    group: str
    label: str
    line: Optional[int]


class TableOut(_Out):
    stem: str
    file: str
    title: str
    description: str
    version: str = Field(..., description="send it back as base_version")
    entries: List[EntryOut]
    lists: List[ListOut] = Field(..., description="lists of values that take new items")


class TableOpIn(BaseModel):
    op: Literal["set", "append", "remove"] = "set"
    path: conlist(PathKey, min_items=1, max_items=20)
    value: Scalar = None

    @validator("path", each_item=True)
    def _key(cls, key: Any) -> Any:
        if isinstance(key, str) and (len(key) > 200 or _UNWRITABLE.search(key)):
            raise ValueError("路径不正确")
        return key

    @validator("value")
    def _value(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 8000:
            raise ValueError("文字太长")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("必须是普通的数字")
        return _writable(value)


class TableEditIn(BaseModel):
    changes: conlist(TableOpIn, min_items=1, max_items=500)
    base_version: Version = Field(..., description="`version` of the read")
    message: Optional[constr(max_length=200)] = None

    _clean = validator("message", allow_reuse=True)(_writable)


class PreviewIn(BaseModel):
    text: constr(max_length=8000) = ""
    buttons: conlist(ButtonIO, max_items=30) = []
    kind: Literal["response", "fragment"] = Field("response", description="how placeholders are read")
    name: Optional[constr(max_length=200)] = Field(None, description="the response / fragment, to check placeholders")

    _clean = validator("text", "name", allow_reuse=True)(_writable)


class WarningOut(_Out):
    code: str = Field(..., description="wechat_too_long / too_many_buttons / button_title_long / placeholder_sample "
                                       "/ placeholder_unfilled / placeholder_missing / fragment_malformed / empty_text")
    message: str


class AppPreviewOut(_Out):
    text: str
    buttons: List[ButtonIO] = Field(..., description="shown as quick replies under the bubble")
    chars: int


class WeChatPreviewOut(_Out):
    text: str = Field(..., description="what the WeChat connector sends: buttons as numbered lines")
    options: List[str] = Field(..., description="what replying 1, 2, ... sends")
    chars: int
    bytes: int
    limit_bytes: int
    messages: int = Field(..., description="how many WeChat messages the text becomes")


class SampleOut(_Out):
    name: str
    sample: str


class PreviewOut(_Out):
    app: AppPreviewOut
    wechat: WeChatPreviewOut
    placeholders: List[SampleOut]
    warnings: List[WarningOut]
    expected: Optional[PlaceholdersOut]


# ------------------------------------------------------------------------------ routes
@router.get("/answers", response_model=AnswersOut, responses=errors.error_responses(403, 503))
def list_answers(studio: StudioDep, user: StudioUser) -> AnswersOut:
    """The responses of domain.yml and the knowledge tables, to pick one to edit."""
    responses, version = answers.list_responses(studio.workspace)
    tables = answers.list_tables(studio.workspace)
    return AnswersOut(responses=[ResponseSummaryOut.parse_obj(_dict(r)) for r in responses],
                      tables=[TableSummaryOut.parse_obj(_dict(t)) for t in tables], domain_version=version)


@router.get("/answers/responses/{name}", response_model=ResponseOut, responses=errors.error_responses(403, 503))
def read_response(studio: StudioDep, user: StudioUser,
                  name: str = Path(..., regex=RESPONSE_NAME)) -> ResponseOut:
    return ResponseOut.parse_obj(_dict(answers.read_response(studio.workspace, name)))


@router.put("/answers/responses/{name}", response_model=ChangeOut, responses=errors.error_responses(403, 409, 503))
def save_response(body: ResponseEditIn, studio: StudioDep, user: StudioUser,
                  name: str = Path(..., regex=RESPONSE_NAME)) -> ChangeOut:
    """Replaces the response's variations (one commit on the studio branch, by this user). 409 with the
    diff when domain.yml changed since it was read; 422 with file and line for a placeholder the program
    does not fill (or one it fills that is gone), or content the check refuses."""
    edits = [answers.VariationEdit(v.text.strip(), [answers.Button(b.title.strip(), b.payload.strip())
                                                    for b in v.buttons], v.channel) for v in body.variations]
    change = answers.save_response(studio.workspace, name, edits, body.base_version, author_of(user), body.message)
    return ChangeOut.of(change)


@router.get("/answers/tables/{file_stem}", response_model=TableOut, responses=errors.error_responses(403, 503))
def read_table(studio: StudioDep, user: StudioUser, file_stem: str = Path(..., regex=FILE_STEM)) -> TableOut:
    """The table data/knowledge/<file_stem>.yml as entries (path, Chinese label, value, line)."""
    return TableOut.parse_obj(_dict(answers.read_table(studio.workspace, file_stem)))


@router.put("/answers/tables/{file_stem}", response_model=ChangeOut, responses=errors.error_responses(403, 409, 503))
def save_table(body: TableEditIn, studio: StudioDep, user: StudioUser,
               file_stem: str = Path(..., regex=FILE_STEM)) -> ChangeOut:
    """Sets entries' values, appends to / removes from value lists (one commit). Same 409 / 422 as a
    response; a table the action server reads must still pass its model (actions/knowledge.py)."""
    ops = [answers.TableOp(c.op, list(c.path), c.value) for c in body.changes]
    change = answers.save_table(studio.workspace, file_stem, ops, body.base_version, author_of(user), body.message)
    return ChangeOut.of(change)


@router.post("/answers/preview", response_model=PreviewOut, responses=errors.error_responses(403, 503))
def preview(body: PreviewIn, studio: StudioDep, user: StudioUser) -> PreviewOut:
    """One message as the app shows it (bubble, quick replies) and as the WeChat connector sends it
    (numbered lines, 回复数字), with lengths and warnings; placeholders shown as sample values."""
    found = answers.preview(studio.workspace, body.text, [answers.Button(b.title, b.payload) for b in body.buttons],
                            body.kind, body.name)
    return PreviewOut.parse_obj(_dict(found))
