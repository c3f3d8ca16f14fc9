"""Certificate issuance at the counter: requester, purpose, options → 見本 → issued PDF to print.

A protected person (DV等支援措置) stops the issuance with the reason shown; a supervisor may
release one issuance after review, with a reason that goes to the audit log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from core.errors import DomainError
from forms.catalog import FORM_LABELS, FormKind
from jichitai.web.common import (
    COUNTER_ROLES,
    check_csrf,
    field_errors,
    form_data,
    page,
    staff,
    unflatten,
    validate_form,
)
from jichitai.web.routes import error_page
from resident_records import certificates, queries
from resident_records import repository as repo
from resident_records.certificate_router import issuance_for
from resident_records.certificates import (
    REQUESTER_LABELS,
    ResidentCertificateRequest,
)
from tenancy.auth import Principal
from tenancy.deps import UoW
from tenancy.models import Role

router = APIRouter(include_in_schema=False)

KINDS = [
    (k.value, FORM_LABELS[k])
    for k in (
        FormKind.RESIDENT_RECORD_COPY,
        FormKind.RESIDENT_RECORD_EXTRACT,
        FormKind.REMOVED_RECORD_COPY,
    )
]
OPTIONS = [
    ("head_and_relationship", "世帯主・続柄"),
    ("honseki", "本籍・筆頭者"),
    ("juminhyo_code", "住民票コード"),
    ("my_number", "個人番号"),
    ("foreign_items", "国籍・地域、在留資格等"),
    ("history", "異動の履歴"),
    ("kana", "フリガナ"),
]


def _members(uow: UoW, person_id: uuid.UUID) -> tuple[Any, list[Any]]:
    record = queries.record(uow.session, person_id)
    if record.household_id is None:
        return record, []
    return record, queries.household(uow.session, record.household_id).members


def _values(form: FormData) -> dict[str, Any]:
    single = {k: v for k, v in form.items() if isinstance(v, str)}
    data = unflatten({k: v for k, v in single.items() if k not in {"person_ids", "release_ids"}})
    data["person_ids"] = [v for v in form.getlist("person_ids") if isinstance(v, str)]
    data["release_ids"] = [v for v in form.getlist("release_ids") if isinstance(v, str) and v]
    return data


def _form_page(
    request: Request,
    uow: UoW,
    who: Principal,
    person_id: uuid.UUID,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    blocked: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    record, members = _members(uow, person_id)
    return page(
        request,
        "certificate.html",
        who,
        status,
        record=record,
        members=members,
        values=values,
        errors=errors or {},
        blocked=blocked,
        notice=notice,
        kinds=KINDS,
        options=OPTIONS,
        requester_types=[(t.value, label) for t, label in REQUESTER_LABELS.items()],
        may_release=Role.SUPERVISOR in who.roles,
    )


@router.get("/certificates/new")
def certificate_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """証明書交付の入力: the requester, purpose and the items to print (法12条, J:1000)."""
    who = staff(request, uow, *COUNTER_ROLES)
    if repo.person(uow.session, person_id) is None:
        return error_page(request, 404, who)
    values = {
        "kind": FormKind.RESIDENT_RECORD_COPY.value,
        "layout": "individual",
        "person_ids": [str(person_id)],
        "requester": {"type": "self"},
        "copies": "1",
        "release_ids": [],
    }
    return _form_page(request, uow, who, person_id, values)


@router.post("/certificates/{person_id}")
def certificate_submit(
    request: Request, uow: UoW, person_id: uuid.UUID, form: Annotated[FormData, Depends(form_data)]
) -> Response:
    """見本 (preview), 発行 (issue) or 支援措置の解除 (release, supervisor) for this resident."""
    who = staff(request, uow, *COUNTER_ROLES)
    check_csrf(request, who, str(form.get("csrf_token", "")))
    if repo.person(uow.session, person_id) is None:
        return error_page(request, 404, who)
    values = _values(form)
    action = str(form.get("action", "preview"))
    if action == "release":
        return _release(request, uow, who, person_id, values, str(form.get("reason", "")))
    req, errors = validate_form(ResidentCertificateRequest, values)
    if req is None:
        return _form_page(request, uow, who, person_id, values, errors=errors, status=422)
    issuance, issuer = issuance_for(request, uow, who)
    try:
        issued, pdf, blocked = issuance.resident_record(req, issuer, preview=action == "preview")
    except DomainError as exc:
        errors = field_errors(exc) or {"_": exc.message}
        return _form_page(
            request, uow, who, person_id, values, errors=errors, status=exc.status_code
        )
    if blocked is not None:
        uow.commit()  # the refused attempt stays in the log
        return _form_page(request, uow, who, person_id, values, blocked=blocked.message, status=403)
    if pdf is not None:
        return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})
    uow.commit()
    return page(
        request,
        "certificate_done.html",
        who,
        documents=issued,
        person_id=person_id,
        requester=REQUESTER_LABELS[req.requester.type],
    )


def _release(
    request: Request,
    uow: UoW,
    who: Principal,
    person_id: uuid.UUID,
    values: dict[str, Any],
    reason: str,
) -> Response:
    if Role.SUPERVISOR not in who.roles:
        return _form_page(
            request,
            uow,
            who,
            person_id,
            values,
            blocked="支援措置の解除は責任者のみ行えます。",
            status=403,
        )
    if len(reason.strip()) < 2:
        return _form_page(
            request,
            uow,
            who,
            person_id,
            values,
            blocked="支援措置の対象者です。",
            errors={"reason": "解除の理由を入力してください。"},
            status=422,
        )
    targets = [uuid.UUID(p) for p in values.get("person_ids", [])] or [person_id]
    released = []
    for target in targets:
        try:
            row = certificates.release(uow.session, who.actor, target, reason, dt.date.today())
        except DomainError:
            continue  # not protected: nothing to release for this member
        released.append(str(row.id))
    values["release_ids"] = [*values.get("release_ids", []), *released]
    uow.commit()
    return _form_page(
        request,
        uow,
        who,
        person_id,
        values,
        notice=f"責任者の判断により交付制限を解除しました（{certificates.RELEASE_MINUTES}分以内・1回限り）。",
    )
