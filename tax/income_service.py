"""Storing an intake file (給与支払報告書 / 申告): matched to the 宛名, accepted whole or not.

地方税法317条の6 (給与支払報告書) and 317条の2 (申告). :mod:`tax.intake` parses and validates the
file; this module matches each record to a person of the register (宛名番号, else the 個人番号's
blind index) and stores the file's records in the caller's transaction. Any line that cannot be
matched rejects the whole file with every such line listed, so nothing of it is half-imported.

A person who lives elsewhere (住登外者) is matched like anyone else once registered in 宛名管理
(``POST /api/v1/non-residents``); the intake format has no 性別, which that registration needs,
so an unknown person is a rejected line, never a guessed registration.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import TenantKeys
from core.db import utcnow
from core.errors import ValidationFailed
from core.ids import new_id
from core.scoping import require_context
from resident_records.queries import (
    PersonBrief,
    my_number_index,
    persons_by_atena_number,
    persons_by_my_number_index,
)
from tax.intake import IntakeError, IntakeResult, parse_csv_bytes, parse_json
from tax.models import IncomeEntry, IncomeImport

# Statuses of a 宛名 a tax record may belong to: a resident, a former resident (removed after
# the income year: still assessed here if resident on 1 January) and a 住登外者.
_MATCHABLE = frozenset({"resident", "removed", "non_resident"})


@dataclass(frozen=True)
class ImportSummary:
    import_id: uuid.UUID
    fiscal_year: int
    records: int
    already_imported: bool  # the same file (SHA-256) was imported before: nothing written


def read_file(data: bytes, filename: str) -> IntakeResult:
    """Parse by extension: ``.json`` as JSON, anything else as CSV (docs/tax-intake.md)."""
    if filename.lower().endswith(".json"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return IntakeResult(
                errors=(
                    IntakeError(
                        line=1, column=None, reason="文字コードは UTF-8 で保存してください。"
                    ),
                )
            )
        return parse_json(text)
    return parse_csv_bytes(data)


def rejected(errors: list[IntakeError] | tuple[IntakeError, ...]) -> ValidationFailed:
    """The one error a rejected file gets: every bad line, nothing imported."""
    return ValidationFailed(
        f"取り込みファイルに誤りが{len(errors)}件あります。ファイル全体を取り込みませんでした。",
        code="income_file_rejected",
        details=[
            {"line": e.line, "field": e.column, "type": "income_line_invalid", "message": e.reason}
            for e in errors
        ],
    )


def _match(
    session: Session, keys: TenantKeys, result: IntakeResult
) -> tuple[list[uuid.UUID], list[IntakeError]]:
    records = result.records
    by_atena = persons_by_atena_number(session, [r.atena_number for r in records if r.atena_number])
    indexes = {r.my_number: my_number_index(keys, r.my_number) for r in records if r.my_number}
    by_index = persons_by_my_number_index(session, indexes.values())
    persons: list[uuid.UUID] = []
    errors: list[IntakeError] = []
    for r, line in zip(records, result.lines, strict=True):
        by_a: PersonBrief | None = by_atena.get(r.atena_number) if r.atena_number else None
        by_m: PersonBrief | None = by_index.get(indexes[r.my_number]) if r.my_number else None
        if r.atena_number and by_a is None:
            errors.append(
                IntakeError(
                    line=line,
                    column="atena_number",
                    reason=f"宛名番号 {r.atena_number} の宛名がありません。",
                )
            )
            continue
        if by_a is not None and by_m is not None and by_a.person_id != by_m.person_id:
            errors.append(
                IntakeError(
                    line=line,
                    column="my_number",
                    reason="宛名番号と個人番号が別の人を指しています。",
                )
            )
            continue
        person = by_a or by_m
        if person is None:
            errors.append(
                IntakeError(
                    line=line,
                    column="my_number",
                    reason="個人番号に一致する宛名がありません。住登外者は先に宛名登録をしてください。",
                )
            )
            continue
        if person.status not in _MATCHABLE:
            errors.append(
                IntakeError(
                    line=line, column=None, reason="この宛名には課税の記録を登録できません。"
                )
            )
            continue
        if person.birth_date is not None and person.birth_date != r.birth_date:
            errors.append(
                IntakeError(
                    line=line,
                    column="birth_date",
                    reason="生年月日が宛名の記録と一致しません。",
                )
            )
            continue
        persons.append(person.person_id)
    return persons, errors


def import_income(
    session: Session,
    keys: TenantKeys,
    actor: audit.Actor,
    data: bytes,
    filename: str,
) -> ImportSummary:
    """地方税法317条の2・317条の6: store one intake file in the caller's transaction, or reject."""
    digest = hashlib.sha256(data).hexdigest()
    earlier = session.execute(
        select(IncomeImport.id, IncomeImport.fiscal_year, IncomeImport.records).where(
            IncomeImport.sha256 == digest
        )
    ).first()
    if earlier is not None:
        return ImportSummary(earlier.id, earlier.fiscal_year, earlier.records, True)
    is_json = filename.lower().endswith(".json")
    result = read_file(data, filename)
    if result.errors:
        raise rejected(result.errors)
    if not result.records:
        raise rejected([IntakeError(line=1, column=None, reason="取り込む記録がありません。")])
    years = {r.fiscal_year for r in result.records}
    if len(years) > 1:
        first = result.records[0].fiscal_year
        line = next(
            n for r, n in zip(result.records, result.lines, strict=True) if r.fiscal_year != first
        )
        raise rejected(
            [
                IntakeError(
                    line=line,
                    column="fiscal_year",
                    reason="一つのファイルには一つの年度の記録だけを含めてください。",
                )
            ]
        )
    persons, errors = _match(session, keys, result)
    if errors:
        raise rejected(errors)
    tenant_id = require_context(session).tenant_id
    import_id = new_id()
    now = utcnow()
    (fiscal_year,) = years
    session.add(
        IncomeImport(
            tenant_id=tenant_id,
            id=import_id,
            fiscal_year=fiscal_year,
            sha256=digest,
            filename=filename[:200],
            file_format="json" if is_json else "csv",
            records=len(result.records),
            imported_at=now,
            imported_by=f"{actor.kind}:{actor.id}"[:64],
        )
    )
    session.flush()
    session.execute(
        insert(IncomeEntry),
        [
            {
                "tenant_id": tenant_id,
                "id": new_id(),
                "import_id": import_id,
                "line": line,
                "fiscal_year": r.fiscal_year,
                "person_id": person_id,
                "document": r.document.value,
                "employer_name": r.employer_name,
                "employer_corporate_number": r.employer_corporate_number,
                "income_kind": r.income_kind.value,
                "revenue": r.revenue,
                "social_insurance": r.social_insurance,
                "special_collection": r.special_collection,
                "imported_at": now,
            }
            for r, line, person_id in zip(result.records, result.lines, persons, strict=True)
        ],
    )
    audit.record(
        session,
        actor=actor,
        action="tax.income_imported",
        subject_type="tax_income_import",
        subject_id=str(import_id),
        details={"fiscal_year": fiscal_year, "records": len(result.records), "file": digest},
    )
    return ImportSummary(import_id, fiscal_year, len(result.records), False)
