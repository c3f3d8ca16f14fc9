"""Tenant administration (団体管理) for the ``tenant_admin`` role: staff accounts and parameters.

Every change goes through the same tenancy service functions as the API (``/api/v1/staff``,
``/api/v1/tenant/parameters``), which audit it. Only the fields of ``TenantParameters`` can be
edited here (カスタマイズ抑制): the form is built from the model, and the model refuses anything
else. Staff of another municipality are not found (the tenant filter), never shown.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import FormData, UploadFile

from core.db import utcnow
from core.errors import Conflict, DomainError, NotFound
from core.scoping import require_context
from jichitai.errors import validation_details
from jichitai.web.common import check_csrf, field_errors, form_data, page, staff
from jichitai.web.routes import error_page
from tenancy import repository as repo
from tenancy import service
from tenancy.auth import Principal
from tenancy.deps import UoW
from tenancy.models import ROLE_LABELS, Municipality, OperatorAccount, Role, Staff
from tenancy.parameters import CertificateFees, Kyuchi, TenantParameters
from tenancy.schemas import StaffCreate, StaffUpdate

router = APIRouter(include_in_schema=False)
Posted = Annotated[FormData, Depends(form_data)]

JST = dt.timezone(dt.timedelta(hours=9), "JST")
ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role]
KYUCHI_CHOICES = [(k.value, k.value) for k in Kyuchi]
FEE_LABELS = {
    "resident_record_copy": "住民票の写し",
    "resident_record_extract": "住民票記載事項証明書",
    "removed_record_copy": "住民票の除票の写し",
    "move_out_certificate": "転出証明書",
    "disaster_damage_certificate": "罹災証明書",
    "tax_certificate": "税務証明書",
}
# The form offers exactly the fee fields of the model, no more.
FEE_FIELDS = [(name, FEE_LABELS.get(name, name)) for name in CertificateFees.model_fields]
PARAMETER_LABELS = {
    "mayor_title": "首長の職名",
    "mayor_name": "首長の氏名",
    "seal_image_png_base64": "公印の画像",
    "fees": "手数料",
    "kyuchi": "級地",
    "counter_hours": "窓口の受付時間",
}
# 150 KB as 150,000 bytes: its Base64 (200,000 characters) is the most the parameter holds.
SEAL_MAX_BYTES = 150_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REASON_MAX = 200
NOTICES = {
    "created": "職員アカウントを登録しました。",
    "updated": "職員アカウントを更新しました。",
    "unlocked": "パスワードを再設定し、ロックを解除しました。",
    "saved": "団体パラメータを保存しました。",
}
CONFLICT_MESSAGE = Conflict.default_message


def _admin(request: Request, uow: UoW) -> Principal:
    """Only the municipality's own 団体管理者; the operator and other roles get the 403 page."""
    return staff(request, uow, Role.TENANT_ADMIN)


def _text(posted: FormData, name: str) -> str:
    value = posted.get(name)
    return value if isinstance(value, str) else ""


def _texts(posted: FormData, name: str) -> list[str]:
    return [v for v in posted.getlist(name) if isinstance(v, str)]


def _errors(exc: ValidationError, top_level: bool = False) -> dict[str, str]:
    """Japanese messages by field name; ``roles.0`` becomes ``roles`` when ``top_level``."""
    out: dict[str, str] = {}
    for detail in validation_details(exc.errors()):  # type: ignore[arg-type]
        name = detail["field"].split(".")[0] if top_level else detail["field"]
        out.setdefault(name or "_", detail["message"])
    return out


def _notice(key: str | None) -> str | None:
    return NOTICES.get(key or "")


def _municipality(uow: UoW) -> Municipality:
    m = repo.municipality_by_id(uow.session, int(require_context(uow.session).tenant_id))
    if m is None:
        raise NotFound()
    return m


def _locked(s: Staff) -> bool:
    return s.locked_until is not None and s.locked_until > utcnow()


def _staff_row(s: Staff) -> dict[str, Any]:
    return {
        "id": s.id,
        "login_id": s.login_id,
        "display_name": s.display_name,
        "roles": list(s.roles),
        "role_labels": [ROLE_LABELS.get(r, r) for r in s.roles],
        "active": s.active,
        "locked": _locked(s),
        "failed_logins": s.failed_logins,
        "version": s.version,
    }


def _not_found(request: Request, who: Principal) -> Response:
    return error_page(request, 404, who)


# --- overview -------------------------------------------------------------------------------


