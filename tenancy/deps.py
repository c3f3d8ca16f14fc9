"""Request dependencies: the unit of work (one commit per request) and authentication."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Request, Response

from core import idempotency
from core.audit import REQUEST_ID_KEY
from core.crypto import TenantKeys
from core.errors import DomainError, Forbidden, Unauthenticated
from core.runtime import Runtime
from core.security import secrets_equal
from core.uow import UnitOfWork
from tenancy.auth import OPERATOR, Principal, resolve_token, resolve_web_session

SESSION_COOKIE = "jichitai_session"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def app_state(request: Request) -> Runtime:
    state: Runtime = request.app.state.jichitai
    return state


def _uow(request: Request) -> Iterator[UnitOfWork]:
    state = app_state(request)
    with UnitOfWork(state.session_factory, state.bus) as uow:
        uow.session.info[REQUEST_ID_KEY] = request.state.request_id
        request.state.uow = uow
        yield uow
        # Commit here, before the response is sent (scope="function"): a failed commit must
        # become an error response, never a 200 for something that was not saved.
        if not uow.committed:
            uow.commit()


UoW = Annotated[UnitOfWork, Depends(_uow, scope="function")]


def session_principal(request: Request, uow: UnitOfWork) -> Principal:
    """The principal of the session cookie (401 if absent, ended or idle). No CSRF check:
    HTML forms check their own hidden field; API calls go through :func:`authenticate`."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise Unauthenticated()
    idle = dt.timedelta(minutes=app_state(request).settings.session_idle_minutes)
    principal = resolve_web_session(uow.session, raw, idle)
    request.state.principal = principal
    return principal


def authenticate(request: Request, uow: UoW) -> Principal:
    """401 unless the request carries a valid bearer token or session cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthenticated(
                "Authorization ヘッダーの形式が正しくありません。", code="malformed_token"
            )
        principal = resolve_token(uow.session, credentials.strip())
        request.state.principal = principal
        return principal
    principal = session_principal(request, uow)
    if request.method in _UNSAFE:
        sent = request.headers.get(CSRF_HEADER) or ""
        if not (principal.csrf_token and secrets_equal(sent, principal.csrf_token)):
            raise Forbidden(
                "画面の有効期限が切れました。もう一度操作してください。", code="csrf_failed"
            )
    return principal


Authenticated = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency: 403 unless the caller holds one of ``roles``."""

    def dependency(principal: Authenticated) -> Principal:
        principal.require_role(*roles)
        return principal

    dependency.__roles__ = roles  # type: ignore[attr-defined]
    return dependency


def personal_data_reader(*roles: str) -> Callable[..., Principal]:
    """Like :func:`require_roles`, for routes that return residents' personal data.

    The data-center operator never passes, whatever roles are listed (the operator manages
    tenants and staff only). Tests enumerate routes carrying this marker.
    """

    def dependency(principal: Authenticated) -> Principal:
        if principal.is_operator or OPERATOR in principal.roles:
            raise Forbidden(
                "データセンター運用者は住民の個人情報を閲覧できません。",
                code="operator_no_personal_data",
            )
        principal.require_role(*roles)
        return principal

    dependency.__personal_data__ = True  # type: ignore[attr-defined]
    dependency.__roles__ = roles  # type: ignore[attr-defined]
    return dependency


def require_operator(principal: Authenticated) -> Principal:
    if not principal.is_operator:
        raise Forbidden()
    return principal


OperatorOnly = Annotated[Principal, Depends(require_operator)]


def idempotent(
    request: Request,
    response: Response,
    uow: UnitOfWork,
    principal: Principal,
    key: str | None,
    body: Any,
    status: int,
    run: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run a POST once per ``Idempotency-Key``; a repeat replays the stored response."""
    if key is None:
        return run()
    idempotency.check_key(key)
    keys = TenantKeys(uow.session, app_state(request).ring)
    fp = idempotency.fingerprint(
        request.method,
        request.url.path,
        body,
        lambda text: keys.blind_index(text, context="idempotency"),
    )
    stored = idempotency.find(uow.session, key, str(principal.id), fp)
    if stored is not None:
        response.status_code = stored.status_code
        response.headers["Idempotent-Replayed"] = "true"
        return stored.response_body
    result = run()
    idempotency.store(uow.session, key, str(principal.id), fp, status, result)
    return result


def refuse(uow: UnitOfWork, refusal: DomainError) -> NoReturn:
    """Fail the request with ``refusal`` but keep what the unit of work logged of the attempt.

    住民基本台帳法・DV等支援措置: a refused request about a protected person is itself logged
    (who asked, for whom), and that entry must survive the request's failure.
    """
    uow.commit()
    raise refusal
