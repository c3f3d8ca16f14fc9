"""Issued documents API: the issuance log, the PDFs, revocation (public checks: web.verify)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import StringConstraints

from core import audit
from forms import service
from forms.catalog import FORM_LABELS, FormKind
from forms.models import IssuedDocument
from tenancy.auth import Principal
from tenancy.deps import UoW, personal_data_reader
from tenancy.models import Role
from tenancy.schemas import Schema

router = APIRouter(tags=["documents"])

Clerk = Annotated[Principal, Depends(personal_data_reader(Role.CLERK, Role.SUPERVISOR))]
Supervisor = Annotated[Principal, Depends(personal_data_reader(Role.SUPERVISOR))]
Serial = Annotated[str, StringConstraints(pattern=r"^\d{6}-\d{4}-\d{7}$")]


class RevokeRequest(Schema):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


def _entry(row: IssuedDocument) -> dict[str, Any]:
    return {
        "document_id": str(row.id),
        "serial": row.serial,
        "form": row.form_kind,
        "title": FORM_LABELS[FormKind(row.form_kind)],
        "issued_at": row.issued_at.isoformat(),
        "issued_by": row.issued_by,
        "acting_name": row.acting_name,
        "requester_type": row.requester_type,
        "requester_name": row.requester_name,
        "purpose": row.purpose,
        "subject_ids": row.subject_ids,
        "options": row.options,
        "fee": row.fee,
        "pages": row.pages,
        "reissue_of": row.reissue_of,
        "pdf_sha256": row.pdf_sha256,
    }


@router.get("/api/v1/documents")
def issuance_log(
    uow: UoW,
    who: Clerk,
    person_id: uuid.UUID | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """交付記録の一覧 (J:1370): who issued what, when, for whom, at what fee."""
    total, rows = service.log(uow.session, limit=limit, offset=offset, person_id=person_id)
    audit.record(
        uow.session,
        actor=who.actor,
        action="document.log_viewed",
        subject_type="issued_document",
        subject_id=str(person_id) if person_id else None,
        details={"rows": len(rows)},
    )
    return {"total": total, "items": [_entry(r) for r in rows]}


@router.get("/api/v1/documents/{document_id}")
def issued_document(document_id: uuid.UUID, uow: UoW, who: Clerk) -> dict[str, Any]:
    """交付記録の1件 (J:1370)."""
    row = service.document(uow.session, document_id)
    audit.record(
        uow.session,
        actor=who.actor,
        action="document.viewed",
        subject_type="issued_document",
        subject_id=row.serial,
    )
    return _entry(row)


@router.get("/api/v1/documents/{document_id}/pdf")
def document_pdf(document_id: uuid.UUID, uow: UoW, who: Clerk) -> Response:
    """The issued PDF, as signed, for printing at the counter (every read is audited)."""
    pdf = service.document_pdf(uow.session, document_id)
    row = service.document(uow.session, document_id)
    audit.record(
        uow.session,
        actor=who.actor,
        action="document.pdf_read",
        subject_type="issued_document",
        subject_id=row.serial,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{row.serial}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/api/v1/documents/{serial}/revoke")
def revoke_document(serial: Serial, body: RevokeRequest, uow: UoW, who: Supervisor) -> Any:
    """証明書の無効化 (lost or issued in error): verification reports it from then on."""
    revocation = service.revoke(uow.session, who.actor, serial, body.reason)
    return {"serial": revocation.serial, "reason": revocation.reason}
