"""NHI qualification API for NHI staff (国保資格). Thin routes: authorise, parse, call, audit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response

from core import audit
from nhi.models import CoverageKind
from nhi.schemas import (
    CoverageCancellation,
    CoverageCancelled,
    CoverageEventRead,
    CoverageRecorded,
    EmployeeInsuranceJoined,
    EmployeeInsuranceLeft,
    EmployeeInsuranceRecorded,
    LivelihoodAssistanceEnded,
    LivelihoodAssistanceStarted,
    NhiHouseholdRead,
    PersonQualificationsRead,
    Schema,
    person_qualifications,
)
from nhi.service import CoverRecorded, Qualifications
from tenancy.auth import Principal
from tenancy.deps import UoW, idempotent, personal_data_reader
from tenancy.models import Role

router = APIRouter(prefix="/api/v1/nhi", tags=["nhi"])

NhiOfficer = Annotated[Principal, Depends(personal_data_reader(Role.NHI_OFFICER))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
Purpose = Annotated[str | None, Header(alias="X-Purpose", max_length=200)]


def _service(uow: UoW, who: Principal) -> Qualifications:
    return Qualifications(uow.session, who.actor, uow.publish)


def _state(svc: Qualifications, person_id: uuid.UUID) -> PersonQualificationsRead:
    versions, events = svc.history(person_id)
    return person_qualifications(person_id, versions, events, svc.today)


def _recorded(svc: Qualifications, recorded: CoverRecorded) -> CoverageRecorded:
    state = _state(svc, recorded.fact.person_id)
    return CoverageRecorded(**state.model_dump(), recorded=CoverageEventRead.of(recorded.fact))


def _record(
    request: Request,
    response: Response,
    uow: UoW,
    who: Principal,
    key: str | None,
    person_id: uuid.UUID,
    body: Schema,
    kind: CoverageKind,
    on: dt.date,
    insurer_name: str | None = None,
    dependants: Sequence[uuid.UUID] | None = None,
) -> Any:
    """Record one fact; ``dependants`` is given for employee insurance, whose answer lists them."""
    svc = _service(uow, who)

    def run() -> dict[str, Any]:
        recorded = svc.record_cover(person_id, kind, on, insurer_name, dependants or ())
        out = _recorded(svc, recorded)
        if dependants is None:
            return out.model_dump(mode="json")
        return EmployeeInsuranceRecorded(
            **out.model_dump(), dependants=[_recorded(svc, d) for d in recorded.dependants]
        ).model_dump(mode="json")

    return idempotent(request, response, uow, who, key, body.model_dump(mode="json"), 201, run)


@router.get("/persons/{person_id}/qualifications")
def get_qualifications(
    person_id: uuid.UUID, uow: UoW, who: NhiOfficer, purpose: Purpose = None
) -> PersonQualificationsRead:
    """国保資格の履歴: every qualification with every revision (voided ones included)."""
    svc = _service(uow, who)
    state = _state(svc, person_id)
    audit.record(
        uow.session,
        actor=who.actor,
        action="nhi.qualification_read",
        subject_type="resident",
        subject_id=str(person_id),
        purpose=purpose,
    )
    return state


@router.post(
    "/persons/{person_id}/employee-insurance/joined",
    status_code=201,
    response_model=EmployeeInsuranceRecorded,
)
def employee_insurance_joined(
    person_id: uuid.UUID,
    body: EmployeeInsuranceJoined,
    request: Request,
    response: Response,
    uow: UoW,
    who: NhiOfficer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """社会保険加入: NHI lost next day (国民健康保険法6条・8条), 被扶養者 too (健康保険法3条)."""
    return _record(
        request,
        response,
        uow,
        who,
        idempotency_key,
        person_id,
        body,
        CoverageKind.EMPLOYEE_INSURANCE_JOINED,
        body.joined_on,
        body.insurer_name,
        body.dependants,
    )


@router.post(
    "/persons/{person_id}/employee-insurance/left",
    status_code=201,
    response_model=EmployeeInsuranceRecorded,
)
def employee_insurance_left(
    person_id: uuid.UUID,
    body: EmployeeInsuranceLeft,
    request: Request,
    response: Response,
    uow: UoW,
    who: NhiOfficer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """社会保険離脱: NHI acquired next day (国民健康保険法7条), 被扶養者 too (健康保険法3条)."""
    return _record(
        request,
        response,
        uow,
        who,
        idempotency_key,
        person_id,
        body,
        CoverageKind.EMPLOYEE_INSURANCE_LEFT,
        body.left_on,
        body.insurer_name,
        body.dependants,
    )


@router.post(
    "/persons/{person_id}/livelihood-assistance/started",
    status_code=201,
    response_model=CoverageRecorded,
)
def livelihood_assistance_started(
    person_id: uuid.UUID,
    body: LivelihoodAssistanceStarted,
    request: Request,
    response: Response,
    uow: UoW,
    who: NhiOfficer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """生活保護開始: NHI is lost on the start date (法6条9号, 法8条2項)."""
    return _record(
        request,
        response,
        uow,
        who,
        idempotency_key,
        person_id,
        body,
        CoverageKind.LIVELIHOOD_ASSISTANCE_STARTED,
        body.started_on,
    )


@router.post(
    "/persons/{person_id}/livelihood-assistance/ended",
    status_code=201,
    response_model=CoverageRecorded,
)
def livelihood_assistance_ended(
    person_id: uuid.UUID,
    body: LivelihoodAssistanceEnded,
    request: Request,
    response: Response,
    uow: UoW,
    who: NhiOfficer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """生活保護廃止: NHI is acquired on the 廃止日 when the person is eligible (法7条)."""
    return _record(
        request,
        response,
        uow,
        who,
        idempotency_key,
        person_id,
        body,
        CoverageKind.LIVELIHOOD_ASSISTANCE_ENDED,
        body.ended_on,
    )


@router.post(
    "/persons/{person_id}/coverage/cancellation",
    status_code=201,
    response_model=CoverageCancelled,
)
def coverage_cancellation(
    person_id: uuid.UUID,
    body: CoverageCancellation,
    request: Request,
    response: Response,
    uow: UoW,
    who: NhiOfficer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """記録の取消: a mistaken fact withdrawn, its 資格 changes undone (国民健康保険法6条〜8条);
    an employee's 社会保険 fact takes the facts of the 被扶養者 (健康保険法3条7項) recorded with it
    along in the same transaction, or is refused (422 ``dependant_not_latest``) with nothing
    written when one of them is no longer the latest fact of that dependant."""
    svc = _service(uow, who)

    def run() -> dict[str, Any]:
        cancelled = svc.cancel_cover(person_id, body.event_id, body.reason)
        state = _state(svc, person_id)
        return CoverageCancelled(
            **state.model_dump(),
            recorded=CoverageEventRead.of(cancelled.fact),
            dependants=[_recorded(svc, d) for d in cancelled.dependants],
        ).model_dump(mode="json")

    return idempotent(
        request, response, uow, who, idempotency_key, body.model_dump(mode="json"), 201, run
    )


@router.get("/households/{household_id}")
def get_household(
    household_id: uuid.UUID,
    uow: UoW,
    who: NhiOfficer,
    purpose: Purpose = None,
    on: dt.date | None = None,
) -> NhiHouseholdRead:
    """国保世帯: the register's household on a date, its head liable (擬制世帯主 if uninsured)."""
    svc = _service(uow, who)
    household = svc.household(household_id, on or svc.today)
    audit.record(
        uow.session,
        actor=who.actor,
        action="nhi.household_read",
        subject_type="household",
        subject_id=str(household_id),
        purpose=purpose,
        details={"on": household.on.isoformat()},
    )
    return NhiHouseholdRead.of(household)
