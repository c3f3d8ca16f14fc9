"""The inhabitant tax's records: imported income, assessments with their history, and runs.

Income records and assessments are append-only. A corrected 給与支払報告書 is a new record that
supersedes the earlier one with the same key (the newest import wins, the old one stays); a
reassessment (更正) is a new revision of the person's assessment, and every earlier revision
stays readable. Only the run bookkeeping (how far an assessment run got) is updated in place.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.scoping import TenantScoped


class IncomeImport(TenantScoped, Base):
    """One accepted intake file (給与支払報告書 / 申告): accepted whole or not at all."""

    __tablename__ = "tax_income_imports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    # The file's SHA-256: the same file sent twice is recognised and not imported again.
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(8))
    records: Mapped[int] = mapped_column(Integer)
    non_residents_registered: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_tax_income_imports_tenant_id_sha256", "tenant_id", "sha256", unique=True),
        {"info": {"append_only": True}},
    )


class IncomeEntry(TenantScoped, Base):
    """One income of one person for one fiscal year, as the intake file gave it."""

    __tablename__ = "tax_income_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    import_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    line: Mapped[int] = mapped_column(Integer)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    document: Mapped[str] = mapped_column(String(20))
    employer_name: Mapped[str | None] = mapped_column(String(200))
    employer_corporate_number: Mapped[str | None] = mapped_column(String(13))
    income_kind: Mapped[str] = mapped_column(String(20))
    revenue: Mapped[int] = mapped_column(BigInteger)
    social_insurance: Mapped[int] = mapped_column(BigInteger, default=0)
    special_collection: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index(
            "ix_tax_income_records_tenant_id_fiscal_year_person_id",
            "tenant_id",
            "fiscal_year",
            "person_id",
        ),
        {"info": {"append_only": True}},
    )


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


class AssessmentRun(TenantScoped, Base):
    """One `jichitai tax assess` run: how far it got, so a crashed run resumes where it stopped."""

    __tablename__ = "tax_assessment_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.RUNNING)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    taxpayers: Mapped[int] = mapped_column(Integer, default=0)
    # The last person (in person-id order) whose chunk was committed with this row.
    cursor: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    revised: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_tax_assessment_runs_tenant_id_fiscal_year", "tenant_id", "fiscal_year"),
    )


class AssessmentReason(enum.StrEnum):
    INITIAL = "initial"  # 当初賦課
    CORRECTION = "correction"  # 更正 (地方税法17条の5: the facts changed)
    CANCELLATION = "cancellation"  # 賦課の取消: not a taxpayer here after all


class TaxAssessment(TenantScoped, Base):
    """One revision of one person's assessment for one fiscal year; the newest is in force."""

    __tablename__ = "tax_assessments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    revision: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(12))
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    assessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # SHA-256 of the facts the assessment was computed from: an unchanged hash is not re-written.
    inputs_hash: Mapped[str] = mapped_column(String(64))
    resident: Mapped[bool] = mapped_column(Boolean)  # False: 住登外 (地方税法294条3項)
    exempt: Mapped[bool] = mapped_column(Boolean)
    exempt_reason: Mapped[str | None] = mapped_column(String(40))
    total_income: Mapped[int] = mapped_column(BigInteger)
    taxable_income: Mapped[int] = mapped_column(BigInteger)
    municipal_income_levy: Mapped[int] = mapped_column(BigInteger)
    prefectural_income_levy: Mapped[int] = mapped_column(BigInteger)
    municipal_per_capita: Mapped[int] = mapped_column(BigInteger)
    prefectural_per_capita: Mapped[int] = mapped_column(BigInteger)
    forest_environment_tax: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    special_total: Mapped[int] = mapped_column(BigInteger)
    ordinary_total: Mapped[int] = mapped_column(BigInteger)
    # 普通徴収 instalments [June, August, October, January]; empty when nothing is due that way.
    ordinary_instalments: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The facts the rules ran on ({"case": …, "no_income_records": …}; {"cancelled": true} for
    # a cancellation). Every intermediate figure follows from them by the same rules, so they
    # are recomputed when read (tax.assessment_service.breakdown) rather than stored.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index(
            "ix_tax_assessments_tenant_id_fiscal_year_person_id_revision",
            "tenant_id",
            "fiscal_year",
            "person_id",
            "revision",
            unique=True,
        ),
        {"info": {"append_only": True}},
    )


class SpecialCollection(TenantScoped, Base):
    """特別徴収 of one assessment revision by one employer: the 12 monthly amounts June–May."""

    __tablename__ = "tax_special_collections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    assessment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    employer_corporate_number: Mapped[str] = mapped_column(String(13))
    employer_name: Mapped[str] = mapped_column(String(200))
    annual: Mapped[int] = mapped_column(BigInteger)
    monthly: Mapped[list[int]] = mapped_column(JSON)

    __table_args__ = (
        Index(
            "ix_tax_special_collections_tenant_id_fiscal_year_employer",
            "tenant_id",
            "fiscal_year",
            "employer_corporate_number",
        ),
        Index("ix_tax_special_collections_tenant_id_assessment_id", "tenant_id", "assessment_id"),
        {"info": {"append_only": True}},
    )
