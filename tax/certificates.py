"""所得・課税証明書 / 非課税証明書 at the counter, from the assessment in force.

地方税法20条の10 (証明書の交付) and 22条 (秘密漏えい): a tax certificate discloses income, so only
the taxpayer, a member of the same household, an agent with a 委任状, or an official body on an
official request (公用) may receive it — no third party. A person under a DV等支援措置 is
protected here as in the register: anyone but the person themself is refused, and the refusal
is logged (resident_records.protection).

The printed figures come from the stored facts of the assessment, run through the same rules
again (deterministic): they must equal the stored amounts, or nothing is issued.
"""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.errors import NotFound, ValidationFailed
from forms.catalog import spec
from forms.service import DocumentService, Issued, Issuer, IssueRequest
from resident_records import protection
from resident_records.queries import postal
from tax import assessment_service
from tax.documents import Addressee, certificate
from tax.models import AssessmentReason
from tax.taxpayers import assessment_date
from tenancy.parameters import TenantParameters

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TaxRequesterType(enum.StrEnum):
    SELF = "self"  # 本人
    HOUSEHOLD_MEMBER = "household_member"  # 同一世帯の者
    AGENT = "agent"  # 代理人 (委任状)
    OFFICIAL = "official"  # 公用請求 (官公署)


class TaxRequester(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TaxRequesterType
    name: Text = Field(description="請求者の氏名（官公署はその名称）")
    authorisation: bool = Field(default=False, description="代理人: 委任状を確認した")
    purpose: Text | None = Field(default=None, description="使用目的（公用請求は必須）")


class TaxCertificateRequest(BaseModel):
    """所得・課税証明書 / 非課税証明書の交付請求."""

    model_config = ConfigDict(extra="forbid")

    person_id: uuid.UUID
    fiscal_year: Annotated[int, Field(ge=2000, le=2100, description="年度")]
    requester: TaxRequester
    purpose: Text | None = Field(default=None, description="証明書に印字する使用目的")
    copies: Annotated[int, Field(ge=1, le=10)] = 1


def _field_error(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"fields": {field: message}})


def check_requester(requester: TaxRequester) -> None:
    """地方税法22条: who may receive a tax certificate, and what they must show."""
    if requester.type == TaxRequesterType.AGENT and not requester.authorisation:
        raise _field_error(
            "requester.authorisation",
            "代理人からの請求には委任状の確認が必要です。",
            "authorisation_required",
        )
    if requester.type == TaxRequesterType.OFFICIAL and not requester.purpose:
        raise _field_error(
            "requester.purpose", "公用請求には使用目的の記載が必要です。", "purpose_required"
        )


class TaxCertificates:
    """The counter's tax certificates for the tenant of the session's context."""

    def __init__(self, documents: DocumentService, params: TenantParameters) -> None:
        self.documents = documents
        self.session = documents.session
        self.params = params

    def issue(
        self, req: TaxCertificateRequest, issuer: Issuer
    ) -> tuple[list[Issued], protection.ProtectedPersonBlocked | None]:
        """地方税法20条の10: issue the certificate (or return the logged refusal to raise)."""
        check_requester(req.requester)
        session = self.session
        row = assessment_service.current_assessment(session, req.fiscal_year, req.person_id)
        person = postal(session, [req.person_id], assessment_date(req.fiscal_year)).get(
            req.person_id
        ) or postal(session, [req.person_id]).get(req.person_id)
        if person is None:
            raise NotFound("指定された宛名は見つかりません。", code="person_not_found")
        if row is None or row.reason == AssessmentReason.CANCELLATION:
            raise NotFound(
                f"{req.fiscal_year}年度の課税の記録はありません。", code="assessment_not_found"
            )
        if req.requester.type != TaxRequesterType.SELF:
            blocked = protection.check_disclosure(
                session,
                self.documents.actor,
                req.person_id,
                requester_type=req.requester.type.value,
                requester_name=req.requester.name,
                purpose=req.requester.purpose,
                on=self.documents.today,
            )
            if blocked is not None:
                return [], blocked
        content = certificate(
            assessment_service.rules_assessment(row),
            Addressee(
                name=person.name,
                kana=person.kana,
                birth_date=person.birth_date,
                address=person.address,
            ),
            purpose=req.purpose,
            municipality=issuer.name,
        )
        form = spec(content.kind)
        issued = self.documents.issue(
            IssueRequest(
                form=content.kind,
                record=content.record,
                subject_ids=[req.person_id],
                requester_type=req.requester.type.value,
                requester_name=req.requester.name,
                purpose=req.requester.purpose or req.purpose,
                options={"fiscal_year": req.fiscal_year},
                fee_per_copy=0
                if req.requester.type == TaxRequesterType.OFFICIAL
                else form.fee(self.params.fees),
                copies=req.copies,
            ),
            issuer,
        )
        return issued, None
