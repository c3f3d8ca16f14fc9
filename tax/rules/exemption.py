"""非課税 (tax.md "Non-taxable"): who pays neither levy, or only the per-capita levy."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tax.rules.ages import age_at_assessment_date
from tax.rules.deductions import Deductions
from tax.rules.facts import Disability, SingleParent, Taxpayer
from tax.rules.parameters import ExemptionParameters, TaxParameters
from tenancy.parameters import Kyuchi


class ExemptionReason(enum.StrEnum):
    LIVELIHOOD_ASSISTANCE = "livelihood_assistance"
    PERSONAL_STATUS = "personal_status"
    PER_CAPITA_LIMIT = "per_capita_limit"
    INCOME_LEVY_LIMIT = "income_levy_limit"


EXEMPTION_REASON_LABELS: dict[ExemptionReason, str] = {
    ExemptionReason.LIVELIHOOD_ASSISTANCE: "生活保護法による生活扶助を受けているため非課税",
    ExemptionReason.PERSONAL_STATUS: (
        "障害者・未成年者・寡婦・ひとり親で前年の合計所得金額が135万円以下のため非課税"
    ),
    ExemptionReason.PER_CAPITA_LIMIT: "合計所得金額が均等割の非課税限度額以下のため非課税",
    ExemptionReason.INCOME_LEVY_LIMIT: (
        "総所得金額等が所得割の非課税限度額以下のため所得割は非課税（均等割のみ課税）"
    ),
}


@dataclass(frozen=True)
class Exemption:
    household_size: int  # N: self + 同一生計配偶者 + 扶養親族 (under 16 included)
    per_capita_limit: int  # 均等割の非課税限度額 (合計所得金額)
    income_levy_limit: int  # 所得割の非課税限度額 (総所得金額等)
    per_capita_exempt: bool
    income_levy_exempt: bool
    reason: ExemptionReason | None

    @property
    def label(self) -> str | None:
        """The reason in Japanese, for people."""
        return EXEMPTION_REASON_LABELS[self.reason] if self.reason else None


def grade_of(kyuchi: Kyuchi) -> int:
    """地方税法施行令47条の3 (級地): the grade 1–3 of a tenant's ``kyuchi`` ("2級地-1" → 2)."""
    # The 非課税限度額 differs by grade only, not by the -1/-2 sub-division.
    return int(kyuchi.value[0])


def household_size(deductions: Deductions) -> int:
    """N of tax.md: the taxpayer, a 同一生計配偶者 and every 扶養親族 (those under 16 too)."""
    return (
        1
        + int(deductions.spouse_in_household)
        + sum(1 for x in deductions.dependents if x.is_dependent)
    )


def per_capita_limit(size: int, grade: int, params: ExemptionParameters) -> int:
    """地方税法295条3項・施行令47条の3 (tax.md "Non-taxable"): 均等割の非課税限度額 by 級地."""
    # The last add-on is only for a household with a spouse or dependant.
    limit = params.per_capita.grades[grade]
    addition = limit.dependent_addition if size > 1 else 0
    return limit.per_person * size + params.per_capita.base_addition + addition


def income_levy_limit(size: int, params: ExemptionParameters) -> int:
    """地方税法附則3条の3 (tax.md "Non-taxable"): 所得割の非課税限度額, the same in every 級地."""
    levy = params.income_levy
    addition = levy.dependent_addition if size > 1 else 0
    return levy.per_person * size + levy.base_addition + addition


def personal_status_exempt(
    taxpayer: Taxpayer, aggregate_income: int, deductions: Deductions, params: TaxParameters
) -> bool:
    """地方税法295条1項2号: 障害者・未成年者・寡婦・ひとり親 with 合計所得金額 135万 or less."""
    # 未成年者 is judged on 賦課期日 (1 January); 寡婦 and ひとり親 mean the taxpayer qualifies
    # for that deduction (whose own 500万 limit is above 135万).
    e = params.exemption
    if aggregate_income > e.personal_status_income_limit:
        return False
    minor = age_at_assessment_date(taxpayer.birth_date, params) < e.minor_age
    return (
        minor
        or taxpayer.disability != Disability.NONE
        or taxpayer.single_parent != SingleParent.NONE
        or deductions.widow_deduction > 0
    )


def exemption(
    taxpayer: Taxpayer,
    grade: int,
    total_income: int,
    aggregate_income: int,
    deductions: Deductions,
    params: TaxParameters,
) -> Exemption:
    """地方税法295条・附則3条の3 (tax.md "Non-taxable"): both levies, or 所得割 only."""
    size = household_size(deductions)
    per_capita = per_capita_limit(size, grade, params.exemption)
    income = income_levy_limit(size, params.exemption)
    reason: ExemptionReason | None = None
    if taxpayer.livelihood_assistance:
        reason = ExemptionReason.LIVELIHOOD_ASSISTANCE
    elif personal_status_exempt(taxpayer, aggregate_income, deductions, params):
        reason = ExemptionReason.PERSONAL_STATUS
    elif aggregate_income <= per_capita:
        reason = ExemptionReason.PER_CAPITA_LIMIT
    both = reason is not None
    # 均等割 looks at 合計所得金額, 所得割 at 総所得金額等 (the statute uses the two terms).
    income_exempt = both or total_income <= income
    if not both and income_exempt:
        reason = ExemptionReason.INCOME_LEVY_LIMIT
    return Exemption(
        household_size=size,
        per_capita_limit=per_capita,
        income_levy_limit=income,
        per_capita_exempt=both,
        income_levy_exempt=income_exempt,
        reason=reason,
    )
