"""Certificate API (証明書交付): 住民票の写し等, 転出証明書, 罹災証明書, releases, mutual aid."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response

from core import audit
from core.errors import Forbidden, NotFound
from core.scoping import TenantContext, TenantId, require_context, tenant_scope
from forms.deps import document_service
from forms.service import Issued, Issuer, issued_read, issuer_for
from resident_records import certificates
from resident_records.certificates import (
    DisasterDamageRequest,
    Issuance,
    MoveOutCertificateRequest,
    ReleaseRequest,
    ResidentCertificateRequest,
)
from resident_records.protection import ProtectedPersonBlocked
from tenancy import repository as tenancy_repo
from tenancy import service as tenancy_service
from tenancy.auth import Principal
from tenancy.deps import UoW, idempotent, personal_data_reader, refuse
from tenancy.models import Role

router = APIRouter(prefix="/api/v1", tags=["certificates"])

Clerk = Annotated[Principal, Depends(personal_data_reader(Role.CLERK, Role.SUPERVISOR))]
Supervisor = Annotated[Principal, Depends(personal_data_reader(Role.SUPERVISOR))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def issuance_for(request: Request, uow: UoW, who: Principal) -> tuple[Issuance, Issuer]:
    """The register's certificate use cases for the session's municipality, and its issuer."""
    session = uow.session
    municipality = tenancy_repo.municipality_by_id(session, int(require_context(session).tenant_id))
    if municipality is None:  # the context always names an existing tenant
        raise NotFound()
    docs = document_service(request, session, who.actor)
    _version, params = tenancy_service.current_parameters(session)
    return Issuance(docs, docs.keys, params), issuer_for(session, municipality)


def _issue(
    request: Request,
    response: Response,
    uow: UoW,
    who: Principal,
    key: str | None,
    body: Any,
    run: Any,
) -> Any:
    result = idempotent(
        request,
        response,
        uow,
        who,
        key,
        body.model_dump(mode="json"),
        201,
        lambda: {"documents": run()},
    )
    return result


@router.post("/certificates/resident-record", status_code=201)
def issue_resident_record(
    body: ResidentCertificateRequest,
    request: Request,
    response: Response,
    uow: UoW,
    who: Clerk,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """住民票の写し・記載事項証明書・除票の写しの交付 (住民基本台帳法12条〜12条の3, J:1000)."""

    def run() -> list[dict[str, Any]]:
        issuance, issuer = issuance_for(request, uow, who)
        issued, _pdf, blocked = issuance.resident_record(body, issuer)
        if blocked is not None:
            refuse(uow, blocked)
        return issued_read(issued)

    return _issue(request, response, uow, who, idempotency_key, body, run)


@router.post("/certificates/resident-record/preview")
def preview_resident_record(
    body: ResidentCertificateRequest, request: Request, uow: UoW, who: Clerk
) -> Response:
    """交付前の確認用見本 (PDF): same rules as issuing, no serial, nothing issued."""
    issuance, issuer = issuance_for(request, uow, who)
    _issued, pdf, blocked = issuance.resident_record(body, issuer, preview=True)
    if blocked is not None:
        refuse(uow, blocked)
    audit.record(
        uow.session,
        actor=who.actor,
        action="document.previewed",
        subject_type="resident",
        subject_id=",".join(str(p) for p in body.person_ids),
        purpose=body.requester.purpose,
        details={"form": body.kind},
    )
    assert pdf is not None
    return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})


@router.post("/certificates/move-out", status_code=201)
def issue_move_out(
    body: MoveOutCertificateRequest,
    request: Request,
    response: Response,
    uow: UoW,
    who: Clerk,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """転出証明書・その再交付・転出証明書に準ずる証明書 (施行令23条, 24条の2)."""

    def run() -> list[dict[str, Any]]:
        issuance, issuer = issuance_for(request, uow, who)
        issued, blocked = issuance.move_out(body, issuer)
        if blocked is not None:
            refuse(uow, blocked)
        return issued_read(issued)

    return _issue(request, response, uow, who, idempotency_key, body, run)


@router.post("/certificates/disaster-damage", status_code=201)
def issue_disaster_damage(
    body: DisasterDamageRequest,
    request: Request,
    response: Response,
    uow: UoW,
    who: Clerk,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """罹災証明書の交付 (災害対策基本法90条の2)."""

    def run() -> list[dict[str, Any]]:
        issuance, issuer = issuance_for(request, uow, who)
        try:
            return issued_read(issuance.disaster_damage(body, issuer))
        except ProtectedPersonBlocked as blocked:
            refuse(uow, blocked)

    return _issue(request, response, uow, who, idempotency_key, body, run)


@router.post("/residents/{person_id}/protection-release", status_code=201)
def release_protected_person(
    person_id: uuid.UUID, body: ReleaseRequest, uow: UoW, who: Supervisor
) -> dict[str, Any]:
    """支援措置対象者の交付制限の解除 (責任者, 事務処理要領 第5-10, J:410): one issuance."""
    row = certificates.release(uow.session, who.actor, person_id, body.reason, dt.date.today())
    return {
        "release_id": str(row.id),
        "person_id": str(person_id),
        "expires_at": row.expires_at.isoformat(),
    }


# --- mutual aid ------------------------------------------------------------------------------


def _stricken(uow: UoW, who: Principal, lg_code: str) -> tuple[int, str, str]:
    """The stricken member, if this caller's municipality may act for it (else 404)."""
    session = uow.session
    target = tenancy_repo.municipality_by_code(session, lg_code)
    if (
        target is None
        or who.tenant_id is None
        or not tenancy_service.may_act_for(session, int(who.tenant_id), target.id)
    ):
        # Not "forbidden": whether a municipality is stricken is not the caller's to learn.
        raise NotFound("指定された団体の業務は代行できません。", code="mutual_aid_not_available")
    return target.id, target.name, who.municipality_name or ""


