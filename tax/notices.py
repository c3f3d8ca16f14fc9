"""The year's notices in batch: 納税通知書 (普通徴収) and 特別徴収税額決定通知書 (納税義務者用).

地方税法319条の2 and 321条の4. Every taxpayer whose assessment in force has an amount to collect
that way gets one notice, addressed where the register says the person lives now (the
destination for one who has moved away, the outside address for a 住登外者). Each notice has
its own serial, signed code and entry in the issuance log (forms.service.issue_batch); the
PDFs are rendered on every core by forms.batch.BatchRenderer, streamed, never kept.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.catalog import FormKind
from forms.service import BatchItem, DocumentService, Issuer
from resident_records.queries import postal
from tax import assessment_service
from tax.documents import Addressee, DocumentContent, special_collection_notice, tax_notice
from tax.models import SpecialCollection
from tax.rules.collection import OrdinaryCollectionSchedule, SpecialCollectionSchedule


class NoticeKind(enum.StrEnum):
    ORDINARY = "ordinary"  # 納税通知書 (普通徴収)
    SPECIAL = "special"  # 特別徴収税額決定通知書 (納税義務者用)


def form_of(kind: NoticeKind) -> FormKind:
    """The catalog form of each kind of notice."""
    if kind == NoticeKind.ORDINARY:
        return FormKind.TAX_NOTICE
    return FormKind.SPECIAL_COLLECTION_NOTICE


def build(
    session: Session, fiscal_year: int, kind: NoticeKind, notice_date: dt.date, issuer: Issuer
) -> list[tuple[DocumentContent, uuid.UUID]]:
    """The notices' contents, in person order: (content, person id)."""
    rows = [
        a
        for a in assessment_service.current_assessments(session, fiscal_year)
        if (a.ordinary_total if kind == NoticeKind.ORDINARY else a.special_total) > 0
    ]
    people = postal(session, [a.person_id for a in rows])
    collections: dict[uuid.UUID, SpecialCollection] = {}
    if kind == NoticeKind.SPECIAL:
        for c in session.scalars(
            select(SpecialCollection).where(SpecialCollection.fiscal_year == fiscal_year)
        ):
            collections[c.assessment_id] = c
    out: list[tuple[DocumentContent, uuid.UUID]] = []
    for row in rows:
        person = people[row.person_id]
        addressee = Addressee(person.name, person.kana, person.birth_date, person.address)
        assessment = assessment_service.rules_assessment(row)
        if kind == NoticeKind.ORDINARY:
            content = tax_notice(
                assessment,
                addressee,
                OrdinaryCollectionSchedule(*row.ordinary_instalments),
                notice_date,
                municipality=issuer.name,
            )
        else:
            c = collections[row.id]
            content = special_collection_notice(
                assessment,
                addressee,
                SpecialCollectionSchedule(*c.monthly),
                notice_date,
                employer_name=c.employer_name,
                municipality=issuer.name,
            )
        out.append((content, row.person_id))
    return out


def issue(
    documents: DocumentService,
    fiscal_year: int,
    kind: NoticeKind,
    issuer: Issuer,
) -> list[dict[str, Any]]:
    """地方税法319条の2・321条の4: serials, codes and log entries; the render contexts."""
    built = build(documents.session, fiscal_year, kind, documents.today, issuer)
    if not built:
        return []
    form = form_of(kind)
    label = "納税通知書" if kind == NoticeKind.ORDINARY else "特別徴収税額決定通知書"
    return documents.issue_batch(
        form,
        [BatchItem(content.record, [person_id]) for content, person_id in built],
        issuer,
        requester_type="official",
        purpose=f"{fiscal_year}年度 個人住民税 {label}",
    )
