"""The inhabitant tax's documents: what 課税証明書・非課税証明書・納税通知書・特別徴収税額決定通知書
print, as the content dicts of the standard forms (``forms/templates/inhabitant_tax_*.html``,
``special_collection_notice.html``).

Pure functions of an :class:`~tax.rules.assessment.Assessment`, the addressee's identity and
the collection schedule of :mod:`tax.rules.collection`: no database, no session, so the batch
and the counter build them from a stored assessment the same way. Every figure is printed as
the assessment has it (never recomputed here); dates are 和暦. 個人番号 is never part of the
content (番号法19条: these documents have no use for it).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.japanese.era import fiscal_year_label, to_japanese
from forms.catalog import FormKind
from tax.rules.assessment import Assessment
from tax.rules.collection import (
    ORDINARY_COLLECTION_MONTHS,
    OrdinaryCollectionSchedule,
    SpecialCollectionSchedule,
)
from tax.rules.deductions import DependentCategory
from tax.rules.exemption import ExemptionReason
from tax.rules.facts import Disability

# 地方税法20条の5第2項: a due date on a Saturday, Sunday or holiday moves to the next day that is
# none of these. The four standard due dates (the last day of June, August, October, January)
# are never a national holiday, nor inside 年末年始, so only the weekend can move them.
_SATURDAY = 5

RELIEF_NOTE = (
    "所得割額は、総所得金額等が所得割の非課税限度額をわずかに超えるため、"
    "地方税法附則第3条の3の規定により減額しています。"
)
GENERIC_MUNICIPAL_LEVY = "市町村民税"
GENERIC_PREFECTURAL_LEVY = "道府県民税"


@dataclass(frozen=True)
class Addressee:
    """The taxpayer a document is about (and, for a notice, sent to)."""

    name: str
    kana: str | None
    birth_date: dt.date | None
    # For a certificate the address on 1 January of the fiscal year (賦課期日); for a notice
    # the address it is sent to.
    address: str


@dataclass(frozen=True)
class DocumentContent:
    """One document: the catalog form and what it prints (``IssueRequest.record``)."""

    kind: FormKind
    record: dict[str, Any]


def wareki(day: dt.date) -> str:
    """和暦, as every date on these documents is printed (J:90)."""
    return to_japanese(day).format()


def yen(amount: int) -> str:
    """An amount in yen with thousands separators (the unit is in the table heading)."""
    return f"{amount:,}"


def levy_names(prefecture: str, municipality: str | None = None) -> dict[str, str]:
    """地方税法1条2項・734条: the two levies as the municipality calls them (市民税・県民税 …).

    Without the municipality's name, the statute's own terms: 市町村民税・道府県民税.
    """
    # 特別区 levy 特別区民税 (法734条); Tokyo, Hokkaido, Osaka and Kyoto their own prefectural name.
    prefectural = GENERIC_PREFECTURAL_LEVY
    for suffix, name in (("都", "都民税"), ("道", "道民税"), ("府", "府民税"), ("県", "県民税")):
        if prefecture.endswith(suffix):
            prefectural = name
            break
    municipal = GENERIC_MUNICIPAL_LEVY
    if municipality:
        last = municipality[-1]
        municipal = {"市": "市民税", "町": "町民税", "村": "村民税", "区": "特別区民税"}.get(
            last, GENERIC_MUNICIPAL_LEVY
        )
    return {"municipal": municipal, "prefectural": prefectural}


def _taxpayer(person: Addressee) -> dict[str, Any]:
    return {
        "name": person.name,
        "kana": person.kana or "",
        # 年月日不詳 in the register: printed as unknown, never as an invented day.
        "birth_date": wareki(person.birth_date) if person.birth_date else "不詳",
        "address": person.address,
    }


def _year(assessment: Assessment) -> dict[str, str]:
    fiscal_year = assessment.case.fiscal_year
    return {
        "label": fiscal_year_label(fiscal_year),  # 令和8年度
        "income_year": wareki(dt.date(fiscal_year - 1, 12, 31)).removesuffix("12月31日") + "中",
        "assessment_date": wareki(dt.date(fiscal_year, 1, 1)),  # 賦課期日
    }


def _month_text(year: int, month: int) -> str:
    """令和8年6月 (元年 as the era module prints it)."""
    return wareki(dt.date(year, month, 1)).removesuffix("1日")


def _income(a: Assessment) -> dict[str, Any]:
    i = a.income
    return {
        "rows": [
            {"label": "給与", "revenue": yen(i.salary_revenue), "income": yen(i.salary_income)},
            {
                "label": "公的年金等",
                "revenue": yen(i.pension_revenue),
                "income": yen(i.pension_income),
            },
            # The assessment keeps these as income (収入金額 − 必要経費), not as revenue.
            {"label": "事業", "revenue": "", "income": yen(i.business_income)},
            {"label": "不動産", "revenue": "", "income": yen(i.real_estate_income)},
            {"label": "雑（公的年金等以外）", "revenue": "", "income": yen(i.miscellaneous_income)},
        ],
        "income_adjustment": yen(i.income_adjustment_deduction),
        "total": yen(i.total_income),
        "aggregate": yen(i.aggregate_income),
    }


def _deductions(a: Assessment) -> dict[str, Any]:
    d = a.deductions
    rows = [
        ("社会保険料控除", d.social_insurance_deduction),
        ("基礎控除", d.basic_deduction),
        ("配偶者控除", d.spouse_deduction),
        ("配偶者特別控除", d.spouse_special_deduction),
        ("扶養控除", d.dependent_deduction),
        ("特定親族特別控除", d.specified_relative_deduction),
        ("障害者控除", d.disability_deduction),
        ("寡婦控除", d.widow_deduction),
        ("ひとり親控除", d.single_parent_deduction),
        ("勤労学生控除", d.working_student_deduction),
    ]
    return {
        "rows": [{"label": label, "amount": yen(amount)} for label, amount in rows],
        "total": yen(d.income_deductions),
    }


def _family(a: Assessment) -> dict[str, Any]:
    """控除対象配偶者・扶養親族の数 and the taxpayer's own statuses (本人該当区分)."""
    d = a.deductions
    count = dict.fromkeys(DependentCategory, 0)
    for dependent in d.dependents:
        count[dependent.category] += 1
    spouse = "無"
    if d.spouse_deduction > 0:
        spouse = "有（老人）" if d.spouse_elderly else "有"
    taxpayer = a.case.taxpayer
    statuses = []
    if taxpayer.disability == Disability.SPECIAL:
        statuses.append("特別障害者")
    elif taxpayer.disability == Disability.ORDINARY:
        statuses.append("障害者")
    if d.widow_deduction > 0:
        statuses.append("寡婦")
    if d.single_parent_deduction > 0:
        statuses.append("ひとり親")
    if d.working_student_deduction > 0:
        statuses.append("勤労学生")
    elderly = count[DependentCategory.ELDERLY] + count[DependentCategory.COHABITING_PARENT]
    return {
        "spouse": spouse,
        "general": count[DependentCategory.GENERAL],
        "specified": count[DependentCategory.SPECIFIED],
        "elderly": elderly,
        "cohabiting_parent": count[DependentCategory.COHABITING_PARENT],
        "young": count[DependentCategory.YOUNG],
        "specified_relative": count[DependentCategory.SPECIFIED_RELATIVE],
        "statuses": "・".join(statuses) if statuses else "該当なし",
    }


