"""The year's NHI notices in batch: 国民健康保険税 納税通知書, one per household.

地方税法13条 (納税の告知) and 706条 (普通徴収). Every household whose assessment in force has an
amount gets one notice, addressed to the head (納税義務者, a 擬制世帯主 included) where the register
says the head lives now. The content is built from the stored assessment and its breakdown,
recomputed by the same rules (never re-derived here); each notice has its own serial, signed code
and entry in the issuance log (forms.service.issue_batch), and the PDFs are rendered on every
core by forms.batch.BatchRenderer, streamed, never kept. 個人番号 is never printed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.japanese.era import fiscal_year_label, to_japanese
from forms.catalog import FormKind
from forms.service import BatchItem, DocumentService, Issuer
from nhi import assessment_rules
from nhi import assessment_service as service
from nhi.assessment_models import NhiAssessment
from nhi.assessment_rules import AssessmentReason
from nhi.simulation import SimulationResult, to_result
from resident_records.queries import Postal, postal

FORM = FormKind.NHI_PREMIUM_NOTICE
# The figures of each component, in the order a notice reads them; optional rows only when any
# component has them (資産割 in a few towns, the 未就学児 reduction).
ROWS: tuple[tuple[str, str, bool], ...] = (
    ("income_levy", "所得割額", False),
    ("asset_levy", "資産割額", True),
    ("per_capita_before_reduction", "均等割額（軽減前）", False),
    ("per_household_before_reduction", "平等割額（軽減前）", False),
    ("reduction", "7割・5割・2割軽減額", True),
    ("preschool_reduction", "未就学児の均等割軽減額", True),
    ("before_cap", "限度額適用前の額", False),
    ("cap", "賦課限度額", False),
    ("cap_excess", "限度超過額", True),
    ("amount", "区分ごとの税額", False),
)


def wareki(day: dt.date) -> str:
    return to_japanese(day).format()


def _month(fiscal_year: int, index: int) -> dt.date:
    """The first day of month ``index`` of the fiscal year (April = 0)."""
    month = (index + 3) % 12 + 1
    return dt.date(fiscal_year if month >= 4 else fiscal_year + 1, month, 1)


def month_text(fiscal_year: int, index: int) -> str:
    """The month ``index`` of the fiscal year (April = 0) as 令和8年4月."""
    return wareki(_month(fiscal_year, index)).removesuffix("1日")


def period_text(fiscal_year: int, first: int, last: int) -> str:
    """The months ``first``〜``last`` of the fiscal year as 令和8年4月〜9年3月: the era is not
    repeated within one era, so the period fits its column on the one-page notice."""
    start, end = _month(fiscal_year, first), _month(fiscal_year, last)
    until = month_text(fiscal_year, last)
    era = to_japanese(end).era
    if to_japanese(start).era == era:
        until = until.removeprefix(era.name)
    return f"{month_text(fiscal_year, first)}〜{until}"


def yen(amount: Any) -> str:
    value = Decimal(str(amount))
    return f"{int(value):,}" if value == value.to_integral_value() else f"{value:,}"


def _role(m: dict[str, Any]) -> str:
    if m["head"]:
        return "世帯主（被保険者）" if m["months"] else "擬制世帯主"
    return "特定同一世帯所属者" if m["former_insured"] else "被保険者"


@dataclass(frozen=True)
class NoticeContent:
    record: dict[str, Any]
    subject_ids: list[uuid.UUID]


def premium_notice(
    row: NhiAssessment,
    figures: SimulationResult,
    people: dict[uuid.UUID, Postal],
    notice_date: dt.date,
) -> NoticeContent:
    """国民健康保険税 納税通知書 (地方税法13条・706条): what the form prints, from a stored
    assessment, its breakdown (:func:`nhi.assessment_service.breakdown`) and the names and
    addresses of the register (:func:`resident_records.queries.postal`)."""
    year = row.fiscal_year
    head = people[row.head_person_id]
    members = []
    for index, m in enumerate(row.facts["members"]):
        person = people.get(uuid.UUID(m["person_id"]))
        birth = m["birth_date"]
        first, last = m["first_month"], m["last_month"]
        members.append(
            {
                "name": person.name if person else "",
                "birth": wareki(dt.date.fromisoformat(birth)) if birth else "不詳",
                "role": _role(m),
                "period": period_text(year, first, last) if first is not None else "—",
                "months": m["months"],
                "care_months": figures.members[index].long_term_care_months,
            }
        )
    rows = []
    for key, label, optional in ROWS:
        values = [getattr(c, key) for c in figures.components]
        if optional and not any(values):
            continue
        rows.append({"label": label, "values": [yen(v) for v in values], "strong": key == "amount"})
    dates = assessment_rules.due_dates(year)
    correction = None
    if row.reason == AssessmentReason.CORRECTION:
        correction = f"第{row.revision}回の決定（更正）。既に納期限を過ぎた期の額は変わりません。"
    record: dict[str, Any] = {
        "fiscal_year": {
            "label": fiscal_year_label(year),
            "income_year": wareki(dt.date(year - 1, 12, 31)).split("年")[0] + "年中",
        },
        "taxpayer": {"name": head.name, "kana": head.kana, "address": head.address},
        "nominal_head": row.nominal_head,
        "correction": correction,
        "notice_date": wareki(notice_date),
        "members": members,
        "reduction": {
            "income": yen(figures.reduction.household_income),
            "persons": figures.reduction.persons,
            "label": figures.reduction.label,
        },
        "components": [c.label for c in figures.components],
        "rows": rows,
        "annual": yen(row.total),
        "instalments": [
            {"term": f"第{n}期", "due": wareki(due), "amount": yen(amount)}
            for n, (due, amount) in enumerate(zip(dates, row.instalments, strict=True), 1)
        ],
    }
    subjects = [uuid.UUID(m["person_id"]) for m in row.facts["members"]]
    return NoticeContent(record, subjects)


def build(session: Session, fiscal_year: int, notice_date: dt.date) -> list[NoticeContent]:
    """The notices' contents, in household order: every household with an amount to pay."""
    rows = [a for a in service.current_assessments(session, fiscal_year) if a.total > 0]
    ids = {uuid.UUID(m["person_id"]) for a in rows for m in a.facts["members"]}
    people = postal(session, ids)
    rates: dict[uuid.UUID, Any] = {}
    out = []
    for row in rows:
        if row.run_id not in rates:
            rates[row.run_id] = service.run_rates(session, row)
        figures = to_result(service.rules_premium(row, rates[row.run_id]))
        out.append(premium_notice(row, figures, people, notice_date))
    return out


def issue(documents: DocumentService, fiscal_year: int, issuer: Issuer) -> list[dict[str, Any]]:
    """地方税法13条・706条: serials, codes and log entries; the render contexts."""
    built = build(documents.session, fiscal_year, documents.today)
    return documents.issue_batch(
        FORM,
        [BatchItem(c.record, c.subject_ids) for c in built],
        issuer,
        requester_type="official",
        purpose=f"{fiscal_year}年度 国民健康保険税 納税通知書",
    )