@router.get("/admin")
def overview(request: Request, uow: UoW) -> Response:
    """団体管理: the municipality, its staff accounts at a glance and the parameters in force."""
    who = _admin(request, uow)
    rows = [_staff_row(s) for s in repo.staff_list(uow.session)]
    version, params = service.current_parameters(uow.session)
    return page(
        request,
        "admin_home.html",
        who,
        municipality=_municipality(uow),
        staff_total=len(rows),
        staff_active=sum(1 for r in rows if r["active"]),
        staff_locked=sum(1 for r in rows if r["locked"]),
        version=version,
        params=params,
        section="home",
    )


# --- staff accounts -------------------------------------------------------------------------


def _staff_list_page(
    request: Request,
    uow: UoW,
    who: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "admin_staff.html",
        who,
        status,
        rows=[_staff_row(s) for s in repo.staff_list(uow.session)],
        values=values or {"roles": [Role.CLERK.value]},
        errors=errors or {},
        notice=notice,
        role_choices=ROLE_CHOICES,
        section="staff",
    )


@router.get("/admin/staff")
def staff_list(request: Request, uow: UoW, notice: str | None = None) -> Response:
    """職員アカウントの一覧と新規登録."""
    who = _admin(request, uow)
    return _staff_list_page(request, uow, who, notice=_notice(notice))


@router.post("/admin/staff")
def staff_create(request: Request, uow: UoW, posted: Posted) -> Response:
    """Create a staff account with the API's rules (user ID, name, roles, a 12+ char password)."""
    who = _admin(request, uow)
    check_csrf(request, who, _text(posted, "csrf_token"))
    values: dict[str, Any] = {
        "login_id": _text(posted, "login_id").strip(),
        "display_name": _text(posted, "display_name"),
        "roles": _texts(posted, "roles"),
    }
    password = _text(posted, "password")
    errors: dict[str, str] = {}
    body: StaffCreate | None = None
    try:
        body = StaffCreate.model_validate(values | {"password": password})
    except ValidationError as exc:
        errors = _errors(exc, top_level=True)
    if password != _text(posted, "password_confirm"):
        errors.setdefault("password_confirm", "確認用のパスワードが一致しません。")
    if body is not None and not errors:
        try:
            created = service.create_staff(
                uow.session,
                login_id=body.login_id,
                display_name=body.display_name,
                password=body.password,
                roles=[r.value for r in body.roles],
                actor=who.actor,
            )
        except DomainError as exc:
            uow.rollback()
            key = "login_id" if exc.error_code == "duplicate_login_id" else "_"
            errors = field_errors(exc) or {key: exc.message}
        else:
            uow.commit()
            return RedirectResponse(f"/admin/staff/{created.id}?notice=created", status_code=303)
    return _staff_list_page(request, uow, who, values=values, errors=errors, status=422)


def _staff_edit_page(
    request: Request,
    who: Principal,
    target: Staff,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    unlock_errors: dict[str, str] | None = None,
    notice: str | None = None,
    conflict: bool = False,
    status: int = 200,
) -> Response:
    row = _staff_row(target)
    return page(
        request,
        "admin_staff_edit.html",
        who,
        status,
        row=row,
        values=values
        or {
            "display_name": row["display_name"],
            "roles": row["roles"],
            "active": "true" if row["active"] else "false",
        },
        errors=errors or {},
        unlock_errors=unlock_errors or {},
        notice=notice,
        conflict=CONFLICT_MESSAGE if conflict else None,
        role_choices=ROLE_CHOICES,
        is_self=target.id == who.id,
        section="staff",
    )


def _target(uow: UoW, staff_id: uuid.UUID) -> Staff | None:
    """A staff account of the signed-in municipality only (another's is simply not found)."""
    try:
        return service.get_staff(uow.session, staff_id)
    except NotFound:
        return None


def _version(posted: FormData) -> int | None:
    raw = _text(posted, "version").strip()
    return int(raw) if raw.isdigit() else None


@router.get("/admin/staff/{staff_id}")
def staff_edit(
    request: Request, uow: UoW, staff_id: uuid.UUID, notice: str | None = None
) -> Response:
    """One staff account: name, roles, active, and the lock / password reset."""
    who = _admin(request, uow)
    target = _target(uow, staff_id)
    if target is None:
        return _not_found(request, who)
    return _staff_edit_page(request, who, target, notice=_notice(notice))


