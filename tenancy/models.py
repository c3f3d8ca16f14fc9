"""Tenancy tables.

Deployment-wide tables (no RLS; the operator manages them): municipalities, groups, group
membership, mutual-aid agreements, continuity declarations, operator accounts, web sessions.
Tenant-scoped tables (RLS): staff, API tokens, tenant parameter versions.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.scoping import TenantScoped


class MunicipalityKind(enum.StrEnum):
    DESIGNATED_CITY = "政令指定都市"
    CITY = "市"
    SPECIAL_WARD = "特別区"
    TOWN = "町"
    VILLAGE = "村"


class MunicipalityStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Role(enum.StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    TAX_OFFICER = "tax_officer"
    NHI_OFFICER = "nhi_officer"
    PENSION_OFFICER = "pension_officer"
    WELFARE_OFFICER = "welfare_officer"
    TENANT_ADMIN = "tenant_admin"


ROLE_LABELS: dict[str, str] = {
    Role.CLERK: "窓口担当",
    Role.SUPERVISOR: "責任者",
    Role.TAX_OFFICER: "税務担当",
    Role.NHI_OFFICER: "国保担当",
    Role.PENSION_OFFICER: "年金担当",
    Role.WELFARE_OFFICER: "福祉担当",
    Role.TENANT_ADMIN: "団体管理者",
    "operator": "データセンター運用者",
}


class Municipality(Base):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lg_code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    prefecture: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=MunicipalityStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.prefecture}{self.name}"


class MunicipalGroup(Base):
    __tablename__ = "municipal_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MunicipalGroupMember(Base):
    __tablename__ = "municipal_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("municipal_groups.id"), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)
    joined_on: Mapped[dt.date] = mapped_column(Date)


class MutualAidAgreement(Base):
    __tablename__ = "mutual_aid_agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("municipal_groups.id"))
    name: Mapped[str] = mapped_column(String(200))
    concluded_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)


class MutualAidParty(Base):
    __tablename__ = "mutual_aid_parties"

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("mutual_aid_agreements.id"), primary_key=True
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)


class ContinuityDeclaration(Base):
    """業務継続モード: declared for a stricken member so that its partners may act for it."""

    __tablename__ = "continuity_declarations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    declared_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(64))


class OperatorAccount(Base):
    """Data-center operators: manage tenants and staff; never read a resident's data."""

    __tablename__ = "operator_accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    login_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A server-side login session. Looked up by the hash of the cookie before any tenant
    context exists, so it is deployment-wide; it holds ids only, never personal data."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_kind: Mapped[str] = mapped_column(String(16))  # staff / operator
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    principal_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_web_sessions_tenant_id_principal_id", "tenant_id", "principal_id"),)


class Staff(TenantScoped, Base):
    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    login_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("tenant_id", "login_id"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ApiToken(TenantScoped, Base):
    """A system's bearer token: bound to one tenant and one role; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("tenant_id", "token_hash"),)


class TenantParameterVersion(TenantScoped, Base):
    """One version of a tenant's parameters; the newest is in force. Never updated in place."""

    __tablename__ = "tenant_parameter_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    schema_version: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = {"info": {"append_only": True}}  # noqa: RUF012
