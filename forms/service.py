"""Issuing documents: serial, verification code, rendering, PAdES signature, issuance log.

Business areas build a form's content (what is printed about whom) and its rules (who may ask
for what); this module turns content into an issued, signed, logged document the same way for
every area. Each copy gets its own serial (J:1000: a unique issue number on every copy).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import audit
from core.crypto import PURPOSE_DOCUMENT_SIGNING, PURPOSE_PDF_SIGNING, TenantKeys
from core.db import bulk_insert, utcnow
from core.errors import NotFound, ValidationFailed
from core.ids import new_id
from core.japanese.era import to_japanese
from core.scoping import TenantContext, TenantId, require_context, tenant_scope
from forms import signing
from forms.catalog import FormKind, spec
from forms.engine import Renderer, qr_data_uri, seal_data_uri
from forms.models import (
    DocumentFile,
    DocumentRevocation,
    IssuedDocument,
    IssuedDocumentSubject,
    SerialCounter,
)
from tenancy import repository as tenancy_repo
from tenancy import service as tenancy_service
from tenancy.models import Municipality
from tenancy.parameters import TenantParameters

SERIAL_DIGITS = 7


@dataclass(frozen=True)
class Issuer:
    """The municipality printed as the certifier (under mutual aid: the stricken member)."""

    lg_code: str
    name: str
    prefecture: str
    title: str  # 射水市長, 舟橋村長 …
    mayor_name: str
    seal: str | None

    @classmethod
    def of(cls, municipality: Municipality, params: TenantParameters) -> Issuer:
        stem = municipality.name[:-1] if municipality.name[-1:] in "市町村区" else municipality.name
        return cls(
            lg_code=municipality.lg_code,
            name=municipality.name,
            prefecture=municipality.prefecture,
            title=stem + params.mayor_title,
            mayor_name=params.mayor_name,
            seal=seal_data_uri(params.seal_image_png_base64),
        )

    def printed(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prefecture": self.prefecture,
            "title": self.title,
            "mayor_name": self.mayor_name,
            "seal": self.seal,
        }


@dataclass
class IssueRequest:
    form: FormKind
    record: dict[str, Any]  # what the form prints about its subjects
    subject_ids: Sequence[uuid.UUID]
    requester_type: str
    requester_name: str | None
    purpose: str | None
    options: dict[str, Any] = field(default_factory=dict)
    fee_per_copy: int = 0
    copies: int = 1
    household_id: uuid.UUID | None = None
    reissue_of: str | None = None


@dataclass(frozen=True)
class Issued:
    document_id: uuid.UUID
    serial: str
    form: FormKind
    title: str
    fee: int
    pages: int
    pdf_sha256: str
    pdf: bytes = field(repr=False)


def issued_read(issued: Sequence[Issued]) -> list[dict[str, Any]]:
    """What the API answers for issued documents: their serials and a link to each PDF."""
    return [
        {
            "document_id": str(d.document_id),
            "serial": d.serial,
            "title": d.title,
            "fee": d.fee,
            "pages": d.pages,
            "pdf_url": f"/api/v1/documents/{d.document_id}/pdf",
        }
        for d in issued
    ]


def issued_on_text(day: dt.date) -> str:
    return to_japanese(day).format()


def next_serials(session: Session, lg_code: str, year: int, count: int) -> list[str]:
    """発行番号 ``<団体コード>-<年>-<7桁>`` from a per-year counter (J:1000)."""
    ctx = require_context(session)
    # The year's counter row is created if missing without failing on a concurrent creation
    # (ON CONFLICT DO NOTHING on both databases); the UPDATE then takes the row lock.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(SerialCounter)
        .values(tenant_id=ctx.tenant_id, year=year, next_value=1)
        .on_conflict_do_nothing()
    )
    end = session.execute(
        update(SerialCounter)
        .where(SerialCounter.tenant_id == ctx.tenant_id, SerialCounter.year == year)
        .values(next_value=SerialCounter.next_value + count)
        .returning(SerialCounter.next_value)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return [f"{lg_code}-{year}-{n:0{SERIAL_DIGITS}d}" for n in range(end - count, end)]


def _page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


class DocumentService:
    """Issues documents for the tenant of the session's context."""

    def __init__(
        self,
        session: Session,
        keys: TenantKeys,
        renderer: Renderer,
        actor: audit.Actor,
        *,
        base_url: str,
        today: dt.date | None = None,
    ) -> None:
        self.session = session
        self.keys = keys
        self.renderer = renderer
        self.actor = actor
        self.base_url = base_url
        self.today = today or dt.date.today()

    def _document(
        self, serial: str, issuer: Issuer, acting: str | None, reissue: bool, *, sample: bool
    ) -> dict[str, Any]:
        return {
            "serial": serial,
            "issued_on": self.today.isoformat(),
            "issued_on_text": issued_on_text(self.today),
            "reissue": reissue,
            "sample": sample,
            "acting_issuer": acting,
        }

    def preview(self, request: IssueRequest, issuer: Issuer) -> bytes:
        """A 見本 (sample) of the document: no serial, no signature, nothing logged as issued."""
        form = spec(request.form)
        document = self._document("見本", issuer, None, request.reissue_of is not None, sample=True)
        document["qr"] = qr_data_uri("見本")
        return self.renderer.render(
            form, {"issuer": issuer.printed(), "document": document, "record": request.record}
        )

    def issue(
        self, request: IssueRequest, issuer: Issuer, *, acting_name: str | None = None
    ) -> list[Issued]:
        """Issue ``copies`` documents, each with its own serial, code, signature and log entry."""
        form = spec(request.form)
        ctx = require_context(self.session)
        code_key_id, code_seed = self.keys.signing_seed(PURPOSE_DOCUMENT_SIGNING)
        pdf_key_id, pdf_seed = self.keys.signing_seed(PURPOSE_PDF_SIGNING)
        certificate, private_key = signing.pdf_certificate(
            issuer.lg_code, issuer.title, pdf_key_id, pdf_seed
        )
        serials = next_serials(self.session, issuer.lg_code, self.today.year, request.copies)
        out: list[Issued] = []
        for serial in serials:
            document = self._document(
                serial, issuer, acting_name, request.reissue_of is not None, sample=False
            )
            printed = {
                "form": form.kind.value,
                "issuer": issuer.printed(),
                "document": document,
                "record": request.record,
            }
            digest = signing.content_hash(printed)
            code = signing.VerificationCode(
                serial, digest, signing.sign_code(code_seed, serial, digest)
            )
            document["qr"] = qr_data_uri(code.url(self.base_url))
            pdf = self.renderer.render(
                form, {"issuer": issuer.printed(), "document": document, "record": request.record}
            )
            pdf = signing.sign_pdf(
                pdf,
                certificate,
                private_key,
                reason=f"{form.title}の発行（発行番号 {serial}）",
                location=f"{issuer.prefecture}{issuer.name}",
            )
            pdf_sha256 = hashlib.sha256(pdf).hexdigest()
            pages = _page_count(pdf)
            row = IssuedDocument(
                id=new_id(),
                serial=serial,
                form_kind=form.kind.value,
                issued_by=self.actor.id,
                acting_tenant_id=ctx.acting_tenant_id,
                acting_name=acting_name,
                requester_type=request.requester_type,
                requester_name=request.requester_name,
                purpose=request.purpose,
                subject_ids=[str(s) for s in request.subject_ids],
                household_id=request.household_id,
                options=request.options,
                fee=request.fee_per_copy,
                reissue_of=request.reissue_of,
                content_hash=digest,
                pdf_sha256=pdf_sha256,
                signature=code.signature,
                signing_key_id=code_key_id,
                pages=pages,
            )
            self.session.add(row)
            self.session.add_all(
                IssuedDocumentSubject(document_id=row.id, person_id=s)
                for s in dict.fromkeys(request.subject_ids)
            )
            self.session.add(DocumentFile(document_id=row.id, pdf=pdf))
            audit.record(
                self.session,
                actor=self.actor,
                action="document.issued",
                subject_type="issued_document",
                subject_id=serial,
                purpose=request.purpose,
                details={
                    "form": form.kind.value,
                    "requester_type": request.requester_type,
                    "subjects": len(request.subject_ids),
                    "acting": acting_name or "",
                },
            )
            out.append(
                Issued(row.id, serial, form.kind, form.title, row.fee, pages, pdf_sha256, pdf)
            )
        return out

    def issue_batch(
        self,
        kind: FormKind,
        items: Sequence[BatchItem],
        issuer: Issuer,
        *,
        requester_type: str,
        purpose: str,
    ) -> list[dict[str, Any]]:
        """Notices in batch (納税通知書 …): a serial, a signed code and a log entry each.

        Returns the render contexts, in order, for :class:`forms.batch.BatchRenderer`; the
        batch is printed and mailed, not kept as files, so the log holds no PDF and the
        verification page checks the printed code (serial + content hash + signature).
        """
        if not items:
            return []
        form = spec(kind)
        ctx = require_context(self.session)
        code_key_id, code_seed = self.keys.signing_seed(PURPOSE_DOCUMENT_SIGNING)
        serials = next_serials(self.session, issuer.lg_code, self.today.year, len(items))
        printed_issuer = issuer.printed()
        now = utcnow()
        contexts: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        subjects: list[dict[str, Any]] = []
        for serial, item in zip(serials, items, strict=True):
            document = self._document(serial, issuer, None, False, sample=False)
            digest = signing.content_hash(
                {
                    "form": form.kind.value,
                    "issuer": printed_issuer,
                    "document": document,
                    "record": item.record,
                }
            )
            code = signing.VerificationCode(
                serial, digest, signing.sign_code(code_seed, serial, digest)
            )
            document["qr"] = qr_data_uri(code.url(self.base_url))
            contexts.append({"issuer": printed_issuer, "document": document, "record": item.record})
            document_id = new_id()
            rows.append(
                {
                    "tenant_id": ctx.tenant_id,
                    "id": document_id,
                    "serial": serial,
                    "form_kind": form.kind.value,
                    "issued_at": now,
                    "issued_by": self.actor.id,
                    "acting_tenant_id": None,
                    "acting_name": None,
                    "requester_type": requester_type,
                    "requester_name": None,
                    "purpose": purpose,
                    "subject_ids": [str(s) for s in item.subject_ids],
                    "household_id": None,
                    "options": {},
                    "fee": 0,
                    "reissue_of": None,
                    "content_hash": digest,
                    "pdf_sha256": "",
                    "signature": code.signature,
                    "signing_key_id": code_key_id,
                    "pages": 1,
                }
            )
            subjects += [
                {"tenant_id": ctx.tenant_id, "document_id": document_id, "person_id": p}
                for p in dict.fromkeys(item.subject_ids)
            ]
        bulk_insert(self.session, IssuedDocument, rows)
        bulk_insert(self.session, IssuedDocumentSubject, subjects)
        audit.record(
            self.session,
            actor=self.actor,
            action="document.batch_issued",
            subject_type="issued_document",
            subject_id=f"{serials[0]}..{serials[-1]}",
            purpose=purpose,
            details={"form": form.kind.value, "count": len(items)},
        )
        return contexts