@router.post("/admin/staff/{staff_id}")
def staff_update(request: Request, uow: UoW, staff_id: uuid.UUID, posted: Posted) -> Response:
    """Change the name, roles or activity; a stale version shows the conflict message."""
    who = _admin(request, uow)
    check_csrf(request, who, _text(posted, "csrf_token"))
    target = _target(uow, staff_id)
    if target is None:
        return _not_found(request, who)
    active_raw = _text(posted, "active")
    values: dict[str, Any] = {
        "display_name": _text(posted, "display_name"),
        "roles": _texts(posted, "roles"),
        "active": active_raw,
    }
    version = _version(posted)
    if version is None:
        return _staff_edit_page(request, who, target, conflict=True, status=409)
    errors: dict[str, str] = {}
    body: StaffUpdate | None = None
    try:
        body = StaffUpdate.model_validate(
            {
                "version": version,
                "display_name": values["display_name"],
                "roles": values["roles"],
                "active": active_raw == "true" if active_raw in {"true", "false"} else None,
            }
        )
    except ValidationError as exc:
        errors = _errors(exc, top_level=True)
    if active_raw not in {"true", "false"}:
        errors.setdefault("active", "選択肢の中から選んでください。")
    if body is not None and target.id == who.id:
        # The web UI keeps the municipality from locking itself out of its own administration.
        if body.roles is not None and Role.TENANT_ADMIN not in body.roles:
            errors.setdefault("roles", "自分自身の「団体管理者」の役割は外せません。")
        if body.active is False:
            errors.setdefault("active", "自分自身のアカウントは無効にできません。")
    if body is None or errors:
        return _staff_edit_page(request, who, target, values=values, errors=errors, status=422)
    try:
        service.update_staff(
            uow.session,
            staff_id,
            expected_version=body.version,
            actor=who.actor,
            display_name=body.display_name,
            roles=[r.value for r in body.roles] if body.roles is not None else None,
            active=body.active,
        )
    except (Conflict, StaleDataError):
        uow.rollback()
        fresh = _target(uow, staff_id)
        if fresh is None:
            return _not_found(request, who)
        return _staff_edit_page(request, who, fresh, conflict=True, status=409)
    uow.commit()
    return RedirectResponse(f"/admin/staff/{staff_id}?notice=updated", status_code=303)


@router.post("/admin/staff/{staff_id}/unlock")
def staff_unlock(request: Request, uow: UoW, staff_id: uuid.UUID, posted: Posted) -> Response:
    """ロック解除: a new password (API rules) clears the failure count and the lock, audited."""
    who = _admin(request, uow)
    check_csrf(request, who, _text(posted, "csrf_token"))
    target = _target(uow, staff_id)
    if target is None:
        return _not_found(request, who)
    version = _version(posted)
    if version is None:
        return _staff_edit_page(request, who, target, conflict=True, status=409)
    password = _text(posted, "password")
    errors: dict[str, str] = {}
    body: StaffUpdate | None = None
    try:
        body = StaffUpdate.model_validate({"version": version, "password": password})
    except ValidationError as exc:
        errors = _errors(exc, top_level=True)
    if password != _text(posted, "password_confirm"):
        errors.setdefault("password_confirm", "確認用のパスワードが一致しません。")
    if body is None or body.password is None or errors:
        errors.setdefault("password", "必須項目です。")
        return _staff_edit_page(request, who, target, unlock_errors=errors, status=422)
    try:
        service.update_staff(
            uow.session,
            staff_id,
            expected_version=body.version,
            actor=who.actor,
            password=body.password,
        )
    except (Conflict, StaleDataError):
        uow.rollback()
        fresh = _target(uow, staff_id)
        if fresh is None:
            return _not_found(request, who)
        return _staff_edit_page(request, who, fresh, conflict=True, status=409)
    uow.commit()
    return RedirectResponse(f"/admin/staff/{staff_id}?notice=unlocked", status_code=303)


# --- tenant parameters ----------------------------------------------------------------------


def _who_changed(uow: UoW, changed_by: str, names: dict[str, str]) -> str:
    if changed_by in names:
        return names[changed_by]
    try:
        operator = uow.session.get(OperatorAccount, uuid.UUID(changed_by))
    except ValueError:
        return f"システム（{changed_by}）"
    return f"データセンター（{operator.display_name}）" if operator else "（不明）"


def _history(uow: UoW) -> list[dict[str, Any]]:
    """Every version, newest first: who, when, why, and which parameters changed."""
    names = {str(s.id): f"{s.display_name}（{s.login_id}）" for s in repo.staff_list(uow.session)}
    rows = list(repo.parameter_history(uow.session))
    out = []
    for i, row in enumerate(rows):
        older = rows[i + 1].values if i + 1 < len(rows) else None
        changed = (
            [
                label
                for key, label in PARAMETER_LABELS.items()
                if older.get(key) != row.values.get(key)
            ]
            if older is not None
            else ["（初期値）"]
        )
        out.append(
            {
                "version": row.version,
                "changed_at": row.changed_at.astimezone(JST).strftime("%Y-%m-%d %H:%M"),
                "changed_by": _who_changed(uow, row.changed_by, names),
                "reason": row.reason or "",
                "changed": changed,
            }
        )
    return out


