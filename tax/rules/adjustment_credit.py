"""調整控除 (地方税法314条の6・37条; tax.md "調整控除")."""

from __future__ import annotations

from dataclasses import dataclass

from tax.rules.deductions import Deductions, DependentCategory, taxpayer_tier
from tax.rules.facts import Case, Disability, SingleParent
from tax.rules.parameters import AdjustmentCreditParameters, PersonalDifferences, TaxParameters


@dataclass(frozen=True)
class AdjustmentCredit:
    personal_deduction_difference: int  # 人的控除額の差の合計
    base: int  # the amount the municipal and prefectural rates apply to
    municipal: int
    prefectural: int

    @property
    def total(self) -> int:
        """調整控除, municipal and prefectural together."""
        return self.municipal + self.prefectural


def _disability_difference(
    disability: Disability, lives_with: bool, diff: PersonalDifferences
) -> int:
    if disability == Disability.ORDINARY:
        return diff.disability
    if disability == Disability.SPECIAL:
        return diff.cohabiting_special_disability if lives_with else diff.special_disability
    return 0


def spouse_difference(
    aggregate_income: int, case: Case, deductions: Deductions, params: TaxParameters
) -> int:
    """地方税法314条の6第1号イ: the 配偶者控除 / 配偶者特別控除 rows of 人的控除額の差."""
    # The 配偶者特別控除 rows are read as the statute words them (a spouse income band, and the
    # spouse not a 控除対象配偶者), so once the spouse limit is 58万 (FY2026) no spouse meets
    # both and they give nothing: tax.md's "in effect none".
    diff = params.adjustment_credit.differences
    tier = taxpayer_tier(aggregate_income, params.deductions.spouse.taxpayer_income_tiers)
    if case.spouse is None or tier is None:
        return 0
    if deductions.spouse_deduction > 0:
        return (diff.spouse_elderly if deductions.spouse_elderly else diff.spouse_general)[tier]
    if not deductions.spouse_in_household:
        for row in diff.spouse_special:
            if row.at_least <= case.spouse.income < row.under:
                return row.amounts[tier]
    return 0


def personal_deduction_difference(
    case: Case, aggregate_income: int, deductions: Deductions, params: TaxParameters
) -> int:
    """地方税法314条の6第1号イ (tax.md "人的控除差"): the sum of 人的控除額の差."""
    # Rows follow the deductions actually given; 基礎控除 always counts 5万 (the statute has no
    # income condition, and above 2,500万 there is no 調整控除 at all). 特定親族特別控除 has
    # no row, so it adds nothing.
    diff = params.adjustment_credit.differences
    taxpayer = case.taxpayer
    total = diff.basic + spouse_difference(aggregate_income, case, deductions, params)
    by_category = {
        DependentCategory.GENERAL: diff.dependent_general,
        DependentCategory.SPECIFIED: diff.dependent_specified,
        DependentCategory.ELDERLY: diff.dependent_elderly,
        DependentCategory.COHABITING_PARENT: diff.cohabiting_parent,
    }
    for fact, figures in zip(case.dependents, deductions.dependents, strict=True):
        total += by_category.get(figures.category, 0)
        if figures.disability_deduction:
            total += _disability_difference(fact.disability, fact.lives_with, diff)
    total += _disability_difference(taxpayer.disability, False, diff)
    if deductions.widow_deduction:
        total += diff.widow
    if deductions.single_parent_deduction:
        total += (
            diff.single_parent_father
            if taxpayer.single_parent == SingleParent.FATHER
            else diff.single_parent_mother
        )
    if deductions.working_student_deduction:
        total += diff.working_student
    return total


def adjustment_credit(
    taxable_income: int,
    difference: int,
    aggregate_income: int,
    designated_city: bool,
    params: AdjustmentCreditParameters,
) -> AdjustmentCredit:
    """地方税法314条の6・37条 (tax.md "調整控除"): 3% + 2% (指定都市 4% + 1%) of the base."""
    if aggregate_income > params.aggregate_income_limit:
        return AdjustmentCredit(difference, 0, 0, 0)
    threshold = params.taxable_income_threshold
    if taxable_income <= threshold:
        base = min(difference, taxable_income)
    else:
        # Never below 5万, which is what makes the minimum credit 2,500 (1,500 + 1,000).
        base = max(difference - (taxable_income - threshold), params.minimum_base)
    rates = params.rates.for_city(designated_city)
    # The credit is applied in whole yen; fractions (only possible with odd bases) are dropped.
    return AdjustmentCredit(
        personal_deduction_difference=difference,
        base=base,
        municipal=int(base * rates.municipal),
        prefectural=int(base * rates.prefectural),
    )
