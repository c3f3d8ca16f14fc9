"""The issuance log (交付記録), revocations, document serials and the issued PDFs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.scoping import TenantScoped


class IssuedDocument(TenantScoped, Base):
    """One issued copy: who, when, what, for whom, fee, serial. Never updated, never deleted.

    The log is what the verification page reads, what an audit of disclosures reads, and what
    the 150-year retention of the register's disclosures relies on (J:300, J:1370).
    """

    __tablename__ = "issued_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    serial: Mapped[str] = mapped_column(String(32))
    form_kind: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(64))
    # Mutual aid (相互応援): the member whose staff issued the document for this (stricken) one.
    acting_tenant_id: Mapped[int | None] = mapped_column(Integer)
    acting_name: Mapped[str | None] = mapped_column(String(60))
    requester_type: Mapped[str] = mapped_column(String(20))
    requester_name: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(200))
    subject_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fee: Mapped[int] = mapped_column(Integer, default=0)
    reissue_of: Mapped[str | None] = mapped_column(String(32))
    # SHA-256 of the printed content (canonical JSON); the QR code's signature covers it.
    content_hash: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the signed PDF as handed over: an uploaded copy must match it byte for byte.
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    signing_key_id: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_issued_documents_tenant_id_serial", "tenant_id", "serial", unique=True),
        Index("ix_issued_documents_tenant_id_issued_at", "tenant_id", "issued_at"),
        {"info": {"append_only": True}},
    )


class IssuedDocumentSubject(TenantScoped, Base):
    """Whom a document is about, one row per person: the disclosure log of a person is an
    indexed lookup, however long the issuance log grows (it is kept for decades)."""

    __tablename__ = "issued_document_subjects"

    document_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)

    __table_args__ = (
        Index("ix_issued_document_subjects_tenant_id_person_id", "tenant_id", "person_id"),
        {"info": {"append_only": True}},
    )


class DocumentRevocation(TenantScoped, Base):
    """A document declared void (lost, issued in error). Appended, never removed."""

    __tablename__ = "document_revocations"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))

    __table_args__ = ({"info": {"append_only": True}},)


class DocumentFile(TenantScoped, Base):
    """The signed PDF of an issued document, for printing and reprinting at the counter."""

    __tablename__ = "document_files"

    document_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SerialCounter(TenantScoped, Base):
    """発行番号: one counter per municipality and calendar year."""

    __tablename__ = "document_serial_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_value: Mapped[int] = mapped_column(Integer)