def _parameters_page(
    request: Request,
    uow: UoW,
    who: Principal,
    *,
    version: int,
    values: dict[str, Any],
    seal: str | None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    conflict: bool = False,
    status: int = 200,
) -> Response:
    return page(
        request,
        "admin_parameters.html",
        who,
        status,
        version=version,
        values=values,
        seal=seal,
        errors=errors or {},
        notice=notice,
        conflict=CONFLICT_MESSAGE if conflict else None,
        fee_fields=FEE_FIELDS,
        kyuchi_choices=KYUCHI_CHOICES,
        seal_max_kb=SEAL_MAX_BYTES // 1000,
        history=_history(uow),
        section="parameters",
    )


def _current_page(
    request: Request,
    uow: UoW,
    who: Principal,
    *,
    notice: str | None = None,
    conflict: bool = False,
    status: int = 200,
) -> Response:
    version, params = service.current_parameters(uow.session)
    values = params.model_dump(mode="json")
    seal = values.pop("seal_image_png_base64", None)
    return _parameters_page(
        request,
        uow,
        who,
        version=version,
        values=values,
        seal=seal,
        notice=notice,
        conflict=conflict,
        status=status,
    )


@router.get("/admin/parameters")
def parameters(request: Request, uow: UoW, notice: str | None = None) -> Response:
    """団体パラメータ: the version in force, its form, and the history of versions."""
    who = _admin(request, uow)
    return _current_page(request, uow, who, notice=_notice(notice))


def _seal_upload(posted: FormData) -> tuple[bytes | None, str | None]:
    """The uploaded seal image if any, or a Japanese message why it is refused."""
    upload = posted.get("seal_image")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, None
    data = upload.file.read(SEAL_MAX_BYTES + 1)
    if not data:
        return None, "公印の画像ファイルが空です。"
    if len(data) > SEAL_MAX_BYTES:
        return None, f"公印の画像は{SEAL_MAX_BYTES // 1000}KB以下のPNGファイルにしてください。"
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None, "公印の画像はPNG形式のファイルを選択してください。"
    return data, None


@router.post("/admin/parameters")
def parameters_update(request: Request, uow: UoW, posted: Posted) -> Response:
    """Store a new version of the parameters (optimistic locking on the version read)."""
    who = _admin(request, uow)
    check_csrf(request, who, _text(posted, "csrf_token"))
    version = _version(posted)
    current_version, current = service.current_parameters(uow.session)
    if version is None or version != current_version:
        return _current_page(request, uow, who, conflict=True, status=409)
    # Only the model's own fields are read from the form; nothing else can be posted in.
    values: dict[str, Any] = {
        "mayor_title": _text(posted, "mayor_title"),
        "mayor_name": _text(posted, "mayor_name"),
        "kyuchi": _text(posted, "kyuchi"),
        "counter_hours": _text(posted, "counter_hours"),
        "fees": {name: _text(posted, f"fees.{name}").strip() for name, _l in FEE_FIELDS},
    }
    reason = _text(posted, "reason").strip()
    errors: dict[str, str] = {}
    seal = current.seal_image_png_base64
    uploaded, seal_error = _seal_upload(posted)
    if seal_error:
        errors["seal_image"] = seal_error
    elif uploaded is not None:
        seal = base64.b64encode(uploaded).decode("ascii")
    elif _text(posted, "seal_remove") == "1":
        seal = None
    if len(reason) > REASON_MAX:
        errors["reason"] = f"{REASON_MAX}文字以内で入力してください。"
    try:
        # The form has no NHI rates (set through the API); they are kept as they are.
        TenantParameters.model_validate(
            values | {"seal_image_png_base64": seal, "nhi": current.nhi}
        )
    except ValidationError as exc:
        found = _errors(exc)
        if "seal_image_png_base64" in found:
            found["seal_image"] = found.pop("seal_image_png_base64")
        errors = found | errors
    shown = values | {"reason": reason}
    if errors:
        return _parameters_page(
            request,
            uow,
            who,
            version=version,
            values=shown,
            seal=current.seal_image_png_base64,
            errors=errors,
            status=422,
        )
    try:
        service.update_parameters(
            uow.session,
            values | {"seal_image_png_base64": seal, "nhi": current.nhi},
            expected_version=version,
            actor=who.actor,
            reason=reason or None,
        )
    except (Conflict, IntegrityError):
        # A stale version, or another administrator's save of the same next version.
        uow.rollback()
        return _current_page(request, uow, who, conflict=True, status=409)
    except DomainError as exc:
        uow.rollback()
        return _parameters_page(
            request,
            uow,
            who,
            version=version,
            values=shown,
            seal=current.seal_image_png_base64,
            errors=field_errors(exc) or {"_": exc.message},
            status=422,
        )
    uow.commit()
    return RedirectResponse("/admin/parameters?notice=saved", status_code=303)
