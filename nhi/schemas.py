"""Pydantic in/out of the NHI qualification API."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from nhi.models import REASON_LABELS, NhiCoverageEvent, NhiQualificationVersion
from nhi.repository import latest
from nhi.service import NhiHousehold

InsurerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Dependants of one employee recorded with them: a family's worth, not a bulk load.
MAX_DEPENDANTS = 20


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _label(code: str | None) -> str | None:
    return REASON_LABELS.get(code) if code else None


class EmployeeInsuranceJoined(Schema):
    """社会保険（被用者保険）の加入."""

    joined_on: dt.date = Field(description="社会保険の資格取得日")
    insurer_name: InsurerName | None = Field(default=None, description="保険者名（任意）")
    dependants: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=MAX_DEPENDANTS,
        description="被扶養者（同じ日に同じ世帯の世帯員）。同じ日に加入し、国保を喪失",
    )


class EmployeeInsuranceLeft(Schema):
    """社会保険（被用者保険）の離脱."""

    left_on: dt.date = Field(description="社会保険の最終日（退職日）。国保は翌日に取得")
    insurer_name: InsurerName | None = Field(default=None, description="保険者名（任意）")
    dependants: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=MAX_DEPENDANTS,
        description="被扶養者（同じ日に同じ世帯の世帯員）。同じ日に離脱し、翌日に国保を取得",
    )


class LivelihoodAssistanceStarted(Schema):
    """生活保護の開始."""

    started_on: dt.date = Field(description="保護開始日。国保はこの日に喪失")


class LivelihoodAssistanceEnded(Schema):
    """生活保護の廃止."""

    ended_on: dt.date = Field(description="保護廃止日。国保はこの日に取得")


class CoverageCancellation(Schema):
    """記録の取消（誤って登録した社会保険・生活保護の記録）."""

    event_id: uuid.UUID = Field(description="取り消す記録（その保険・保護の最新の記録に限る）")
    reason: Reason = Field(description="取消の理由")


class QualificationVersionRead(Schema):
    revision: int
    status: str
    acquired_on: dt.date
    acquisition_reason: str
    acquisition_reason_label: str | None
    lost_on: dt.date | None
    loss_reason: str | None
    loss_reason_label: str | None
    void_reason: str | None
    void_reason_label: str | None
    cause_kind: str
    cause_id: uuid.UUID | None
    recorded_at: dt.datetime
    recorded_by: str

    @classmethod
    def of(cls, v: NhiQualificationVersion) -> QualificationVersionRead:
        return cls(
            revision=v.revision,
            status=v.status,
            acquired_on=v.acquired_on,
            acquisition_reason=v.acquisition_reason,
            acquisition_reason_label=_label(v.acquisition_reason),
            lost_on=v.lost_on,
            loss_reason=v.loss_reason,
            loss_reason_label=_label(v.loss_reason),
            void_reason=v.void_reason,
            void_reason_label=_label(v.void_reason),
            cause_kind=v.cause_kind,
            cause_id=v.cause_id,
            recorded_at=v.recorded_at,
            recorded_by=v.recorded_by,
        )


class QualificationRead(QualificationVersionRead):
    """One qualification in its newest revision, with every revision (oldest first)."""

    qualification_id: uuid.UUID
    versions: list[QualificationVersionRead]


class CoverageEventRead(Schema):
    id: uuid.UUID
    cover: str
    kind: str
    occurred_on: dt.date
    insurer_name: str | None
    cancels_id: uuid.UUID | None = Field(description="取消の記録: 取り消した記録")
    reason: str | None = Field(description="取消の理由")
    cancelled: bool = Field(description="後の取消により効力のない記録")
    recorded_at: dt.datetime

    @classmethod
    def of(cls, e: NhiCoverageEvent, *, cancelled: bool = False) -> CoverageEventRead:
        return cls(
            id=e.id,
            cover=e.cover,
            kind=e.kind,
            occurred_on=e.occurred_on,
            insurer_name=e.insurer_name,
            cancels_id=e.cancels_id,
            reason=e.reason,
            cancelled=cancelled,
            recorded_at=e.recorded_at,
        )


class PersonQualificationsRead(Schema):
    person_id: uuid.UUID
    insured_today: bool
    qualifications: list[QualificationRead]
    coverage: list[CoverageEventRead]


class CoverageRecorded(PersonQualificationsRead):
    """The recorded fact and the person's qualifications after it."""

    recorded: CoverageEventRead


class EmployeeInsuranceRecorded(CoverageRecorded):
    """The insured's recorded fact and state, and the same for each dependant (被扶養者)."""

    dependants: list[CoverageRecorded]


class CoverageCancelled(PersonQualificationsRead):
    """The cancellation (取消) recorded and the person's qualifications after it, and the same for
    each dependant (被扶養者) whose fact, recorded with the employee's, was withdrawn with it."""

    recorded: CoverageEventRead
    dependants: list[CoverageRecorded] = Field(
        description="一緒に登録した被扶養者の記録の取消（本人の記録の取消のときのみ）"
    )


def person_qualifications(
    person_id: uuid.UUID,
    versions: Sequence[NhiQualificationVersion],
    events: Sequence[NhiCoverageEvent],
    today: dt.date,
) -> PersonQualificationsRead:
    cancelled = {e.cancels_id for e in events if e.cancels_id is not None}
    qualifications = [
        QualificationRead(
            **QualificationVersionRead.of(q).model_dump(),
            qualification_id=q.qualification_id,
            versions=[
                QualificationVersionRead.of(v)
                for v in versions
                if v.qualification_id == q.qualification_id
            ],
        )
        for q in latest(versions)
    ]
    return PersonQualificationsRead(
        person_id=person_id,
        insured_today=any(q.covers(today) for q in latest(versions)),
        qualifications=qualifications,
        coverage=[CoverageEventRead.of(e, cancelled=e.id in cancelled) for e in events],
    )


class NhiHouseholdMemberRead(Schema):
    person_id: uuid.UUID
    is_head: bool
    insured: bool
    qualification_id: uuid.UUID | None


class NhiHouseholdRead(Schema):
    household_id: uuid.UUID
    on: dt.date
    head_person_id: uuid.UUID | None = Field(description="世帯主（納付義務者）")
    head_insured: bool
    nominal_head: bool = Field(description="擬制世帯主（世帯主が国保の被保険者でない）")
    insured_count: int
    members: list[NhiHouseholdMemberRead]

    @classmethod
    def of(cls, h: NhiHousehold) -> NhiHouseholdRead:
        return cls(
            household_id=h.household_id,
            on=h.on,
            head_person_id=h.head_person_id,
            head_insured=h.head_insured,
            nominal_head=h.nominal_head,
            insured_count=h.insured_count,
            members=[
                NhiHouseholdMemberRead(
                    person_id=m.person_id,
                    is_head=m.is_head,
                    insured=m.insured,
                    qualification_id=m.qualification_id,
                )
                for m in h.members
            ],
        )
