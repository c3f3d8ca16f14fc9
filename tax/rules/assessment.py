"""One whole assessment: every step of tax.md in order, each step's figures kept."""

from __future__ import annotations

from dataclasses import dataclass

from tax.rules.adjustment_credit import (
    AdjustmentCredit,
    adjustment_credit,
    personal_deduction_difference,
)
from tax.rules.ages import age_at_year_end
from tax.rules.deductions import Deductions, compute_deductions
from tax.rules.exemption import Exemption, exemption
from tax.rules.facts import Case, Disability
from tax.rules.income import IncomeBreakdown, compute_income
from tax.rules.levy import (
    IncomeLevy,
    PerCapitaLevy,
    income_levy,
    per_capita_levy,
    taxable_income,
)
from tax.rules.parameters import TaxParameters, load_parameters


@dataclass(frozen=True)
class Assessment:
    case: Case
    taxpayer_age: int  # on 31 December of the income year
    income: IncomeBreakdown
    deductions: Deductions
    taxable_income: int
    adjustment_credit: AdjustmentCredit
    exemption: Exemption
    income_levy: IncomeLevy
    per_capita_levy: PerCapitaLevy

    @property
    def total(self) -> int:
        """所得割 + 均等割 + 森林環境税: what the taxpayer is asked to pay."""
        return (
            self.income_levy.total
            + self.per_capita_levy.total
            + self.per_capita_levy.forest_environment_tax
        )


def special_case_for_income_adjustment(case: Case, params: TaxParameters) -> bool:
    """租税特別措置法41条の3の3第1項: 特別障害者 taxpayer, or a dependant under 23 or 特別障害者."""
    # The simulation has no disability field for the spouse, so a 特別障害者 spouse is not seen.
    if case.taxpayer.disability == Disability.SPECIAL:
        return True
    limit = params.deductions.dependent.income_limit
    young = params.income_adjustment.young_dependent_age
    return any(
        d.income <= limit
        and (d.disability == Disability.SPECIAL or age_at_year_end(d.birth_date, params) < young)
        for d in case.dependents
    )


def assess(case: Case, params: TaxParameters | None = None) -> Assessment:
    """地方税法 第3章第1節 (tax.md, whole): every step of one assessment, every figure kept."""
    # Order: income → deductions → taxable income → 所得割 with 調整控除 → 非課税 → 均等割.
    params = params or load_parameters(case.fiscal_year)
    age = age_at_year_end(case.taxpayer.birth_date, params)
    special = special_case_for_income_adjustment(case, params)
    income = compute_income(case.taxpayer.incomes, age, special, params)
    deductions = compute_deductions(case, income.aggregate_income, params)
    taxable = taxable_income(income.total_income, deductions.income_deductions, params)
    difference = personal_deduction_difference(case, income.aggregate_income, deductions, params)
    credit = adjustment_credit(
        taxable,
        difference,
        income.aggregate_income,
        case.designated_city,
        params.adjustment_credit,
    )
    exempt = exemption(
        case.taxpayer,
        case.grade,
        income.total_income,
        income.aggregate_income,
        deductions,
        params,
    )
    levy = income_levy(
        taxable,
        credit,
        income.total_income,
        exempt.income_levy_limit,
        exempt.income_levy_exempt,
        case.prefecture,
        case.designated_city,
        params,
    )
    return Assessment(
        case=case,
        taxpayer_age=age,
        income=income,
        deductions=deductions,
        taxable_income=taxable,
        adjustment_credit=credit,
        exemption=exempt,
        income_levy=levy,
        per_capita_levy=per_capita_levy(case.prefecture, exempt.per_capita_exempt, params),
    )
