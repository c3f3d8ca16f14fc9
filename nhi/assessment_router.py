"""NHI assessment API for NHI staff (国民健康保険税の賦課). Thin routes: authorise, call, audit."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, Field

from core import audit
from nhi import assessment_rules
from nhi import assessment_service as service
from nhi.assessment_models import NhiAssessment
from nhi.simulation import SimulationResult
from tenancy.auth import Principal
from tenancy.deps import UoW, personal_data_reader
from tenancy.models import Role

router = APIRouter(prefix="/api/v1/nhi", tags=["nhi"])

NhiOfficer = Annotated[Principal, Depends(personal_data_reader(Role.NHI_OFFICER))]
Purpose = Annotated[str | None, Header(alias="X-Purpose", max_length=200)]


class InstalmentRead(BaseModel):
    term: int = Field(description="期別（1〜8）")
    due: dt.date = Field(description="納期限")
    amount: int


class AssessmentMemberRead(BaseModel):
    person_id: uuid.UUID
    head: bool
    insured: bool
    former_insured: bool = Field(description="特定同一世帯所属者")
    months: int = Field(description="年度内の課税月数（月割）")


class AssessmentRevisionRead(BaseModel):
    revision: int
    reason: str = Field(description="initial（当初賦課）/ correction（更正）/ cancellation（取消）")
    assessed_at: dt.datetime
    reference_date: dt.date = Field(description="世帯を判定した日（4月1日または年度途中の取得日）")
    head_person_id: uuid.UUID = Field(description="納税義務者（世帯主）")
    nominal_head: bool = Field(description="擬制世帯主")
    reduction_rate: str
    components: dict[str, int] = Field(description="区分ごとの税額（端数処理後）")
    total: int
    instalments: list[InstalmentRead]
    members: list[AssessmentMemberRead]

    @classmethod
    def of(cls, row: NhiAssessment) -> AssessmentRevisionRead:
        dates = assessment_rules.due_dates(row.fiscal_year)
        members = [
            AssessmentMemberRead(
                person_id=uuid.UUID(m["person_id"]),
                head=m["head"],
                insured=m["months"] > 0,
                former_insured=m["former_insured"],
                months=m["months"],
            )
            for m in row.facts.get("members", [])
        ]
        return cls(
            revision=row.revision,
            reason=row.reason,
            assessed_at=row.assessed_at,
            reference_date=row.reference_date,
            head_person_id=row.head_person_id,
            nominal_head=row.nominal_head,
            reduction_rate=row.reduction_rate,
            components=row.components,
            total=row.total,
            instalments=[
                InstalmentRead(term=n, due=due, amount=amount)
                for n, (due, amount) in enumerate(zip(dates, row.instalments, strict=True), 1)
            ],
            members=members,
        )


class HouseholdAssessmentsRead(BaseModel):
    household_id: uuid.UUID
    fiscal_year: int
    revisions: list[AssessmentRevisionRead] = Field(description="全ての決定（古い順）")
    breakdown: SimulationResult | None = Field(
        description="現在の決定の計算内訳（取消のときは null）"
    )


@router.get("/households/{household_id}/assessments")
def household_assessments(
    household_id: uuid.UUID,
    uow: UoW,
    who: NhiOfficer,
    fiscal_year: Annotated[int, Query(ge=2000, le=2100, description="年度")],
    purpose: Purpose = None,
) -> Any:
    """国民健康保険税の賦課の履歴 (地方税法703条の4・17条の5): every revision of a household's year
    and the breakdown of the one in force; 404 when this municipality has none."""
    rows = service.require_assessment(uow.session, fiscal_year, household_id)
    audit.record(
        uow.session,
        actor=who.actor,
        action="nhi.assessment_read",
        subject_type="household",
        subject_id=str(household_id),
        purpose=purpose,
        details={"fiscal_year": fiscal_year},
    )
    return HouseholdAssessmentsRead(
        household_id=household_id,
        fiscal_year=fiscal_year,
        revisions=[AssessmentRevisionRead.of(r) for r in rows],
        breakdown=service.breakdown(uow.session, rows[-1]),
    )