def _tax(a: Assessment, names: dict[str, str]) -> dict[str, Any]:
    """課税標準額 to 年税額, each levy municipal / prefectural as the assessment fixed them."""
    levy = a.income_levy
    exempt = a.exemption.income_levy_exempt
    # An exempt 所得割 is not computed at all as far as the taxpayer is concerned.
    computed = (0, 0) if exempt else (levy.municipal_computed, levy.prefectural_computed)
    credit = (
        (0, 0)
        if exempt
        else (
            levy.municipal_computed - levy.municipal_after_credit,
            levy.prefectural_computed - levy.prefectural_after_credit,
        )
    )
    per_capita = a.per_capita_levy
    municipal_total = levy.municipal + per_capita.municipal
    prefectural_total = levy.prefectural + per_capita.prefectural

    def row(label: str, municipal: int, prefectural: int) -> dict[str, str]:
        return {
            "label": label,
            "municipal": yen(municipal),
            "prefectural": yen(prefectural),
            "total": yen(municipal + prefectural),
        }

    return {
        "names": names,
        "taxable_income": yen(a.taxable_income),
        "rows": [
            row("算出所得割額", *computed),
            row("調整控除額", *credit),
            row("所得割額", levy.municipal, levy.prefectural),
            row("均等割額", per_capita.municipal, per_capita.prefectural),
            row("計", municipal_total, prefectural_total),
        ],
        "forest_environment_tax": yen(per_capita.forest_environment_tax),
        "total": yen(a.total),
        # 算出所得割額 − 調整控除額 ≠ 所得割額 beyond the 100-yen rounding: say why.
        "note": RELIEF_NOTE if levy.relief > 0 and not exempt else None,
    }


