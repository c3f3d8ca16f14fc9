"""Tenancy use cases. Services flush, never commit; the unit of work commits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from core import audit
from core.crypto import MasterKeyRing, TenantKeys
from core.errors import Conflict, NotFound, ValidationFailed
from core.japanese.checkdigits import is_valid_lg_code
from core.scoping import TenantContext, TenantId, require_context, tenant_scope
from core.security import hash_password
from tenancy import repository as repo
from tenancy.models import (
    ContinuityDeclaration,
    MunicipalGroup,
    MunicipalGroupMember,
    Municipality,
    MunicipalityKind,
    MunicipalityStatus,
    MutualAidAgreement,
    MutualAidParty,
    OperatorAccount,
    Staff,
    TenantParameterVersion,
)
from tenancy.parameters import SCHEMA_VERSION, TenantParameters, default_for_kind


def validate_lg_code(lg_code: str) -> str:
    """全国地方公共団体コード: 6 digits whose last is the check digit (総務省)."""
    if len(lg_code) != 6 or not lg_code.isdigit() or not is_valid_lg_code(lg_code):
        raise ValidationFailed(
            "団体コードは検査数字を含む6桁の数字で入力してください（検査数字が一致しません）。",
            code="invalid_lg_code",
            details={"field": "lg_code"},
        )
    return lg_code


def create_municipality(
    session: Session,
    ring: MasterKeyRing,
    *,
    lg_code: str,
    name: str,
    prefecture: str,
    kind: str,
    actor: audit.Actor,
) -> Municipality:
    """Register a municipality as a tenant: its data keys, first parameters, first audit entry."""
    validate_lg_code(lg_code)
    if kind not in {k.value for k in MunicipalityKind}:
        raise ValidationFailed("団体の種類が正しくありません。", code="invalid_kind")
    if repo.municipality_by_code(session, lg_code) is not None:
        raise Conflict("この団体コードは既に登録されています。", code="duplicate_lg_code")
    m = Municipality(lg_code=lg_code, name=name, prefecture=prefecture, kind=kind)
    session.add(m)
    session.flush()
    with tenant_scope(session, TenantContext(TenantId(m.id))):
        TenantKeys(session, ring).ensure()
        params = default_for_kind(kind)
        session.add(
            TenantParameterVersion(
                version=1,
                schema_version=SCHEMA_VERSION,
                values=params.model_dump(mode="json"),
                changed_by=actor.id,
                reason="団体登録時の初期値",
            )
        )
        audit.record(
            session,
            actor=actor,
            action="tenant.created",
            subject_type="municipality",
            subject_id=lg_code,
            details={"name": name, "kind": kind},
        )
    return m


def require_municipality(session: Session, lg_code: str) -> Municipality:
    m = repo.municipality_by_code(session, lg_code)
    if m is None:
        raise NotFound("指定された団体は登録されていません。", code="municipality_not_found")
    return m


def set_status(
    session: Session, lg_code: str, status: MunicipalityStatus, actor: audit.Actor
) -> Municipality:
    """Suspend or resume a tenant: a suspended tenant's staff and tokens cannot sign in."""
    m = require_municipality(session, lg_code)
    if m.status != status:
        m.status = status
        with tenant_scope(session, TenantContext(TenantId(m.id))):
            audit.record(
                session,
                actor=actor,
                action=f"tenant.{status.value}",
                subject_type="municipality",
                subject_id=lg_code,
            )
    return m


def ensure_group(session: Session, name: str) -> MunicipalGroup:
    group = repo.group_by_name(session, name)
    if group is None:
        group = MunicipalGroup(name=name)
        session.add(group)
        session.flush()
    return group