def _as_helper(
    request: Request,
    uow: UoW,
    who: Principal,
    lg_code: str,
    action: str,
    issue: Any,
) -> list[dict[str, Any]]:
    stricken_id, stricken_name, acting_name = _stricken(uow, who, lg_code)
    if who.tenant_id is None:
        raise Forbidden()
    ctx = TenantContext(TenantId(stricken_id), acting_tenant_id=who.tenant_id)
    with tenant_scope(uow.session, ctx):
        issuance, issuer = issuance_for(request, uow, who)
        issued: list[Issued] = issue(issuance, issuer, acting_name)
        result = issued_read(issued)
    # The helper's own chain records the work done for the stricken member, too.
    audit.record(
        uow.session,
        actor=who.actor,
        action=action,
        subject_type="municipality",
        subject_id=lg_code,
        details={"serials": [d.serial for d in issued], "stricken": stricken_name},
    )
    return result


def _acting(issuance: Issuance, acting_name: str) -> Issuance:
    issuance.acting_name = acting_name
    return issuance


@router.post("/mutual-aid/{lg_code}/certificates/disaster-damage", status_code=201)
def mutual_aid_disaster_damage(
    lg_code: str, body: DisasterDamageRequest, request: Request, uow: UoW, who: Clerk
) -> Any:
    """相互応援: a partner issues the stricken member's 罹災証明書 (災害対策基本法90条の2, 67条)."""
    documents = _as_helper(
        request,
        uow,
        who,
        lg_code,
        "mutual_aid.disaster_damage_issued",
        lambda issuance, issuer, acting: _acting(issuance, acting).disaster_damage(body, issuer),
    )
    return {"documents": documents}


@router.post("/mutual-aid/{lg_code}/certificates/resident-record", status_code=201)
def mutual_aid_resident_record(
    lg_code: str, body: ResidentCertificateRequest, request: Request, uow: UoW, who: Clerk
) -> Any:
    """相互応援: a partner issues the stricken member's 住民票の写し (法12条, 相互応援協定)."""

    def issue(issuance: Issuance, issuer: Issuer, acting: str) -> list[Issued]:
        issued, _pdf, blocked = _acting(issuance, acting).resident_record(body, issuer)
        if blocked is not None:
            refuse(uow, blocked)  # logged in the stricken member's chain, naming the helper
        return issued

    documents = _as_helper(request, uow, who, lg_code, "mutual_aid.resident_record_issued", issue)
    return {"documents": documents}
