"""The NHI premium's records: annual runs, household assessments with their history, members.

国民健康保険税 is levied on the household head for the household (地方税法703条の4・706条). An
assessment is one revision of one household's premium for one fiscal year; a correction (更正)
after a mid-year change is a new revision and every earlier revision stays readable
(append-only). ``nhi_assessment_members`` lists who each revision covered (the head and the
insured), so a change to one person finds the households it touches without reading JSON. Only
the run bookkeeping (how far an annual run got) is updated in place.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.scoping import TenantScoped


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


class NhiAssessmentRun(TenantScoped, Base):
    """One `jichitai nhi assess` run: its rates and how far it got (a crashed run resumes)."""

    __tablename__ = "nhi_assessment_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.RUNNING)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    # The municipality's rates (TenantParameters.nhi) this run applied: the year's ordinance.
    # Corrections of the year later apply the same rates, even after next year's are set.
    rates: Mapped[dict[str, Any]] = mapped_column(JSON)
    households: Mapped[int] = mapped_column(Integer, default=0)
    # The last household (in household-id order) whose chunk was committed with this row.
    cursor: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    revised: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_nhi_assessment_runs_tenant_id_fiscal_year", "tenant_id", "fiscal_year"),
    )


class NhiAssessment(TenantScoped, Base):
    """One revision of one NHI household's premium for one fiscal year; the newest is in force."""

    __tablename__ = "nhi_assessments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    revision: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(12))  # nhi.assessment_rules.AssessmentReason
    # The run whose rates apply (the annual run of the year, also for later corrections).
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # SHA-256 of the facts and the rates: an unchanged hash is not written again.
    inputs_hash: Mapped[str] = mapped_column(String(64))
    reference_date: Mapped[dt.date] = mapped_column(Date)  # 1 April, or the first acquisition
    head_person_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # 納税義務者 (世帯主)
    nominal_head: Mapped[bool] = mapped_column(Boolean)  # 擬制世帯主
    insured: Mapped[int] = mapped_column(Integer)  # insured members in the year
    reduction_rate: Mapped[str] = mapped_column(String(8))  # "0.7" / "0.5" / "0.2" / "0"
    # Each component's rounded annual amount ({"medical": 330300, …}) and their sum.
    components: Mapped[dict[str, int]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(BigInteger)
    # 普通徴収 instalments (第1期 July … 第8期 February), summing to ``total``.
    instalments: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The household as the rules read it ({"members": […], …}; {"cancelled": true} for a
    # cancellation). Every intermediate figure follows from them and the run's rates by the same
    # rules, so they are recomputed when read (nhi.assessment_service.breakdown).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index(
            "ix_nhi_assessments_tenant_id_fiscal_year_household_id_revision",
            "tenant_id",
            "fiscal_year",
            "household_id",
            "revision",
            unique=True,
        ),
        {"info": {"append_only": True}},
    )


class NhiAssessmentMember(TenantScoped, Base):
    """Who one assessment revision covered: the head (insured or not) and every insured member."""

    __tablename__ = "nhi_assessment_members"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    assessment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    head: Mapped[bool] = mapped_column(Boolean)
    months: Mapped[int] = mapped_column(Integer)  # months insured in the year (0: not insured)

    __table_args__ = (
        Index(
            "ix_nhi_assessment_members_tenant_id_fiscal_year_person_id",
            "tenant_id",
            "fiscal_year",
            "person_id",
        ),
        Index("ix_nhi_assessment_members_tenant_id_assessment_id", "tenant_id", "assessment_id"),
        {"info": {"append_only": True}},
    )
