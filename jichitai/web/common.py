"""What every staff page shares: who is signed in, role checks, CSRF, rendering, audit of views."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from core import audit
from core.errors import Conflict, DomainError, Unauthenticated
from core.security import secrets_equal
from core.uow import UnitOfWork
from jichitai.errors import validation_details
from jichitai.web.routes import TEMPLATES, error_page
from tenancy.auth import Principal
from tenancy.deps import SESSION_COOKIE, UoW, session_principal
from tenancy.models import Role

COUNTER_ROLES = (Role.CLERK, Role.SUPERVISOR)
SEX_OPTIONS = [("male", "男"), ("female", "女")]


class PageRedirect(Exception):
    """Raised inside a page handler to answer with a redirect or an error page instead."""

    def __init__(self, response: Response) -> None:
        self.response = response


def staff(request: Request, uow: UoW, *roles: str) -> Principal:
    """The signed-in staff member holding one of ``roles`` (login page or 403 page otherwise)."""
    if not request.cookies.get(SESSION_COOKIE):
        raise PageRedirect(RedirectResponse("/login", status_code=303))
    try:
        principal = session_principal(request, uow)
    except Unauthenticated:
        raise PageRedirect(RedirectResponse("/login?reason=timeout", status_code=303)) from None
    if principal.is_operator or (roles and not principal.roles.intersection(roles)):
        raise PageRedirect(error_page(request, 403, principal))
    return principal


def check_csrf(request: Request, principal: Principal, token: str) -> None:
    """Every form carries the session's CSRF token in a hidden field."""
    if not (principal.csrf_token and token and secrets_equal(token, principal.csrf_token)):
        raise PageRedirect(
            TEMPLATES.TemplateResponse(
                request,
                "error.html",
                {
                    "principal": principal,
                    "title": "画面の有効期限切れ",
                    "message": "画面の有効期限が切れました。もう一度操作してください。",
                },
                status_code=403,
            )
        )


def page(
    request: Request, template: str, principal: Principal, status: int = 200, **context: Any
) -> Response:
    return TEMPLATES.TemplateResponse(
        request, template, {"principal": principal, **context}, status_code=status
    )


def viewed(uow: UoW, principal: Principal, action: str, subject: uuid.UUID | str) -> None:
    """Every screen showing personal data leaves an audit entry (who saw whose record)."""
    audit.record(
        uow.session,
        actor=principal.actor,
        action=action,
        subject_type="resident",
        subject_id=str(subject),
        details={"channel": "web"},
    )


def field_errors(exc: DomainError) -> dict[str, str]:
    """Per-field Japanese messages of a service error (``details.fields``), else none."""
    details = exc.details if isinstance(exc.details, dict) else {}
    fields = details.get("fields") if isinstance(details, dict) else None
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}


def unflatten(form: dict[str, str]) -> dict[str, Any]:
    """``persons.0.family_name=…`` → ``{"persons": [{"family_name": …}]}``; blanks left out."""
    root: dict[str, Any] = {}
    for key, raw in form.items():
        value = raw.strip() if isinstance(raw, str) else raw
        if value == "" or key in {"csrf_token", "action"}:
            continue
        node: Any = root
        parts = key.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value if last else ([] if parts[i + 1].isdigit() else {})
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None or last:
                    node[index] = nxt
                node = node[index]
            else:
                if part not in node or last:
                    node[part] = node.get(part, nxt) if not last else nxt
                node = node[part]
    compacted: dict[str, Any] = _compact(root)
    return compacted


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value if v is not None]
    return value


async def form_data(request: Request) -> FormData:
    """The posted form, read on the event loop so the page handler itself can be a plain
    function: FastAPI runs those in worker threads, where rendering and signing belong."""
    return await request.form()


def validate_form(model: type[BaseModel], data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The command parsed from a form, or the Japanese message of each field that failed."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        details = validation_details(exc.errors())  # type: ignore[arg-type]
        return None, {d["field"]: d["message"] for d in details}


def service_errors(exc: DomainError) -> dict[str, str]:
    """The fields a service error names (either form of ``details``), else its message."""
    found = field_errors(exc)
    if isinstance(exc.details, list):
        for d in exc.details:
            if isinstance(d, dict) and d.get("field") and d.get("message"):
                found.setdefault(str(d["field"]), str(d["message"]))
    return found or {"_": exc.message}


def rehearse(uow: UnitOfWork, run: Callable[[], Any]) -> tuple[dict[str, str], int]:
    """Run the use case and roll it back (the confirmation step): every rule checked, nothing
    written. Returns the errors by field and the status to answer with."""
    try:
        run()
    except DomainError as exc:
        uow.rollback()
        return service_errors(exc), 409 if isinstance(exc, Conflict) else 422
    except ValidationError as exc:  # data a use case builds itself (e.g. from a transfer)
        uow.rollback()
        details = validation_details(exc.errors())  # type: ignore[arg-type]
        return {"_": "、".join(d["message"] for d in details)}, 422
    uow.rollback()
    return {}, 200