def add_group_member(
    session: Session,
    group: MunicipalGroup,
    m: Municipality,
    joined_on: dt.date,
    actor: audit.Actor,
) -> None:
    """Join a municipality to a group; the change is audited in the member's own chain."""
    if repo.is_group_member(session, group.id, m.id):
        return
    session.add(MunicipalGroupMember(group_id=group.id, municipality_id=m.id, joined_on=joined_on))
    session.flush()
    with tenant_scope(session, TenantContext(TenantId(m.id))):
        audit.record(
            session,
            actor=actor,
            action="group.joined",
            subject_type="municipal_group",
            subject_id=str(group.id),
            details={"group": group.name, "joined_on": joined_on.isoformat()},
        )


def conclude_agreement(
    session: Session,
    group: MunicipalGroup,
    name: str,
    parties: Sequence[Municipality],
    concluded_on: dt.date,
    actor: audit.Actor,
) -> MutualAidAgreement:
    """相互支援協定 among members of one group (a member outside the group cannot be a party)."""
    for m in parties:
        if not repo.is_group_member(session, group.id, m.id):
            raise ValidationFailed(
                f"{m.name}は{group.name}の構成団体ではありません。", code="not_group_member"
            )
    agreement = MutualAidAgreement(group_id=group.id, name=name, concluded_on=concluded_on)
    session.add(agreement)
    session.flush()
    for m in parties:
        session.add(MutualAidParty(agreement_id=agreement.id, municipality_id=m.id))
    session.flush()
    # Each party's own chain records that others may act for it in a disaster.
    for m in parties:
        with tenant_scope(session, TenantContext(TenantId(m.id))):
            audit.record(
                session,
                actor=actor,
                action="mutual_aid.concluded",
                subject_type="mutual_aid_agreement",
                subject_id=str(agreement.id),
                details={"name": name, "parties": [p.lg_code for p in parties]},
            )
    return agreement


def declare_continuity(
    session: Session, lg_code: str, reason: str, actor: audit.Actor
) -> ContinuityDeclaration:
    """Declare 業務継続モード for a stricken member so its agreement partners may act for it."""
    m = require_municipality(session, lg_code)
    if repo.open_continuity(session, m.id) is not None:
        raise Conflict("この団体は既に業務継続モードです。", code="continuity_already_declared")
    decl = ContinuityDeclaration(municipality_id=m.id, reason=reason, declared_by=actor.id)
    session.add(decl)
    session.flush()
    with tenant_scope(session, TenantContext(TenantId(m.id))):
        audit.record(
            session,
            actor=actor,
            action="continuity.declared",
            subject_type="municipality",
            subject_id=lg_code,
            details={"reason": reason},
        )
    return decl


def end_continuity(session: Session, lg_code: str, actor: audit.Actor) -> ContinuityDeclaration:
    m = require_municipality(session, lg_code)
    decl = repo.open_continuity(session, m.id)
    if decl is None:
        raise Conflict("この団体は業務継続モードではありません。", code="continuity_not_declared")
    decl.ended_at = dt.datetime.now(dt.UTC)
    decl.ended_by = actor.id
    with tenant_scope(session, TenantContext(TenantId(m.id))):
        audit.record(
            session,
            actor=actor,
            action="continuity.ended",
            subject_type="municipality",
            subject_id=lg_code,
        )
    return decl


def may_act_for(session: Session, acting: int, stricken: int) -> bool:
    """Mutual aid: ``acting`` may work for ``stricken`` only while ``stricken`` is in
    continuity mode and both are parties to an agreement in force."""
    return repo.open_continuity(
        session, stricken
    ) is not None and acting in repo.agreement_partners(session, stricken)


# --- operators and staff --------------------------------------------------------------------


def create_operator(
    session: Session, login_id: str, display_name: str, password: str
) -> OperatorAccount:
    if repo.operator_by_login(session, login_id) is not None:
        raise Conflict("このユーザーIDは既に使われています。", code="duplicate_login_id")
    op = OperatorAccount(
        login_id=login_id, display_name=display_name, password_hash=hash_password(password)
    )
    session.add(op)
    session.flush()
    return op