def _summary(a: Assessment, names: dict[str, str]) -> dict[str, Any]:
    return {
        "income": _income(a),
        "deductions": _deductions(a),
        "tax": _tax(a, names),
    }


def certificate_kind(assessment: Assessment) -> FormKind:
    """非課税証明書 when neither levy is charged (地方税法295条), else 所得・課税証明書.

    A taxpayer exempt from 所得割 only still pays 均等割: theirs is a 課税証明書 with a remark.
    """
    if assessment.exemption.per_capita_exempt:
        return FormKind.NON_TAXABLE_CERTIFICATE
    return FormKind.TAX_CERTIFICATE


def certificate(
    assessment: Assessment,
    taxpayer: Addressee,
    *,
    purpose: str | None = None,
    municipality: str | None = None,
) -> DocumentContent:
    """所得・課税証明書 / 非課税証明書 (地方税法20条の10): one taxpayer's income and tax.

    ``taxpayer.address`` is the address on 1 January of the fiscal year; ``purpose`` (使用目的)
    is printed when given; ``municipality`` names the levies (射水市 → 市民税).
    """
    kind = certificate_kind(assessment)
    names = levy_names(assessment.case.prefecture, municipality)
    year = _year(assessment)
    exemption = assessment.exemption
    levies = f"{names['municipal']}・{names['prefectural']}"
    non_taxable = None
    remarks = []
    if kind == FormKind.NON_TAXABLE_CERTIFICATE:
        non_taxable = {
            "statement": f"{year['label']}の{levies}は、非課税です。",
            "reason": exemption.label or "",
        }
    elif exemption.reason == ExemptionReason.INCOME_LEVY_LIMIT and exemption.label:
        remarks.append(exemption.label)
    record: dict[str, Any] = {
        "fiscal_year": year,
        "levies": levies,
        "taxpayer": _taxpayer(taxpayer),
        "purpose": purpose or "",
        "family": _family(assessment),
        "non_taxable": non_taxable,
        "remarks": remarks,
        **_summary(assessment, names),
    }
    return DocumentContent(kind, record)


def ordinary_due_dates(fiscal_year: int) -> tuple[dt.date, ...]:
    """地方税法320条・20条の5第2項: 納期限 of the four instalments, the last day of June,
    August, October and next January, moved past a weekend."""
    out = []
    for month in ORDINARY_COLLECTION_MONTHS:
        year = fiscal_year if month >= 4 else fiscal_year + 1
        day = dt.date(year, month, calendar.monthrange(year, month)[1])
        while day.weekday() >= _SATURDAY:
            day += dt.timedelta(days=1)
        out.append(day)
    return tuple(out)


