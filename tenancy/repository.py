"""All SQL of the tenancy package. Tenant-scoped reads start from the tenant-filtered base."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from core.scoping import TenantScoped, require_context
from tenancy.models import (
    ApiToken,
    ContinuityDeclaration,
    MunicipalGroup,
    MunicipalGroupMember,
    Municipality,
    MutualAidAgreement,
    MutualAidParty,
    OperatorAccount,
    Staff,
    TenantParameterVersion,
    WebSession,
)

T = TypeVar("T", bound=TenantScoped)


def scoped(session: Session, model: type[T]) -> Select[T]:
    """Wall 1: every tenant-scoped statement starts here, filtered by the session's tenant."""
    ctx = require_context(session)
    return select(model).where(model.tenant_id == ctx.tenant_id)  # type: ignore[attr-defined,return-value]


def scoped_by_param(model: type[T]) -> Select[T]:
    """Wall 1 for a statement built once and run for any tenant (``core.db.prepared_rows``):
    filtered by the ``tenant`` parameter, which the runner sets to the session's tenant."""
    return select(model).where(model.tenant_id == bindparam("tenant"))  # type: ignore[attr-defined,return-value]


# --- municipalities and groups (deployment-wide) -----------------------------------------------


def municipality_by_code(session: Session, lg_code: str) -> Municipality | None:
    return session.scalar(select(Municipality).where(Municipality.lg_code == lg_code))


def municipality_by_id(session: Session, tenant_id: int) -> Municipality | None:
    return session.get(Municipality, tenant_id)


def municipalities(session: Session) -> Sequence[Municipality]:
    return session.scalars(select(Municipality).order_by(Municipality.lg_code)).all()


def group_by_name(session: Session, name: str) -> MunicipalGroup | None:
    return session.scalar(select(MunicipalGroup).where(MunicipalGroup.name == name))


def groups_of(session: Session, municipality_id: int) -> Sequence[MunicipalGroup]:
    stmt = (
        select(MunicipalGroup)
        .join(MunicipalGroupMember, MunicipalGroupMember.group_id == MunicipalGroup.id)
        .where(MunicipalGroupMember.municipality_id == municipality_id)
        .order_by(MunicipalGroup.name)
    )
    return session.scalars(stmt).all()


def group_members(session: Session, group_id: int) -> Sequence[Municipality]:
    stmt = (
        select(Municipality)
        .join(MunicipalGroupMember, MunicipalGroupMember.municipality_id == Municipality.id)
        .where(MunicipalGroupMember.group_id == group_id)
        .order_by(Municipality.lg_code)
    )
    return session.scalars(stmt).all()


def is_group_member(session: Session, group_id: int, municipality_id: int) -> bool:
    return session.get(MunicipalGroupMember, (group_id, municipality_id)) is not None


def agreement_partners(session: Session, municipality_id: int) -> set[int]:
    """Municipalities bound to ``municipality_id`` by an agreement in force."""
    mine = (
        select(MutualAidParty.agreement_id)
        .join(MutualAidAgreement, MutualAidAgreement.id == MutualAidParty.agreement_id)
        .where(
            MutualAidParty.municipality_id == municipality_id,
            MutualAidAgreement.ended_on.is_(None),
        )
    )
    stmt = select(MutualAidParty.municipality_id).where(MutualAidParty.agreement_id.in_(mine))
    return {m for m in session.scalars(stmt) if m != municipality_id}


def open_continuity(session: Session, municipality_id: int) -> ContinuityDeclaration | None:
    return session.scalar(
        select(ContinuityDeclaration).where(
            ContinuityDeclaration.municipality_id == municipality_id,
            ContinuityDeclaration.ended_at.is_(None),
        )
    )


def open_continuities(session: Session) -> Sequence[ContinuityDeclaration]:
    return session.scalars(
        select(ContinuityDeclaration)
        .where(ContinuityDeclaration.ended_at.is_(None))
        .order_by(ContinuityDeclaration.declared_at)
    ).all()


# --- accounts and sessions ------------------------------------------------------------------


def operator_by_login(session: Session, login_id: str) -> OperatorAccount | None:
    return session.scalar(select(OperatorAccount).where(OperatorAccount.login_id == login_id))


def web_session(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def staff_by_login(session: Session, login_id: str) -> Staff | None:
    return session.scalar(scoped(session, Staff).where(Staff.login_id == login_id))


def staff_by_id(session: Session, staff_id: uuid.UUID) -> Staff | None:
    return session.scalar(scoped(session, Staff).where(Staff.id == staff_id))


def staff_list(session: Session) -> Sequence[Staff]:
    return session.scalars(scoped(session, Staff).order_by(Staff.login_id)).all()


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(scoped(session, ApiToken).where(ApiToken.token_hash == token_hash))


def token_by_id(session: Session, token_id: uuid.UUID) -> ApiToken | None:
    return session.scalar(scoped(session, ApiToken).where(ApiToken.id == token_id))


def tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(scoped(session, ApiToken).order_by(ApiToken.created_at)).all()


def latest_parameters(session: Session) -> TenantParameterVersion | None:
    return session.scalar(
        scoped(session, TenantParameterVersion)
        .order_by(TenantParameterVersion.version.desc())
        .limit(1)
    )


def parameter_history(session: Session) -> Sequence[TenantParameterVersion]:
    return session.scalars(
        scoped(session, TenantParameterVersion).order_by(TenantParameterVersion.version.desc())
    ).all()
