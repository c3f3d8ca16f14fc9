"""NHI qualification tables (資格). Tenant-scoped (RLS), keyed ``(tenant_id, …)``, append-only.

``nhi_qualification_versions``: one row per change of one qualification (資格: one span from an
acquisition to a loss). A qualification is identified by ``qualification_id``; its state is the
row with the highest ``revision``. Nothing is updated in place: a loss, a corrected loss date, a
voided acquisition (取得の取消) or a restored one after a cancelled residency event is a new
revision, so the whole history stays readable. ``(qualification_id, revision)`` is unique, which
also makes two concurrent writers of the same qualification conflict instead of both winning.

``nhi_coverage_events``: facts staff record from the insured's notification — employee insurance
(被用者保険) joined / left and livelihood assistance (生活保護) started / ended. Each kind of cover
is a sequence of alternating start and end events per person (``seq`` unique per person and
cover), from which the periods are read. A fact recorded by mistake is withdrawn by a cancellation
(取消): one more row of the same cover whose ``cancels_id`` names the fact (always the latest one
still standing, so the standing facts keep alternating), whose ``occurred_on`` repeats the fact's
date and whose ``reason`` says why; the cancelled row itself is never touched.

The NHI household (国保世帯) is not stored: it is the register's household on a date with its
head (世帯主) as the liable person, read through ``resident_records.queries`` and combined with
the qualifications (``nhi.service.nhi_household``). The head is 擬制世帯主 when not insured
themself. Stored, it could only drift from the register; derived, every household change
(分離・合併・世帯主変更, a move, a death) is reflected on the very date it takes effect.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Date, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.scoping import TenantScoped


class QualificationStatus(enum.StrEnum):
    ACTIVE = "active"  # acquired (and lost, if lost_on is set)
    VOIDED = "voided"  # the acquisition never held (kept visible in history)


class AcquisitionReason(enum.StrEnum):
    MOVE_IN = "move_in"  # 転入 (国外転入・職権記載 included)
    BIRTH = "birth"  # 出生
    LEFT_EMPLOYEE_INSURANCE = "left_employee_insurance"  # 社会保険離脱
    LEFT_LIVELIHOOD_ASSISTANCE = "left_livelihood_assistance"  # 生活保護廃止
    MIGRATION = "migration"  # 移行: insured before this system (nhi.service.enrol_population)


class LossReason(enum.StrEnum):
    MOVE_OUT = "move_out"  # 転出
    EMIGRATION = "emigration"  # 国外転出
    DEATH = "death"  # 死亡
    REMOVAL = "removal"  # 職権消除
    AGE_75 = "age_75"  # 後期高齢者医療へ移行
    JOINED_EMPLOYEE_INSURANCE = "joined_employee_insurance"  # 社会保険加入
    LIVELIHOOD_ASSISTANCE = "livelihood_assistance"  # 生活保護開始


class VoidReason(enum.StrEnum):
    EVENT_CANCELLED = "event_cancelled"  # the residency event behind the acquisition was cancelled
    COVER_CANCELLED = "cover_cancelled"  # the recorded cover fact behind it was cancelled (取消)
    EMPLOYEE_INSURANCE = "employee_insurance"  # insured elsewhere since before the acquisition
    LIVELIHOOD_ASSISTANCE = "livelihood_assistance"  # on assistance since before the acquisition
    NOT_RESIDENT = "not_resident"  # the person had left before the acquisition date
    LATE_ELDERLY = "late_elderly"  # already 75 (後期高齢者医療) on the acquisition date


class CauseKind(enum.StrEnum):
    RESIDENCY_EVENT = "residency_event"  # a 住民異動 (cause_id: the residency event)
    # A 取消 (cause_id: the residency event of the 取消, or the cancelling nhi_coverage_events row)
    CANCELLATION = "cancellation"
    COVERAGE = "coverage"  # a staff-recorded fact (cause_id: the nhi_coverage_events row)
    AGE = "age"  # the daily age job (cause_id: None)
    MIGRATION = "migration"  # brought over in bulk from the previous system (cause_id: None)


class Cover(enum.StrEnum):
    EMPLOYEE_INSURANCE = "employee_insurance"
    LIVELIHOOD_ASSISTANCE = "livelihood_assistance"


class CoverageKind(enum.StrEnum):
    EMPLOYEE_INSURANCE_JOINED = "employee_insurance_joined"
    EMPLOYEE_INSURANCE_LEFT = "employee_insurance_left"
    LIVELIHOOD_ASSISTANCE_STARTED = "livelihood_assistance_started"
    LIVELIHOOD_ASSISTANCE_ENDED = "livelihood_assistance_ended"
    CANCELLED = "cancelled"  # 取消 of the latest standing fact of the cover (cancels_id)


REASON_LABELS: dict[str, str] = {
    AcquisitionReason.MOVE_IN: "転入",
    AcquisitionReason.BIRTH: "出生",
    AcquisitionReason.LEFT_EMPLOYEE_INSURANCE: "社会保険離脱",
    AcquisitionReason.LEFT_LIVELIHOOD_ASSISTANCE: "生活保護廃止",
    AcquisitionReason.MIGRATION: "移行（旧システムの資格）",
    LossReason.MOVE_OUT: "転出",
    LossReason.EMIGRATION: "国外転出",
    LossReason.DEATH: "死亡",
    LossReason.REMOVAL: "職権消除",
    LossReason.AGE_75: "後期高齢者医療へ移行",
    LossReason.JOINED_EMPLOYEE_INSURANCE: "社会保険加入",
    LossReason.LIVELIHOOD_ASSISTANCE: "生活保護開始",
    VoidReason.EVENT_CANCELLED: "住民異動の取消",
    VoidReason.COVER_CANCELLED: "社会保険・生活保護の届出の取消",
    VoidReason.EMPLOYEE_INSURANCE: "取得日以前から社会保険に加入",
    VoidReason.LIVELIHOOD_ASSISTANCE: "取得日以前から生活保護を受給",
    VoidReason.NOT_RESIDENT: "取得日に住民でない",
    VoidReason.LATE_ELDERLY: "取得日に75歳以上（後期高齢者医療）",
}


class NhiQualificationVersion(TenantScoped, Base):
    """One revision of one NHI qualification (被保険者資格). Append-only."""

    __tablename__ = "nhi_qualification_versions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    qualification_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    revision: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16))
    acquired_on: Mapped[dt.date] = mapped_column(Date)  # 資格取得日
    acquisition_reason: Mapped[str] = mapped_column(String(40))
    acquisition_cause_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    lost_on: Mapped[dt.date | None] = mapped_column(Date)  # 資格喪失日 (first day not insured)
    loss_reason: Mapped[str | None] = mapped_column(String(40))
    loss_cause_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    void_reason: Mapped[str | None] = mapped_column(String(40))
    void_cause_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # What made this revision: a residency event, a 取消, a staff-recorded fact, the age job.
    cause_kind: Mapped[str] = mapped_column(String(20))
    cause_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)  # 処理日
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "ix_nhi_qualification_versions_tenant_id_qualification_id",
            "tenant_id",
            "qualification_id",
            "revision",
            unique=True,
        ),
        Index("ix_nhi_qualification_versions_tenant_id_person_id", "tenant_id", "person_id"),
        Index(
            "ix_nhi_qualification_versions_tenant_id_status",
            "tenant_id",
            "status",
            "lost_on",
        ),
        {"info": {"append_only": True}},
    )

    def covers(self, on: dt.date) -> bool:
        """Insured on ``on``: acquired on or before it and not yet lost."""
        return (
            self.status == QualificationStatus.ACTIVE
            and self.acquired_on <= on
            and (self.lost_on is None or self.lost_on > on)
        )


class NhiCoverageEvent(TenantScoped, Base):
    """A staff-recorded start or end of other cover (被用者保険・生活保護). Append-only."""

    __tablename__ = "nhi_coverage_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    cover: Mapped[str] = mapped_column(String(30))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … per person and cover: start, end, start …
    kind: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    insurer_name: Mapped[str | None] = mapped_column(String(100))
    cancels_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the fact a 取消 withdraws
    reason: Mapped[str | None] = mapped_column(String(200))  # why (a 取消 only)
    # A dependant's (被扶養者) fact: the employee's fact it was recorded and is withdrawn with.
    dependant_of_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "ix_nhi_coverage_events_tenant_id_person_id",
            "tenant_id",
            "person_id",
            "cover",
            "seq",
            unique=True,
        ),
        Index("ix_nhi_coverage_events_tenant_id_dependant_of_id", "tenant_id", "dependant_of_id"),
        {"info": {"append_only": True}},
    )
