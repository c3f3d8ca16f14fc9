"""Income by kind, 所得金額調整控除, 総所得金額等 and 合計所得金額 (tax.md "Employment income",
"Public pension income", "所得金額調整控除")."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tax.rules.facts import Income, IncomeKind
from tax.rules.parameters import (
    IncomeAdjustmentParameters,
    IncomeBand,
    PensionIncomeParameters,
    SalaryIncomeParameters,
    TaxParameters,
)


@dataclass(frozen=True)
class IncomeBreakdown:
    salary_revenue: int
    salary_income_deduction: int  # 給与所得控除額 (revenue − 給与所得控除後の金額)
    income_adjustment_deduction: int  # 所得金額調整控除
    salary_income: int  # 給与所得, after 所得金額調整控除
    pension_revenue: int
    public_pension_deduction: int  # 公的年金等控除額
    pension_income: int  # 公的年金等に係る雑所得
    business_income: int
    real_estate_income: int
    miscellaneous_income: int
    total_income: int  # 総所得金額等
    aggregate_income: int  # 合計所得金額


def _band_for(bands: tuple[IncomeBand, ...], revenue: int) -> IncomeBand:
    chosen = bands[0]
    for band in bands:
        if revenue >= band.start:
            chosen = band
    return chosen


def _apply(band: IncomeBand, revenue: int, quarter_step: int = 1) -> int:
    if band.basis == "fixed":
        return band.addend
    if band.basis == "quarter":
        # 別表第五: A = revenue ÷ 4 with the fraction below the step dropped; the multiplier
        # then scales A (×2.4, ×2.8, ×3.2 stand for "A × 4 × rate").
        base = Decimal(revenue // 4 // quarter_step * quarter_step)
    else:
        base = Decimal(revenue)
    # Fractions of a yen are dropped (別表第五 備考, and the pension tables likewise).
    return math.floor(base * band.multiplier) + band.addend


def salary_income_before_adjustment(revenue: int, params: SalaryIncomeParameters) -> int:
    """所得税法28条・別表第五 (tax.md "Employment income"): 給与所得控除後の給与等の金額."""
    return max(0, _apply(_band_for(params.bands, revenue), revenue, params.quarter_step))


def pension_income(
    revenue: int, age: int, other_income: int, params: PensionIncomeParameters
) -> int:
    """所得税法35条4項 (tax.md "Public pension income"): 公的年金等に係る雑所得."""
    # The table depends on the age (65 on 31 December) and on the income other than pensions.
    bands = params.elderly if age >= params.elderly_age else params.under_elderly_age
    # Other income over 1,000万 / 2,000万 makes every deduction 10万 / 20万 smaller, i.e. the
    # pension income that much larger, the zero threshold moving with it.
    reduction = 0
    for step in params.other_income_reductions:
        if other_income > step.over:
            reduction = step.amount
    return max(0, _apply(_band_for(bands, revenue), revenue) + reduction)


def income_adjustment_deduction(
    salary_revenue: int,
    salary_income: int,
    pension_income: int,
    special_case: bool,
    params: IncomeAdjustmentParameters,
) -> int:
    """租税特別措置法41条の3の3 (tax.md "所得金額調整控除"): the amount taken off 給与所得."""
    # ``special_case``: the taxpayer is 特別障害者, or has a dependant under 23 or a dependant
    # who is 特別障害者 (第1項). 第2項 is for those with both salary and pension income.
    first = 0
    if special_case and salary_revenue > params.revenue_threshold:
        excess = min(salary_revenue, params.revenue_cap) - params.revenue_threshold
        # 1円未満の端数は切り上げ (措置法41条の3の3第1項).
        first = math.ceil(excess * params.rate)
    remaining = max(0, salary_income - first)
    second = 0
    if remaining > 0 and pension_income > 0:
        cap = params.pension_and_salary_cap
        second = max(0, min(remaining, cap) + min(pension_income, cap) - cap)
    return min(salary_income, first + second)


def sum_by_kind(incomes: Iterable[Income]) -> dict[IncomeKind, int]:
    """所得税法28条 (tax.md "Employment income"): revenues added up per kind for the year."""
    # The tables apply to the year's total: two 源泉徴収票 of salary are one salary revenue.
    totals = dict.fromkeys(IncomeKind, 0)
    for income in incomes:
        totals[income.kind] += income.revenue
    return totals


def compute_income(
    incomes: Iterable[Income], age: int, special_case: bool, params: TaxParameters
) -> IncomeBreakdown:
    """地方税法313条 (tax.md "Employment income"…"所得金額調整控除"): income by kind, totals."""
    totals = sum_by_kind(incomes)
    salary_revenue = totals[IncomeKind.SALARY]
    before = salary_income_before_adjustment(salary_revenue, params.salary_income)
    business = totals[IncomeKind.BUSINESS]
    real_estate = totals[IncomeKind.REAL_ESTATE]
    miscellaneous = totals[IncomeKind.MISCELLANEOUS]
    pension_revenue = totals[IncomeKind.PUBLIC_PENSION]
    # "Other income" for the pension table is 合計所得金額 without the pension part; the
    # 第2項 adjustment needs the pension income, so the salary side is taken before it.
    other = before + business + real_estate + miscellaneous
    pension = pension_income(pension_revenue, age, other, params.public_pension_income)
    adjustment = income_adjustment_deduction(
        salary_revenue, before, pension, special_case, params.income_adjustment
    )
    salary = before - adjustment
    total = salary + pension + business + real_estate + miscellaneous
    return IncomeBreakdown(
        salary_revenue=salary_revenue,
        salary_income_deduction=salary_revenue - before,
        income_adjustment_deduction=adjustment,
        salary_income=salary,
        pension_revenue=pension_revenue,
        public_pension_deduction=pension_revenue - pension,
        pension_income=pension,
        business_income=business,
        real_estate_income=real_estate,
        miscellaneous_income=miscellaneous,
        total_income=total,
        # Without separately taxed income or carried-forward losses (outside the simulation)
        # 合計所得金額 and 総所得金額等 coincide; both are kept because the law uses both.
        aggregate_income=total,
    )
