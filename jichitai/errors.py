"""Rendering of every error as ``{"code", "message", "details"}`` with a Japanese message."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import Conflict, DomainError

log = logging.getLogger("jichitai.errors")

# Pydantic error types → Japanese. Anything not listed falls back to a generic sentence; the
# type itself stays in ``details`` as the stable, machine-readable part.
_MESSAGES: dict[str, str] = {
    "missing": "必須項目です。",
    "extra_forbidden": "この項目は指定できません。",
    "string_too_short": "{min_length}文字以上で入力してください。",
    "string_too_long": "{max_length}文字以内で入力してください。",
    "string_pattern_mismatch": "形式が正しくありません。",
    "string_type": "文字列で入力してください。",
    "int_parsing": "整数で入力してください。",
    "int_type": "整数で入力してください。",
    "bool_parsing": "真偽値で入力してください。",
    "greater_than_equal": "{ge}以上の値を入力してください。",
    "less_than_equal": "{le}以下の値を入力してください。",
    "enum": "選択肢の中から選んでください（{expected}）。",
    "literal_error": "選択肢の中から選んでください（{expected}）。",
    "uuid_parsing": "識別子の形式が正しくありません。",
    "date_from_datetime_parsing": "日付の形式が正しくありません。",
    "datetime_from_date_parsing": "日時の形式が正しくありません。",
    "json_invalid": "JSON の形式が正しくありません。",
    "model_attributes_type": "オブジェクトで指定してください。",
    "dict_type": "オブジェクトで指定してください。",
    "list_type": "配列で指定してください。",
    "too_short": "{min_length}件以上指定してください。",
    "too_long": "{max_length}件以内で指定してください。",
}


def japanese_message(error: dict[str, Any]) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        # Custom validators (PydanticCustomError) already carry a Japanese message.
        msg = str(error.get("msg", ""))
        return (
            msg
            if error["type"] not in {"value_error", "assertion_error"}
            else "値が正しくありません。"
        )
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in {"body", "query", "path", "header"}]
    return ".".join(parts)


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {"field": _field(tuple(e["loc"])), "type": e["type"], "message": japanese_message(e)}
        for e in errors
    ]


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "details": details}, status_code=status)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return error_response(exc.status_code, exc.error_code, exc.message, exc.details)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(list(exc.errors()))
    first = details[0] if details else None
    message = "入力内容に誤りがあります。"
    if first:
        message += f"（{first['field'] or '入力'}: {first['message']}）"
    return error_response(422, "validation_error", message, details)


async def on_stale_data(request: Request, exc: Exception) -> Response:
    return error_response(409, Conflict.code, Conflict.default_message)


_HTTP_MESSAGES = {
    404: ("not_found", "指定されたページまたは記録は見つかりません。"),
    405: ("method_not_allowed", "この操作は許可されていません。"),
    401: ("unauthenticated", "ログインが必要です。"),
    403: ("forbidden", "この操作を行う権限がありません。"),
    413: ("payload_too_large", "送信されたデータが大きすぎます。"),
}


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _HTTP_MESSAGES.get(
        exc.status_code, ("http_error", "要求を処理できませんでした。")
    )
    return error_response(exc.status_code, code, message)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Log the type and the request id only: an exception's text may carry personal data.
    log.error(
        "unhandled %s in request %s", type(exc).__name__, getattr(request.state, "request_id", "-")
    )
    return error_response(
        500, "internal_error", "システムエラーが発生しました。処理は保存されていません。"
    )


HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    RequestValidationError: on_validation_error,
    StaleDataError: on_stale_data,
    StarletteHTTPException: on_http_error,
    Exception: on_unexpected,
}
