"""Domain errors. Each carries its HTTP status, a stable code and a Japanese message.

Services raise these, never ``HTTPException``; ``jichitai.app`` renders them all as
``{"code", "message", "details"}``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "要求を処理できませんでした。"

    def __init__(
        self, message: str | None = None, *, code: str | None = None, details: Any = None
    ) -> None:
        self.message = message or self.default_message
        self.error_code = code or self.code
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.error_code, "message": self.message, "details": self.details}


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"
    default_message = "ログインが必要です。"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    default_message = "この操作を行う権限がありません。"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "指定された記録は見つかりません。"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = (
        "他の操作で先に更新されています。最新の内容を読み込んでからやり直してください。"
    )


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    default_message = "送信されたデータが大きすぎます。"


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation_error"
    default_message = "入力内容に誤りがあります。"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"
    default_message = "しばらく時間をおいてから再度お試しください。"


class TenantContextMissing(RuntimeError):
    """A programming error: a tenant-scoped table was queried with no tenant context set."""


class TenantMismatch(RuntimeError):
    """A programming error: a row of one tenant was written under another tenant's context."""
