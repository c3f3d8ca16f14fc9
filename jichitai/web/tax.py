"""課税証明書・非課税証明書 at the counter: year, requester, purpose → issued PDF to print.

The same use case as ``POST /api/v1/tax/certificates`` (tax.certificates): only the taxpayer,
a member of the household, an agent with a 委任状 or an official request; a protected person
(DV等支援措置) is refused to anyone but themself and the refusal is logged.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from core.errors import DomainError
from core.japanese.era import fiscal_year_label
from forms.deps import document_service
from forms.service import issuer_for
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
from resident_records import queries
from resident_records import repository as repo
from tax.certificates import TaxCertificateRequest, TaxCertificates, TaxRequesterType
from tax.rules.parameters import supported_fiscal_years
from tenancy import service as tenancy_service
from tenancy.auth import Principal
from tenancy.deps import UoW
from tenancy.models import Role

router = APIRouter(include_in_schema=False)

ROLES = (*COUNTER_ROLES, Role.TAX_OFFICER)
REQUESTERS = [
    (TaxRequesterType.SELF.value, "本人"),
    (TaxRequesterType.HOUSEHOLD_MEMBER.value, "同一世帯の者"),
    (TaxRequesterType.AGENT.value, "代理人（委任状）"),
    (TaxRequesterType.OFFICIAL.value, "公用請求"),
]


def _form_page(
    request: Request,
    uow: UoW,
    who: Principal,
    person_id: uuid.UUID,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    blocked: str | None = None,
    status: int = 200,
) -> Response:
    years = sorted(supported_fiscal_years(), reverse=True)
    return page(
        request,
        "tax_certificate.html",
        who,
        status,
        record=queries.record(uow.session, person_id),
        values=values,
        errors=errors or {},
        blocked=blocked,
        years=[(str(y), fiscal_year_label(y)) for y in years],
        requester_types=REQUESTERS,
    )


@router.get("/tax-certificates/new")
def tax_certificate_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """所得・課税証明書の交付の入力 (地方税法20条の10・22条): year, requester, purpose."""
    who = staff(request, uow, *ROLES)
    if repo.person(uow.session, person_id) is None:
        return error_page(request, 404, who)
    values = {
        "fiscal_year": str(max(supported_fiscal_years())),
        "requester": {"type": "self"},
        "copies": "1",
    }
    return _form_page(request, uow, who, person_id, values)


@router.post("/tax-certificates/{person_id}")
def tax_certificate_submit(
    request: Request, uow: UoW, person_id: uuid.UUID, form: Annotated[FormData, Depends(form_data)]
) -> Response:
    """所得・課税証明書 / 非課税証明書の発行 (地方税法20条の10): the assessment in force."""
    who = staff(request, uow, *ROLES)
    check_csrf(request, who, str(form.get("csrf_token", "")))
    if repo.person(uow.session, person_id) is None:
        return error_page(request, 404, who)
    values = unflatten({k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"})
    values.pop("action", None)
    req, errors = validate_form(TaxCertificateRequest, values | {"person_id": str(person_id)})
    if req is None:
        return _form_page(request, uow, who, person_id, values, errors=errors, status=422)
    session = uow.session
    docs = document_service(request, session, who.actor)
    _version, params = tenancy_service.current_parameters(session)
    issuer = issuer_for(session, tenancy_service.current_municipality(session))
    try:
        issued, blocked = TaxCertificates(docs, params).issue(req, issuer)
    except DomainError as exc:
        errors = field_errors(exc) or {"_": exc.message}
        return _form_page(
            request, uow, who, person_id, values, errors=errors, status=exc.status_code
        )
    if blocked is not None:
        uow.commit()  # the refused attempt stays in the log
        return _form_page(request, uow, who, person_id, values, blocked=blocked.message, status=403)
    uow.commit()
    return page(
        request,
        "certificate_done.html",
        who,
        documents=issued,
        person_id=person_id,
        requester=dict(REQUESTERS)[req.requester.type.value],
    )
