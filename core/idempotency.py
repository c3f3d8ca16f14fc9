"""Idempotent POSTs: a repeated request with the same ``Idempotency-Key`` replays the first
response instead of doing the work twice (a double-clicked 転入 must not register two people)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.errors import Conflict, ValidationFailed
from core.scoping import TenantScoped, require_context

MAX_KEY_LENGTH = 128


class IdempotencyRecord(TenantScoped, Base):
    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(64))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def fingerprint(method: str, path: str, body: Any, mac: Callable[[str], str]) -> str:
    """A keyed digest of the request. Keyed, because a body may carry a 個人番号: a plain hash of
    a 12-digit number next to data an attacker can read is easy to invert."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return mac(f"{method} {path}\n{canonical}")


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key は128文字以内の半角英数字記号で指定してください。",
            code="invalid_idempotency_key",
        )
    return key


def find(session: Session, key: str, principal_id: str, fp: str) -> IdempotencyRecord | None:
    """The stored response for ``key``; a key reused for a different request is a conflict."""
    ctx = require_context(session)
    rec = session.get(IdempotencyRecord, (ctx.tenant_id, key))
    if rec is None:
        return None
    if rec.principal_id != principal_id or rec.request_fingerprint != fp:
        raise Conflict(
            "この Idempotency-Key は別の要求に使用済みです。", code="idempotency_key_reused"
        )
    return rec


def store(
    session: Session, key: str, principal_id: str, fp: str, status_code: int, body: dict[str, Any]
) -> None:
    session.add(
        IdempotencyRecord(
            key=key,
            principal_id=principal_id,
            request_fingerprint=fp,
            status_code=status_code,
            response_body=body,
        )
    )
    session.flush()
