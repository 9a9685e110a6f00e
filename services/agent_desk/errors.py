"""Domain errors of the agent desk and their one mapping to HTTP.

Every error body is {"error": {"code": "...", "message": "..."}} (`schemas.ErrorOut`); messages
are safe to show (no stack traces, no third-party error text). /openapi.json says so:
`install_openapi_errors` documents on every operation the answers routes share (401 where a
token is needed, 404 where the path names a handoff, 422 with this body instead of FastAPI's
default), and routes declare the others with `responses=error_responses(...)`.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterable, Mapping, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic.schema import schema as models_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from services import openapi_docs
from services.agent_desk.schemas import ErrorOut

log = logging.getLogger(__name__)


class DeskError(Exception):
    status_code = 400
    code = "bad_request"
    message = "请求无效"

    def __init__(self, message: Optional[str] = None, *, code: Optional[str] = None, **extra: Any):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.extra = extra  # more fields of the error body (ErrorBodyOut), e.g. file and line

    headers: Optional[Dict[str, str]] = None


class NotAuthenticated(DeskError):
    status_code, code, message = 401, "not_authenticated", "需要登录"
    headers = {"WWW-Authenticate": "Bearer"}


class InvalidCredentials(DeskError):
    status_code, code, message = 401, "invalid_credentials", "用户名或密码错误"


class TooManyAttempts(DeskError):
    status_code, code, message = 429, "too_many_attempts", "登录失败次数过多，请稍后再试"


class Forbidden(DeskError):
    status_code, code, message = 403, "forbidden", "没有权限执行此操作"


class HandoffNotFound(DeskError):
    status_code, code, message = 404, "handoff_not_found", "会话不存在"


class NotFound(DeskError):
    status_code, code, message = 404, "not_found", "记录不存在"


class InvalidInput(DeskError):
    status_code, code, message = 422, "validation_error", "请求参数不正确"


class DeliveryNotFound(DeskError):
    status_code, code, message = 404, "delivery_not_found", "投递记录不存在"


class InvalidState(DeskError):
    """The handoff is not in a state that allows the operation (e.g. claiming a closed one)."""

    status_code, code, message = 409, "invalid_state", "会话当前状态不允许此操作"


class AlreadyClaimed(InvalidState):
    code, message = "already_claimed", "该会话已被其他坐席接入"


class HandoffClosed(InvalidState):
    code, message = "handoff_closed", "会话已结束"


class UnknownQueue(DeskError):
    status_code, code, message = 422, "unknown_queue", "队列不存在"


class FollowUpDueMissing(DeskError):
    status_code, code, message = 422, "follow_up_due_required", "需要跟进的会话请填写跟进时间（须晚于现在）"


class TaskNotFound(DeskError):
    status_code, code, message = 404, "task_not_found", "跟进任务不存在"


class SuggestionNotFound(DeskError):
    status_code, code, message = 404, "suggestion_not_found", "该建议回复不属于此会话"


class CustomerNotFound(DeskError):
    status_code, code, message = 404, "customer_not_found", "核心系统里没有这位客户"


class CoreBankingUnavailable(DeskError):
    status_code, code, message = 503, "core_banking_unavailable", "核心系统暂时查不到客户资料，请稍后再试"


class LiveStateUnavailable(DeskError):
    status_code, code, message = 503, "live_state_unavailable", "实时服务暂不可用"


class ContentInvalid(DeskError):
    """A studio edit that would break a content file: nothing was saved (body: file, line)."""

    status_code, code, message = 422, "content_invalid", "内容有误，未保存"


class EditConflict(DeskError):
    """Someone else changed the file since it was read: nothing was saved (body: diff)."""

    status_code, code, message = 409, "edit_conflict", "其他人已修改了这个文件，请查看差异后重新编辑"


class StudioUnavailable(DeskError):
    status_code, code, message = 503, "studio_unavailable", "内容工作室暂不可用"


def _body(code: str, message: str, **extra: Any) -> Dict[str, Any]:
    error: Dict[str, Any] = {"code": code, "message": message}
    error.update(extra)
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DeskError)
    async def _desk_error(_: Request, exc: DeskError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message, **exc.extra), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse(_body("validation_error", "请求参数不正确", details=details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated", 403: "forbidden"}
        return JSONResponse(_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(_body("internal_error", "服务内部错误"), status_code=500)


# -- the error answers in /openapi.json --------------------------------------------------------
ERROR_DESCRIPTIONS = {
    401: "not_authenticated / invalid_token / invalid_service_token: no valid token for this route",
    403: "forbidden: the agent may not do this (another agent's handoff, a queue they do not serve, "
         "supervisors only)",
    404: "handoff_not_found / delivery_not_found / no_active_handoff / not_found",
    409: "invalid_state / already_claimed / handoff_closed: not possible in the handoff's current state; "
         "edit_conflict: a content file changed since it was read (diff, current_version)",
    422: "validation_error (details say where) / unknown_queue / content_invalid (file, line)",
    429: "too_many_attempts: too many failed logins for this username from this address",
    503: "core_banking_unavailable: core banking cannot be asked now (not connected, down, or a bad answer); "
         "studio_unavailable: the content studio's project or Rasa cannot be reached",
}


def error_responses(*statuses: int) -> Dict[int, Dict[str, Any]]:
    """`responses=` for a route's own error answers (the shared ones are added to all routes)."""
    return openapi_docs.error_responses(ERROR_DESCRIPTIONS, ErrorOut, *statuses)


def _documented_error(status: int) -> Dict[str, Any]:
    return openapi_docs.documented_error(ERROR_DESCRIPTIONS, status)


def document_errors(document: Dict[str, Any],
                    extra: Mapping[str, Iterable[int]] = ()) -> Dict[str, Any]:
    """Adds to an OpenAPI document (in place) the error answers routes share, and `extra`
    ("METHOD /path" -> statuses) for routes that do not declare their own."""
    extra = dict(extra)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in models_schema([ErrorOut], ref_prefix="#/components/schemas/")["definitions"].items():
        components.setdefault(name, definition)
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            shared = list(extra.get(f"{method.upper()} {path}", ()))
            if operation.get("security"):
                shared.append(401)
            if any(p.get("in") == "path" for p in parameters):
                shared.append(404)
            if parameters or "requestBody" in operation:
                responses["422"] = _documented_error(422)  # not FastAPI's {"detail": [...]}
            for status in shared:
                responses.setdefault(str(status), _documented_error(status))
            operation["responses"] = dict(sorted(responses.items()))
    text = json.dumps(document["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's, now referenced by nothing
        if f'"#/components/schemas/{unused}"' not in text:
            components.pop(unused, None)
    return document


def install_openapi_errors(app: FastAPI, extra: Mapping[str, Iterable[int]] = ()) -> None:
    generate = app.openapi

    def openapi() -> Dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(generate(), extra)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