def _check_part(collected: int, annual: int, what: str) -> None:
    if collected > annual:
        raise ValueError(f"{what}（{collected}円）が年税額（{annual}円）を超えています。")


def _elsewhere(annual: int, collected: int) -> str | None:
    """The part of the year's tax collected the other way (地方税法321条の3第2項), if any."""
    return yen(annual - collected) if annual != collected else None


def tax_notice(
    assessment: Assessment,
    taxpayer: Addressee,
    schedule: OrdinaryCollectionSchedule,
    notice_date: dt.date,
    *,
    municipality: str | None = None,
    due_dates: Sequence[dt.date] | None = None,
) -> DocumentContent:
    """納税通知書 (普通徴収, 地方税法319条の2): the year's tax and its four instalments.

    ``schedule`` is :func:`tax.rules.collection.ordinary_collection` of the amount collected
    this way (the whole tax, or what special collection leaves); ``due_dates`` default to
    :func:`ordinary_due_dates` and may be set by the municipality's ordinance.
    """
    fiscal_year = assessment.case.fiscal_year
    dates = tuple(due_dates) if due_dates is not None else ordinary_due_dates(fiscal_year)
    if len(dates) != len(schedule.instalments):
        raise ValueError("納期限の数が納期の数と一致しません。")
    _check_part(schedule.total, assessment.total, "普通徴収税額")
    names = levy_names(assessment.case.prefecture, municipality)
    year = _year(assessment)
    instalments = [
        {"term": f"第{n}期", "due": wareki(due), "amount": yen(amount)}
        for n, ((_month, amount), due) in enumerate(
            zip(schedule.instalments, dates, strict=True), 1
        )
    ]
    record: dict[str, Any] = {
        "fiscal_year": year,
        "levies": f"{names['municipal']}・{names['prefectural']}",
        "taxpayer": _taxpayer(taxpayer),
        "notice_date": wareki(notice_date),
        "annual": yen(assessment.total),
        "collected": yen(schedule.total),
        "elsewhere": _elsewhere(assessment.total, schedule.total),
        "instalments": instalments,
        **_summary(assessment, names),
    }
    return DocumentContent(FormKind.TAX_NOTICE, record)


def special_collection_notice(
    assessment: Assessment,
    taxpayer: Addressee,
    schedule: SpecialCollectionSchedule,
    notice_date: dt.date,
    *,
    employer_name: str,
    municipality: str | None = None,
) -> DocumentContent:
    """特別徴収税額決定通知書 (納税義務者用, 地方税法321条の4): the monthly amounts June–May
    the employer (特別徴収義務者) withholds from salary.

    ``schedule`` is :func:`tax.rules.collection.special_collection` of the amount withheld.
    """
    _check_part(schedule.total, assessment.total, "特別徴収税額")
    fiscal_year = assessment.case.fiscal_year
    names = levy_names(assessment.case.prefecture, municipality)
    months = [{"month": f"{month}月", "amount": yen(amount)} for month, amount in schedule.monthly]
    period = f"{_month_text(fiscal_year, 6)}から{_month_text(fiscal_year + 1, 5)}まで"
    record: dict[str, Any] = {
        "fiscal_year": _year(assessment),
        "levies": f"{names['municipal']}・{names['prefectural']}",
        "taxpayer": _taxpayer(taxpayer),
        "employer": employer_name,
        "period": period,
        "notice_date": wareki(notice_date),
        "annual": yen(assessment.total),
        "collected": yen(schedule.total),
        "elsewhere": _elsewhere(assessment.total, schedule.total),
        "months": months,
        **_summary(assessment, names),
    }
    return DocumentContent(FormKind.SPECIAL_COLLECTION_NOTICE, record)