@dataclass(frozen=True)
class BatchItem:
    """One document of a batch: what it prints and whom it is about."""

    record: dict[str, Any]
    subject_ids: Sequence[uuid.UUID]


# --- reading the log -------------------------------------------------------------------------


def document(session: Session, document_id: uuid.UUID) -> IssuedDocument:
    row = session.scalar(select(IssuedDocument).where(IssuedDocument.id == document_id))
    if row is None:
        raise NotFound("指定された交付記録は見つかりません。", code="document_not_found")
    return row


def document_pdf(session: Session, document_id: uuid.UUID) -> bytes:
    document(session, document_id)
    pdf = session.scalar(select(DocumentFile.pdf).where(DocumentFile.document_id == document_id))
    if pdf is None:
        raise NotFound("この証明書のPDFは保存期間を過ぎました。", code="document_file_expired")
    return pdf


def by_serial(session: Session, serial: str) -> IssuedDocument | None:
    return session.scalar(select(IssuedDocument).where(IssuedDocument.serial == serial))


def log(
    session: Session, *, limit: int = 50, offset: int = 0, person_id: uuid.UUID | None = None
) -> tuple[int, Sequence[IssuedDocument]]:
    """The issuance log, newest first; with ``person_id``, only documents about that person."""
    stmt = select(IssuedDocument)
    count = select(func.count()).select_from(IssuedDocument)
    if person_id is not None:
        about = select(IssuedDocumentSubject.document_id).where(
            IssuedDocumentSubject.person_id == person_id
        )
        stmt = stmt.where(IssuedDocument.id.in_(about))
        count = count.where(IssuedDocument.id.in_(about))
    total = session.scalar(count) or 0
    page = session.scalars(
        stmt.order_by(IssuedDocument.issued_at.desc()).limit(limit).offset(offset)
    ).all()
    return total, page


