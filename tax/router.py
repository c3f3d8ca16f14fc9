"""Inhabitant tax API (個人住民税). Thin routes: authorise, parse, call the rules or services."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel

from core import audit
from core.crypto import TenantKeys
from core.errors import NotFound, ValidationFailed
from forms.deps import document_service
from forms.service import issued_read, issuer_for
from resident_records.queries import persons_by_id
from tax import assessment_service, income_service
from tax.certificates import TaxCertificateRequest, TaxCertificates
from tax.models import TaxAssessment
from tax.simulation import SimulationInput, SimulationResult, simulate
from tenancy import service as tenancy_service
from tenancy.auth import Principal
from tenancy.deps import (
    UoW,
    app_state,
    idempotent,
    personal_data_reader,
    refuse,
    require_roles,
)
from tenancy.models import Role

router = APIRouter(prefix="/api/v1/tax", tags=["tax"])

Simulator = Annotated[
    Principal, Depends(require_roles(Role.TAX_OFFICER, Role.CLERK, Role.SUPERVISOR))
]
TaxOfficer = Annotated[Principal, Depends(personal_data_reader(Role.TAX_OFFICER, Role.SUPERVISOR))]
# 課税証明書 are issued at the counter as well as by the tax office.
CertificateIssuer = Annotated[
    Principal,
    Depends(personal_data_reader(Role.CLERK, Role.TAX_OFFICER, Role.SUPERVISOR)),
]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
# Intake files are at most a municipality's year of reports; larger ones are split by the sender.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@router.post("/simulate", response_model=SimulationResult)
def simulate_tax(body: SimulationInput, who: Simulator) -> SimulationResult:
    """個人住民税の試算 (地方税法 第3章第1節・tax.md): 所得・控除・所得割・均等割・森林環境税の内訳.

    The body describes a household typed in by staff, not a resident's record: nothing is
    read from or stored in the register, and no audit entry is written (there is no personal
    data of the register to account for). Hence ``require_roles``, not
    ``personal_data_reader``.
    """
    return simulate(body)


class ImportRead(BaseModel):
    import_id: uuid.UUID
    fiscal_year: int
    records: int
    already_imported: bool


@router.post(
    "/income-imports",
    status_code=201,
    response_model=ImportRead,
    responses={200: {"description": "同じファイルは取込済み（何も書き込みません）"}},
)
def import_income(
    file: UploadFile, request: Request, response: Response, uow: UoW, who: TaxOfficer
) -> ImportRead:
    """給与支払報告書・申告の取込 (地方税法317条の2・317条の6, docs/tax-intake.md): all or nothing.

    A bad line rejects the whole file (422, every line listed); the same file sent again is
    recognised by its SHA-256 and answered 200 with the earlier import, writing nothing.
    """
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            "ファイルが大きすぎます（上限 200MB）。分割して取り込んでください。",
            code="income_file_too_large",
        )
    keys = TenantKeys(uow.session, app_state(request).ring)
    summary = income_service.import_income(
        uow.session, keys, who.actor, data, file.filename or "upload.csv"
    )
    if summary.already_imported:
        response.status_code = 200
    return ImportRead(
        import_id=summary.import_id,
        fiscal_year=summary.fiscal_year,
        records=summary.records,
        already_imported=summary.already_imported,
    )


class AssessmentRead(BaseModel):
    revision: int
    reason: str
    assessed_at: dt.datetime
    resident: bool
    exempt: bool
    exempt_reason: str | None
    total_income: int
    taxable_income: int
    municipal_income_levy: int
    prefectural_income_levy: int
    municipal_per_capita: int
    prefectural_per_capita: int
    forest_environment_tax: int
    total: int
    special_total: int
    ordinary_total: int
    ordinary_instalments: list[int]
    special_collection: list[dict[str, Any]]
    breakdown: dict[str, Any]


class AssessmentHistoryRead(BaseModel):
    person_id: uuid.UUID
    fiscal_year: int
    current: AssessmentRead
    history: list[AssessmentRead]


def _read(uow: UoW, a: TaxAssessment) -> AssessmentRead:
    collections = assessment_service.special_collections(uow.session, a.id)
    return AssessmentRead(
        revision=a.revision,
        reason=a.reason,
        assessed_at=a.assessed_at,
        resident=a.resident,
        exempt=a.exempt,
        exempt_reason=a.exempt_reason,
        total_income=a.total_income,
        taxable_income=a.taxable_income,
        municipal_income_levy=a.municipal_income_levy,
        prefectural_income_levy=a.prefectural_income_levy,
        municipal_per_capita=a.municipal_per_capita,
        prefectural_per_capita=a.prefectural_per_capita,
        forest_environment_tax=a.forest_environment_tax,
        total=a.total,
        special_total=a.special_total,
        ordinary_total=a.ordinary_total,
        ordinary_instalments=list(a.ordinary_instalments),
        special_collection=[
            {
                "employer_name": c.employer_name,
                "employer_corporate_number": c.employer_corporate_number,
                "annual": c.annual,
                "monthly": list(c.monthly),
            }
            for c in collections
        ],
        breakdown=assessment_service.breakdown(a),
    )


@router.get("/assessments/{person_id}", response_model=AssessmentHistoryRead)
def assessment(
    person_id: uuid.UUID,
    uow: UoW,
    who: TaxOfficer,
    fiscal_year: Annotated[int, Query(ge=2000, le=2100, description="年度")],
) -> AssessmentHistoryRead:
    """課税台帳の照会 (地方税法 第3章第1節): the assessment in force and every earlier revision."""
    if person_id not in persons_by_id(uow.session, [person_id]):
        raise NotFound("指定された宛名は見つかりません。", code="person_not_found")
    revisions = assessment_service.history(uow.session, fiscal_year, person_id)
    if not revisions:
        raise NotFound(f"{fiscal_year}年度の課税の記録はありません。", code="assessment_not_found")
    audit.record(
        uow.session,
        actor=who.actor,
        action="tax.assessment_read",
        subject_type="person",
        subject_id=str(person_id),
        details={"fiscal_year": fiscal_year},
    )
    reads = [_read(uow, a) for a in revisions]
    return AssessmentHistoryRead(
        person_id=person_id, fiscal_year=fiscal_year, current=reads[-1], history=reads
    )


@router.post("/certificates", status_code=201)
def issue_certificate(
    body: TaxCertificateRequest,
    request: Request,
    response: Response,
    uow: UoW,
    who: CertificateIssuer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """所得・課税証明書 / 非課税証明書の交付 (地方税法20条の10・22条): the assessment in force."""

    def run() -> dict[str, Any]:
        session = uow.session
        docs = document_service(request, session, who.actor)
        _version, params = tenancy_service.current_parameters(session)
        issuer = issuer_for(session, tenancy_service.current_municipality(session))
        issued, blocked = TaxCertificates(docs, params).issue(body, issuer)
        if blocked is not None:
            refuse(uow, blocked)
        return {"documents": issued_read(issued)}

    return idempotent(
        request, response, uow, who, idempotency_key, body.model_dump(mode="json"), 201, run
    )
