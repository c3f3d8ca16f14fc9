"""Tenancy API: municipalities (operator), staff, tokens, tenant parameters, audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from core import audit
from core.audit import AuditEntry
from core.db import utcnow
from core.errors import NotFound
from core.scoping import TenantContext, TenantId, tenant_scope
from tenancy import repository as repo
from tenancy import service
from tenancy.auth import Principal, issue_token
from tenancy.deps import (
    Authenticated,
    OperatorOnly,
    UoW,
    app_state,
    idempotent,
    personal_data_reader,
    require_roles,
)
from tenancy.models import Municipality, MunicipalityStatus, Role, Staff
from tenancy.schemas import (
    AuditEntryRead,
    ContinuityDeclare,
    Me,
    MunicipalityCreate,
    MunicipalityRead,
    ParametersRead,
    ParametersUpdate,
    StaffCreate,
    StaffRead,
    StaffUpdate,
    TokenCreate,
    TokenIssued,
    TokenRead,
)

router = APIRouter(prefix="/api/v1")

TenantAdmin = Annotated[Principal, Depends(require_roles(Role.TENANT_ADMIN))]
AuditReader = Annotated[
    Principal, Depends(personal_data_reader(Role.SUPERVISOR, Role.TENANT_ADMIN))
]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _municipality_read(uow: UoW, m: Municipality) -> MunicipalityRead:
    read = MunicipalityRead.model_validate(m)
    read.in_continuity_mode = repo.open_continuity(uow.session, m.id) is not None
    return read


def _staff_read(staff: Staff) -> StaffRead:
    read = StaffRead.model_validate(staff)
    read.locked = staff.locked_until is not None and staff.locked_until > utcnow()
    return read


@router.get("/me", tags=["auth"])
def me(principal: Authenticated) -> Me:
    """The signed-in staff member, operator or API token."""
    return Me(
        kind=principal.kind,
        display_name=principal.display_name,
        roles=sorted(principal.roles),
        lg_code=principal.lg_code,
        municipality_name=principal.municipality_name,
    )


# --- operator: municipalities ---------------------------------------------------------------


@router.get("/municipalities", tags=["operator"])
def list_municipalities(uow: UoW, _op: OperatorOnly) -> list[MunicipalityRead]:
    """List the tenants of this deployment (no personal data)."""
    return [_municipality_read(uow, m) for m in repo.municipalities(uow.session)]


@router.post("/municipalities", status_code=201, tags=["operator"])
def create_municipality(
    body: MunicipalityCreate, request: Request, uow: UoW, op: OperatorOnly
) -> MunicipalityRead:
    """Register a municipality (全国地方公共団体コード with its check digit) as a tenant."""
    m = service.create_municipality(
        uow.session,
        app_state(request).ring,
        lg_code=body.lg_code,
        name=body.name,
        prefecture=body.prefecture,
        kind=body.kind.value,
        actor=op.actor,
    )
    return _municipality_read(uow, m)


@router.post("/municipalities/{lg_code}/suspend", tags=["operator"])
def suspend_municipality(lg_code: str, uow: UoW, op: OperatorOnly) -> MunicipalityRead:
    """Suspend a tenant: its staff and tokens can no longer sign in."""
    m = service.set_status(uow.session, lg_code, MunicipalityStatus.SUSPENDED, op.actor)
    return _municipality_read(uow, m)


@router.post("/municipalities/{lg_code}/resume", tags=["operator"])
def resume_municipality(lg_code: str, uow: UoW, op: OperatorOnly) -> MunicipalityRead:
    """Resume a suspended tenant."""
    m = service.set_status(uow.session, lg_code, MunicipalityStatus.ACTIVE, op.actor)
    return _municipality_read(uow, m)


@router.post("/municipalities/{lg_code}/continuity", tags=["operator"])
def declare_continuity(
    lg_code: str, body: ContinuityDeclare, uow: UoW, op: OperatorOnly
) -> MunicipalityRead:
    """Declare 業務継続モード for a stricken member (mutual-aid partners may act for it)."""
    service.declare_continuity(uow.session, lg_code, body.reason, op.actor)
    return _municipality_read(uow, service.require_municipality(uow.session, lg_code))


@router.delete("/municipalities/{lg_code}/continuity", tags=["operator"])
def end_continuity(lg_code: str, uow: UoW, op: OperatorOnly) -> MunicipalityRead:
    """End 業務継続モード."""
    service.end_continuity(uow.session, lg_code, op.actor)
    return _municipality_read(uow, service.require_municipality(uow.session, lg_code))


@router.post("/municipalities/{lg_code}/staff", status_code=201, tags=["operator"])
def operator_create_staff(lg_code: str, body: StaffCreate, uow: UoW, op: OperatorOnly) -> StaffRead:
    """Create a staff account in a tenant (the data center sets up each member's first admin)."""
    m = service.require_municipality(uow.session, lg_code)
    with tenant_scope(uow.session, TenantContext(TenantId(m.id))):
        staff = service.create_staff(
            uow.session,
            login_id=body.login_id,
            display_name=body.display_name,
            password=body.password,
            roles=[r.value for r in body.roles],
            actor=op.actor,
        )
        return _staff_read(staff)


# --- tenant: staff ----------------------------------------------------------------------------


@router.get("/staff", tags=["staff"])
def list_staff(uow: UoW, _admin: TenantAdmin) -> list[StaffRead]:
    """Staff accounts of the caller's municipality."""
    return [_staff_read(s) for s in repo.staff_list(uow.session)]


@router.get("/staff/{staff_id}", tags=["staff"])
def get_staff(staff_id: uuid.UUID, uow: UoW, _admin: TenantAdmin) -> StaffRead:
    """One staff account of the caller's municipality (another municipality's answers 404)."""
    return _staff_read(service.get_staff(uow.session, staff_id))


@router.post("/staff", status_code=201, tags=["staff"])
def create_staff(
    body: StaffCreate,
    request: Request,
    response: Response,
    uow: UoW,
    admin: TenantAdmin,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create a staff account; a repeat with the same Idempotency-Key returns the first result."""

    def run() -> dict[str, Any]:
        staff = service.create_staff(
            uow.session,
            login_id=body.login_id,
            display_name=body.display_name,
            password=body.password,
            roles=[r.value for r in body.roles],
            actor=admin.actor,
        )
        return _staff_read(staff).model_dump(mode="json")

    return idempotent(
        request, response, uow, admin, idempotency_key, body.model_dump(mode="json"), 201, run
    )


@router.patch("/staff/{staff_id}", tags=["staff"])
def update_staff(staff_id: uuid.UUID, body: StaffUpdate, uow: UoW, admin: TenantAdmin) -> StaffRead:
    """Change roles, name, activity or password; a stale version answers 409."""
    staff = service.update_staff(
        uow.session,
        staff_id,
        expected_version=body.version,
        actor=admin.actor,
        display_name=body.display_name,
        roles=[r.value for r in body.roles] if body.roles is not None else None,
        active=body.active,
        password=body.password,
    )
    return _staff_read(staff)


# --- tenant: API tokens -----------------------------------------------------------------------


@router.get("/tokens", tags=["tokens"])
def list_tokens(uow: UoW, _admin: TenantAdmin) -> list[TokenRead]:
    """API tokens of the caller's municipality (hashes are never shown)."""
    return [TokenRead.model_validate(t) for t in repo.tokens(uow.session)]


@router.post("/tokens", status_code=201, tags=["tokens"])
def create_token(body: TokenCreate, uow: UoW, admin: TenantAdmin) -> TokenIssued:
    """Issue a bearer token bound to this municipality and one role; shown once."""
    m = service.current_municipality(uow.session)
    token, plain = issue_token(
        uow.session,
        m,
        name=body.name,
        role=body.role.value,
        created_by=str(admin.id),
        expires_at=body.expires_at,
    )
    audit.record(
        uow.session,
        actor=admin.actor,
        action="token.issued",
        subject_type="api_token",
        subject_id=str(token.id),
        details={"name": body.name, "role": body.role.value},
    )
    return TokenIssued(**TokenRead.model_validate(token).model_dump(), token=plain)


@router.delete("/tokens/{token_id}", tags=["tokens"])
def revoke_token(token_id: uuid.UUID, uow: UoW, admin: TenantAdmin) -> TokenRead:
    """Revoke a token at once."""
    token = repo.token_by_id(uow.session, token_id)
    if token is None:
        raise NotFound("指定されたトークンは見つかりません。", code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            uow.session,
            actor=admin.actor,
            action="token.revoked",
            subject_type="api_token",
            subject_id=str(token.id),
        )
    return TokenRead.model_validate(token)


# --- tenant: parameters -----------------------------------------------------------------------


@router.get("/tenant/parameters", tags=["tenant"])
def get_parameters(uow: UoW, _p: Authenticated) -> ParametersRead:
    """The tenant parameters in force (the only per-tenant settings there are)."""
    if _p.is_operator:
        raise NotFound()
    version, params = service.current_parameters(uow.session)
    return ParametersRead(version=version, parameters=params)


@router.put("/tenant/parameters", tags=["tenant"])
def put_parameters(body: ParametersUpdate, uow: UoW, admin: TenantAdmin) -> ParametersRead:
    """Store a new version of the tenant parameters; unknown fields are refused (422)."""
    version, params = service.update_parameters(
        uow.session,
        body.parameters,
        expected_version=body.version,
        actor=admin.actor,
        reason=body.reason,
    )
    return ParametersRead(version=version, parameters=params)


# --- tenant: audit log ------------------------------------------------------------------------


@router.get("/audit", tags=["audit"])
def list_audit(
    uow: UoW,
    reader: AuditReader,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntryRead]:
    """The municipality's audit log, newest first (reading it is itself audited)."""
    stmt = repo.scoped(uow.session, AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    rows = uow.session.scalars(stmt).all()
    out = [AuditEntryRead.model_validate(r) for r in rows]
    audit.record(
        uow.session,
        actor=reader.actor,
        action="audit.read",
        subject_type="audit_log",
        details={"before_seq": before_seq, "limit": limit, "count": len(out)},
    )
    return out


@router.get("/audit/{seq}", tags=["audit"])
def get_audit_entry(seq: int, uow: UoW, reader: AuditReader) -> AuditEntryRead:
    """One audit entry of the caller's municipality."""
    row = uow.session.scalar(repo.scoped(uow.session, AuditEntry).where(AuditEntry.seq == seq))
    if row is None:
        raise NotFound()
    audit.record(
        uow.session,
        actor=reader.actor,
        action="audit.read",
        subject_type="audit_entry",
        subject_id=str(seq),
    )
    return AuditEntryRead.model_validate(row)