def revoke(session: Session, actor: audit.Actor, serial: str, reason: str) -> DocumentRevocation:
    row = by_serial(session, serial)
    if row is None:
        raise NotFound("指定された発行番号の証明書は見つかりません。", code="document_not_found")
    if session.get(DocumentRevocation, (require_context(session).tenant_id, serial)) is not None:
        raise ValidationFailed(
            f"この{spec(row.form_kind).noun}は既に無効にされています。", code="already_revoked"
        )
    revocation = DocumentRevocation(serial=serial, revoked_by=actor.id, reason=reason)
    session.add(revocation)
    audit.record(
        session,
        actor=actor,
        action="document.revoked",
        subject_type="issued_document",
        subject_id=serial,
        details={"reason": reason},
    )
    session.flush()
    return revocation


# --- public verification ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What anyone may learn about a serial: never who it is about."""

    serial: str
    status: str  # genuine / revoked / superseded / forged / unknown
    message: str
    title: str | None = None
    issuer: str | None = None
    issued_on: dt.date | None = None
    acting_issuer: str | None = None
    pages: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "status": self.status,
            "genuine": self.status == "genuine",
            "message": self.message,
            "title": self.title,
            "issuer": self.issuer,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "acting_issuer": self.acting_issuer,
            "pages": self.pages,
        }


