"""Web UI routes: login, logout, home, and the operator's tenant list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from core.errors import Unauthenticated
from core.japanese.era import to_japanese
from core.security import new_secret, secrets_equal
from resident_records import protection
from resident_records import repository as rr_repo
from tenancy import repository as repo
from tenancy.auth import (
    OPERATOR,
    Principal,
    end_web_session,
    login_operator,
    login_staff,
    start_web_session,
)
from tenancy.deps import SESSION_COOKIE, UoW, app_state, session_principal
from tenancy.models import ROLE_LABELS

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def dig(values: Any, path: str) -> Any:
    """``values | dig("persons.0.family_name")``: a form value by its field name, or None."""
    node = values
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


TEMPLATES.env.filters["dig"] = dig


def wareki(value: Any) -> str:
    """Dates on screens in 和暦 (令和8年11月27日), as the counter and the certificates say them."""
    if value in (None, ""):
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(day, dt.datetime):
        day = day.date()
    return to_japanese(day).format()


TEMPLATES.env.filters["wareki"] = wareki
LOGIN_CSRF_COOKIE = "jichitai_login_csrf"

router = APIRouter(include_in_schema=False)


def _principal_or_none(request: Request, uow: UoW) -> Principal | None:
    try:
        return session_principal(request, uow) if request.cookies.get(SESSION_COOKIE) else None
    except Unauthenticated:
        return None


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    **values: Any,
) -> Response:
    token = new_secret(24)
    response = TEMPLATES.TemplateResponse(
        request,
        "login.html",
        {"principal": None, "csrf_token": token, "error": error, "notice": notice, **values},
        status_code=status,
    )
    secure = app_state(request).settings.cookie_secure
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login"
    )
    return response


@router.get("/login")
def login_form(request: Request, reason: str | None = None) -> Response:
    """ログイン画面."""
    notice = "一定時間操作がなかったため、ログアウトしました。" if reason == "timeout" else None
    return _login_page(request, notice=notice)


@router.post("/login")
def login(
    request: Request,
    uow: UoW,
    lg_code: str = Form(""),
    login_id: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form(""),
) -> Response:
    """Sign in a staff member (団体コード given) or a data-center operator (blank)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not secrets_equal(expected, csrf_token):
        return _login_page(
            request,
            error="画面の有効期限が切れました。もう一度ログインしてください。",
            status=403,
            lg_code=lg_code,
            login_id=login_id,
        )
    settings = app_state(request).settings
    lg_code = lg_code.strip()
    try:
        if lg_code:
            municipality, staff = login_staff(
                uow.session,
                lg_code,
                login_id.strip(),
                password,
                max_failures=settings.login_max_failures,
                lockout_minutes=settings.login_lockout_minutes,
            )
            raw, _ws = start_web_session(
                uow.session,
                kind="staff",
                principal_id=staff.id,
                tenant_id=municipality.id,
                lifetime=dt.timedelta(hours=12),
            )
        else:
            op = login_operator(
                uow.session,
                login_id.strip(),
                password,
                max_failures=settings.login_max_failures,
                lockout_minutes=settings.login_lockout_minutes,
            )
            raw, _ws = start_web_session(
                uow.session,
                kind=OPERATOR,
                principal_id=op.id,
                tenant_id=None,
                lifetime=dt.timedelta(hours=12),
            )
    except Unauthenticated as exc:
        # The failure count and its audit entry must be kept although the login failed.
        uow.commit()
        return _login_page(
            request, error=exc.message, status=401, lg_code=lg_code, login_id=login_id
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, uow: UoW, csrf_token: str = Form("")) -> Response:
    """ログアウト (ends the server-side session)."""
    principal = _principal_or_none(request, uow)
    raw = request.cookies.get(SESSION_COOKIE)
    if (
        principal
        and raw
        and principal.csrf_token
        and secrets_equal(csrf_token, principal.csrf_token)
    ):
        end_web_session(uow.session, raw)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, uow: UoW) -> Response:
    """ホーム: the municipality, its groups and the alerts that need action."""
    principal = _principal_or_none(request, uow)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    if principal.is_operator:
        return RedirectResponse("/operator/tenants", status_code=303)
    assert principal.tenant_id is not None
    session = uow.session
    municipality = repo.municipality_by_id(session, principal.tenant_id)
    continuity = {c.municipality_id: c for c in repo.open_continuities(session)}
    groups = [
        (g, repo.group_members(session, g.id)) for g in repo.groups_of(session, principal.tenant_id)
    ]
    members = {m.id: m for _g, ms in groups for m in ms}
    alerts = [
        {"level": "warn", "text": f"{members[mid].name}が業務継続モードです（{decl.reason}）。"}
        for mid, decl in continuity.items()
        if mid in members
    ]
    alerts += register_alerts(session, dt.date.today())
    return TEMPLATES.TemplateResponse(
        request,
        "home.html",
        {
            "principal": principal,
            "municipality": municipality,
            "groups": [{"name": g.name, "members": ms} for g, ms in groups],
            "continuity": set(continuity),
            "alerts": alerts,
            "role_labels": [ROLE_LABELS.get(r, r) for r in sorted(principal.roles)],
        },
    )


@router.get("/operator/tenants", response_class=HTMLResponse)
def operator_tenants(request: Request, uow: UoW) -> Response:
    """団体一覧 for the data-center operator (no personal data on it)."""
    principal = _principal_or_none(request, uow)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    if not principal.is_operator:
        return error_page(request, 403, principal)
    continuity = {c.municipality_id for c in repo.open_continuities(uow.session)}
    return TEMPLATES.TemplateResponse(
        request,
        "operator_tenants.html",
        {
            "principal": principal,
            "municipalities": repo.municipalities(uow.session),
            "continuity": continuity,
        },
    )


ALERT_LABELS = {
    "head_change_required": "世帯主変更",
    "late_notification": "届出期間経過",
    "move_in_notice_unprocessed": "転入通知",
}


def register_alerts(session: Session, today: dt.date) -> list[dict[str, str]]:
    """The register's open alerts and protection measures ending within a month."""
    out = [
        {
            "level": "warn",
            "text": f"【{ALERT_LABELS.get(a.kind, a.kind)}】{a.message}（{a.created_at:%Y-%m-%d}）",
        }
        for a in rr_repo.open_alerts(session)
    ]
    ending = protection.ending_soon(session, today)
    if ending:
        out.append(
            {
                "level": "warn",
                "text": f"支援措置の終了日が1か月以内に迫っている方が{ending}人います。"
                "延長の申出を確認してください。",
            }
        )
    return out


_PAGE_ERRORS = {
    403: ("権限がありません", "この画面を表示する権限がありません。"),
    404: ("見つかりません", "指定されたページまたは記録は見つかりません。"),
}


def error_page(request: Request, status: int, principal: Principal | None = None) -> Response:
    title, message = _PAGE_ERRORS.get(status, ("エラー", "要求を処理できませんでした。"))
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {"principal": principal, "title": title, "message": message},
        status_code=status,
    )
