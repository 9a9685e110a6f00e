"""Domain errors of the core-banking service, mapped to HTTP in one place.

    CoreBankingError                 500 internal_error
    ├── NotAuthenticated             401 not_authenticated
    ├── NotFound                     404 not_found (customers never learn whether another
    │                                    customer's card/transfer/loan/ticket exists)
    ├── InvalidRequest               422 invalid_request (also request validation errors)
    ├── PayloadTooLarge              413 payload_too_large
    ├── Conflict                     409 conflict (e.g. freezing a card reported lost)
    └── InjectedFault                500 injected_fault (fault injection, see faults.py)

Every error response has the body {"error": {"code": "...", "message": "中文 / English"}}
(`schemas.ErrorOut`), and /openapi.json says so: `install_openapi_errors` documents on every
operation the answers all routes share (500; 401 where a token is needed; 404 where the path
names a record; 413 where a body may be sent; 422 with this body instead of FastAPI's default),
and routes declare the others with `responses=error_responses(...)` (e.g. 409).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic.schema import schema as models_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.masking import mask_text
from services import openapi_docs
from services.core_banking.schemas import ErrorOut

logger = logging.getLogger("core_banking.errors")


class CoreBankingError(Exception):
    status_code = 500
    code = "internal_error"
    message_zh = "系统繁忙，请稍后再试"
    message_en = "Internal error, please try again later"

    def __init__(self, message_zh: str = "", message_en: str = "", *, code: str = "") -> None:
        if message_zh:
            self.message_zh = message_zh
        if message_en:
            self.message_en = message_en
        if code:
            self.code = code
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.message_zh} / {self.message_en}"

    def headers(self) -> Dict[str, str]:
        return {}


class NotAuthenticated(CoreBankingError):
    status_code = 401
    code = "not_authenticated"
    message_zh = "请先登录，或登录已过期"
    message_en = "Not authenticated or the token has expired"

    def headers(self) -> Dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class NotFound(CoreBankingError):
    status_code = 404
    code = "not_found"
    message_zh = "未找到相关记录"
    message_en = "Not found"


def not_found(what_zh: str, what_en: str) -> NotFound:
    return NotFound(f"未找到该{what_zh}", f"{what_en} not found")


class InvalidRequest(CoreBankingError):
    status_code = 422
    code = "invalid_request"
    message_zh = "请求参数有误"
    message_en = "Invalid request"


class PayloadTooLarge(CoreBankingError):
    status_code = 413
    code = "payload_too_large"
    message_zh = "请求内容过大"
    message_en = "Request body too large"


class Conflict(CoreBankingError):
    status_code = 409
    code = "conflict"
    message_zh = "当前状态下无法办理该业务"
    message_en = "The request conflicts with the current state"


class InjectedFault(CoreBankingError):
    status_code = 500
    code = "injected_fault"
    message_zh = "系统繁忙（故障注入），请稍后再试"
    message_en = "Injected fault for reliability testing"


def error_body(code: str, message: str, details: Any = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_response(error: CoreBankingError) -> JSONResponse:
    return JSONResponse(error_body(error.code, error.message), status_code=error.status_code,
                        headers=error.headers())


def _describe_validation(errors: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    described = []
    for item in errors:
        location = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body",))
        # Never echo the rejected input back (it may be huge or contain a card number).
        described.append({"field": location or "body", "problem": str(item.get("msg", ""))[:300]})
    return described[:20]


_HTTP_MESSAGES = {
    404: ("接口不存在", "No such endpoint"),
    405: ("不支持该请求方法", "Method not allowed"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CoreBankingError)
    async def _domain(_: Request, exc: CoreBankingError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _describe_validation(exc.errors())
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
        message = f"请求参数有误 / Invalid request: {summary}"
        return JSONResponse(error_body("invalid_request", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh, en = _HTTP_MESSAGES.get(exc.status_code, ("请求无法处理", str(exc.detail)))
        return JSONResponse(error_body(f"http_{exc.status_code}", f"{zh} / {en}"),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error on %s %s: %s", request.method, request.url.path,
                     mask_text(repr(exc)), exc_info=False)
        return error_response(CoreBankingError())


# -- the error answers in /openapi.json --------------------------------------------------------
ERROR_DESCRIPTIONS = {
    401: "not_authenticated: no valid token for this route (invalid_credentials: wrong login)",
    404: "not_found: no such record for this caller (other customers' records included)",
    409: "conflict: not possible in the record's current state",
    413: "payload_too_large: the request body is larger than CORE_BANKING_MAX_BODY_BYTES",
    422: "invalid_request: the request does not match the schema, or a rule of the bank; details say where",
    500: "internal_error, or injected_fault while fault injection is on (PUT /internal/faults)",
}


def error_responses(*statuses: int) -> Dict[int, Dict[str, Any]]:
    """`responses=` for a route's own error answers (the shared ones are added to all routes)."""
    return openapi_docs.error_responses(ERROR_DESCRIPTIONS, ErrorOut, *statuses)


def _documented_error(status: int) -> Dict[str, Any]:
    return openapi_docs.documented_error(ERROR_DESCRIPTIONS, status)


def document_errors(document: Dict[str, Any]) -> Dict[str, Any]:
    """Adds the error answers that every route shares to an OpenAPI document (in place)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in models_schema([ErrorOut], ref_prefix="#/components/schemas/")["definitions"].items():
        components.setdefault(name, definition)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            shared = [500]
            if operation.get("security"):
                shared.append(401)
            if any(p.get("in") == "path" for p in parameters):
                shared.append(404)
            if method not in ("get", "head", "options"):
                shared.append(413)  # BodySizeLimitMiddleware, whether or not the route takes a body
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


def install_openapi_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> Dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