UNKNOWN_MESSAGE = "この発行番号の証明書は発行されていません。"


def _tenant_of(session: Session, serial: str) -> Municipality | None:
    lg_code = serial.split("-", 1)[0]
    if not (len(lg_code) == 6 and lg_code.isdigit()):
        return None
    return tenancy_repo.municipality_by_code(session, lg_code)


def verify(
    session: Session,
    ring: Any,
    serial: str,
    *,
    digest: str | None = None,
    signature: str | None = None,
    pdf: bytes | None = None,
) -> Verification:
    """Check a serial, optionally with the code's hash and signature or an uploaded PDF."""
    municipality = _tenant_of(session, serial)
    if municipality is None:
        return Verification(serial, "unknown", UNKNOWN_MESSAGE)
    with tenant_scope(session, TenantContext(TenantId(municipality.id))):
        row = by_serial(session, serial)
        if row is None:
            return Verification(serial, "unknown", UNKNOWN_MESSAGE)
        keys = TenantKeys(session, ring)
        noun = spec(row.form_kind).noun  # 証明書 or 通知書: the page names what was checked
        base: dict[str, Any] = {
            "title": spec(row.form_kind).title,
            "issuer": municipality.full_name,
            "issued_on": row.issued_at.date(),
            "acting_issuer": row.acting_name,
            "pages": row.pages,
        }
        if digest is not None or signature is not None:
            seed = keys.seed_of(PURPOSE_DOCUMENT_SIGNING, row.signing_key_id)
            valid = (
                seed is not None
                and digest == row.content_hash
                and signature is not None
                and signing.code_signature_valid(seed, serial, digest, signature)
            )
            if not valid:
                return Verification(
                    serial,
                    "forged",
                    f"検証用コードが一致しません。この{noun}は偽造または改ざんされたおそれがあります。",
                )
        if pdf is not None:
            problem = _pdf_problem(session, keys, municipality, row, pdf)
            if problem is not None:
                return Verification(serial, "forged", problem)
        revoked = session.get(DocumentRevocation, (municipality.id, serial))
        if revoked is not None:
            return Verification(
                serial, "revoked", f"この{noun}は無効にされています（{revoked.reason}）。", **base
            )
        successor = session.scalar(
            select(IssuedDocument.serial).where(IssuedDocument.reissue_of == serial)
        )
        if successor is not None:
            return Verification(
                serial,
                "superseded",
                f"この{noun}は再交付されたため無効です（再交付の発行番号 {successor}）。",
                **base,
            )
        return Verification(serial, "genuine", f"この{noun}は正規に発行されたものです。", **base)


def _pdf_problem(
    session: Session,
    keys: TenantKeys,
    municipality: Municipality,
    row: IssuedDocument,
    pdf: bytes,
) -> str | None:
    if hashlib.sha256(pdf).hexdigest() == row.pdf_sha256:
        return None
    # Not the file as issued. A standard reader would say whether it is at least intact.
    issuer = issuer_for(session, municipality)
    active = keys.active_seed(PURPOSE_PDF_SIGNING)
    if active is None:
        return "このPDFは発行されたファイルと一致しません。"
    certificate, _ = signing.pdf_certificate(issuer.lg_code, issuer.title, *active)
    check = signing.check_pdf_signature(pdf, certificate)
    if not check.signed:
        return "このPDFには発行団体の電子署名がありません。"
    if not (check.intact and check.whole_file):
        return "このPDFは発行後に改変されています。"
    return "このPDFは発行されたファイルと一致しません。"


def issuer_for(session: Session, municipality: Municipality) -> Issuer:
    return Issuer.of(municipality, tenancy_service.current_parameters(session)[1])


def stored_pdfs(session: Session, ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, bytes]:
    rows = session.execute(
        select(DocumentFile.document_id, DocumentFile.pdf).where(DocumentFile.document_id.in_(ids))
    )
    return {r.document_id: r.pdf for r in rows}