def create_staff(
    session: Session,
    *,
    login_id: str,
    display_name: str,
    password: str,
    roles: Sequence[str],
    actor: audit.Actor,
) -> Staff:
    """Create a staff account in the current tenant."""
    if repo.staff_by_login(session, login_id) is not None:
        raise Conflict("このユーザーIDは既に使われています。", code="duplicate_login_id")
    staff = Staff(
        login_id=login_id,
        display_name=display_name,
        password_hash=hash_password(password),
        roles=sorted(set(roles)),
    )
    session.add(staff)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.created",
        subject_type="staff",
        subject_id=str(staff.id),
        details={"login_id": login_id, "roles": staff.roles},
    )
    return staff


def get_staff(session: Session, staff_id: uuid.UUID) -> Staff:
    staff = repo.staff_by_id(session, staff_id)
    if staff is None:
        raise NotFound("指定された職員は見つかりません。", code="staff_not_found")
    return staff


def update_staff(
    session: Session,
    staff_id: uuid.UUID,
    *,
    expected_version: int,
    actor: audit.Actor,
    display_name: str | None = None,
    roles: Sequence[str] | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> Staff:
    """Change a staff account; a stale ``expected_version`` is a conflict (409)."""
    staff = get_staff(session, staff_id)
    if staff.version != expected_version:
        raise Conflict()
    changed: dict[str, Any] = {}
    if display_name is not None and display_name != staff.display_name:
        staff.display_name = display_name
        changed["display_name"] = display_name
    if roles is not None and sorted(set(roles)) != staff.roles:
        staff.roles = sorted(set(roles))
        changed["roles"] = staff.roles
    if active is not None and active != staff.active:
        staff.active = active
        changed["active"] = active
    if password is not None:
        staff.password_hash = hash_password(password)
        staff.failed_logins = 0
        staff.locked_until = None
        changed["password_reset"] = True
    if changed:
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="staff.updated",
            subject_type="staff",
            subject_id=str(staff.id),
            details=changed,
        )
    return staff


# --- tenant parameters ------------------------------------------------------------------------


def current_parameters(session: Session) -> tuple[int, TenantParameters]:
    row = repo.latest_parameters(session)
    if row is None:
        raise NotFound("団体パラメータが設定されていません。", code="parameters_not_found")
    return row.version, TenantParameters.model_validate(row.values)


def update_parameters(
    session: Session,
    values: dict[str, Any],
    *,
    expected_version: int,
    actor: audit.Actor,
    reason: str | None,
) -> tuple[int, TenantParameters]:
    """Store a new version of the tenant parameters (the only per-tenant settings there are)."""
    version, current = current_parameters(session)
    if version != expected_version:
        raise Conflict()
    try:
        new = TenantParameters.model_validate(values)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        unknown = [".".join(map(str, e["loc"])) for e in errors if e["type"] == "extra_forbidden"]
        if unknown:
            # カスタマイズ抑制: only the fields of TenantParameters exist; say so plainly.
            raise ValidationFailed(
                f"設定できない団体パラメータが含まれています: {'、'.join(unknown)}",
                code="unknown_parameter",
                details={"fields": unknown},
            ) from exc
        raise ValidationFailed(
            "団体パラメータの値に誤りがあります。",
            code="invalid_parameter",
            details=[{"field": ".".join(map(str, e["loc"])), "type": e["type"]} for e in errors],
        ) from exc
    before, after = current.model_dump(mode="json"), new.model_dump(mode="json")
    diff = {
        k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v
    }
    # The seal image is large and not a secret; the audit keeps its change, not its bytes.
    if "seal_image_png_base64" in diff:
        diff["seal_image_png_base64"] = {"changed": True}
    session.add(
        TenantParameterVersion(
            version=version + 1,
            schema_version=SCHEMA_VERSION,
            values=after,
            changed_by=actor.id,
            reason=reason,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="tenant.parameters_changed",
        subject_type="tenant_parameters",
        subject_id=str(version + 1),
        purpose=reason,
        details=diff,
    )
    return version + 1, new


def current_municipality(session: Session) -> Municipality:
    ctx = require_context(session)
    m = repo.municipality_by_id(session, ctx.tenant_id)
    assert m is not None
    return m
