"""Domain errors of the agent desk and their one mapping to HTTP.

Every error body is {"error": {"code": "...", "message": "..."}}; messages are safe to show
(no stack traces, no third-party error text).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class DeskError(Exception):
    status_code = 400
    code = "bad_request"
    message = "请求无效"

    def __init__(self, message: Optional[str] = None, *, code: Optional[str] = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code

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


class LiveStateUnavailable(DeskError):
    status_code, code, message = 503, "live_state_unavailable", "实时服务暂不可用"


def _body(code: str, message: str, **extra: Any) -> Dict[str, Any]:
    error: Dict[str, Any] = {"code": code, "message": message}
    error.update(extra)
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DeskError)
    async def _desk_error(_: Request, exc: DeskError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers)

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
