"""所得控除 of the inhabitant tax (地方税法314条の2; tax.md "Deductions")."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tax.rules.ages import age_at_year_end
from tax.rules.facts import Case, Dependent, Disability, SingleParent, Spouse
from tax.rules.parameters import (
    AmountUpTo,
    DeductionParameters,
    DependentParameters,
    SpecifiedRelativeParameters,
    SpouseParameters,
    TaxParameters,
    Tiers,
)


class DependentCategory(enum.StrEnum):
    """How a relative of the household counts (扶養親族の区分)."""

    YOUNG = "young"  # 年少扶養親族 (under 16): no deduction, but counts for 非課税
    GENERAL = "general"  # 一般の控除対象扶養親族
    SPECIFIED = "specified"  # 特定扶養親族 (19–22)
    ELDERLY = "elderly"  # 老人扶養親族 (70+)
    COHABITING_PARENT = "cohabiting_parent"  # 同居老親等
    SPECIFIED_RELATIVE = "specified_relative"  # 特定親族 (特定親族特別控除, FY2026–)
    NONE = "none"  # income over the limit: not a dependant at all


@dataclass(frozen=True)
class DependentBreakdown:
    age: int
    category: DependentCategory
    dependent_deduction: int
    specified_relative_deduction: int
    disability_deduction: int

    @property
    def is_dependent(self) -> bool:
        """扶養親族 (income within the limit), including those under 16."""
        return self.category not in {DependentCategory.NONE, DependentCategory.SPECIFIED_RELATIVE}


@dataclass(frozen=True)
class Deductions:
    social_insurance_deduction: int
    basic_deduction: int
    spouse_deduction: int
    spouse_special_deduction: int
    dependent_deduction: int
    specified_relative_deduction: int
    disability_deduction: int
    widow_deduction: int
    single_parent_deduction: int
    working_student_deduction: int
    spouse_in_household: bool  # 同一生計配偶者 (spouse income within the limit)
    spouse_age: int | None
    spouse_elderly: bool  # 老人控除対象配偶者 (70+ on 31 December)
    dependents: tuple[DependentBreakdown, ...]

    @property
    def income_deductions(self) -> int:
        """所得控除の合計."""
        return (
            self.social_insurance_deduction
            + self.basic_deduction
            + self.spouse_deduction
            + self.spouse_special_deduction
            + self.dependent_deduction
            + self.specified_relative_deduction
            + self.disability_deduction
            + self.widow_deduction
            + self.single_parent_deduction
            + self.working_student_deduction
        )


def _up_to(rows: tuple[AmountUpTo, ...], value: int) -> int:
    for row in rows:
        if value <= row.up_to:
            return row.amount
    return 0


def taxpayer_tier(aggregate_income: int, tiers: Tiers) -> int | None:
    """Index of the taxpayer's income tier (≤ 900万 / 950万 / 1,000万), None above the last."""
    for index, limit in enumerate(tiers):
        if aggregate_income <= limit:
            return index
    return None


def basic_deduction(aggregate_income: int, params: DeductionParameters) -> int:
    """地方税法314条の2第2項: 基礎控除, by 合計所得金額."""
    return _up_to(params.basic, aggregate_income)


def spouse_in_household(spouse: Spouse | None, params: SpouseParameters) -> bool:
    """同一生計配偶者 (地方税法292条): a spouse whose 合計所得金額 is within the limit."""
    return spouse is not None and spouse.income <= params.income_limit


def spouse_deduction(
    aggregate_income: int, spouse: Spouse | None, spouse_age: int | None, params: SpouseParameters
) -> int:
    """地方税法314条の2第1項 (配偶者控除): by taxpayer income tier, more for a spouse of 70+."""
    tier = taxpayer_tier(aggregate_income, params.taxpayer_income_tiers)
    if tier is None or spouse is None or not spouse_in_household(spouse, params):
        return 0
    elderly = spouse_age is not None and spouse_age >= params.elderly_age
    return (params.elderly if elderly else params.general)[tier]


def spouse_special_deduction(
    aggregate_income: int, spouse: Spouse | None, params: SpouseParameters
) -> int:
    """地方税法314条の2第1項 (配偶者特別控除): spouse income above the limit up to 133万."""
    tier = taxpayer_tier(aggregate_income, params.taxpayer_income_tiers)
    if tier is None or spouse is None or spouse_in_household(spouse, params):
        return 0
    for row in params.special:
        if spouse.income <= row.up_to:
            return row.amounts[tier]
    return 0


def classify_dependent(
    age: int,
    income: int,
    lives_with: bool,
    dependent: DependentParameters,
    specified_relative: SpecifiedRelativeParameters | None,
) -> DependentCategory:
    """地方税法292条・314条の2第1項 (扶養控除, 特定親族特別控除): a relative's category."""
    if income > dependent.income_limit:
        if specified_relative is not None:
            low, high = specified_relative.ages
            if low <= age <= high and income <= specified_relative.rows[-1].up_to:
                return DependentCategory.SPECIFIED_RELATIVE
        return DependentCategory.NONE
    if age < dependent.minimum_age:
        return DependentCategory.YOUNG
    low, high = dependent.specified_ages
    if low <= age <= high:
        return DependentCategory.SPECIFIED
    if age >= dependent.elderly_age:
        # The input has no relationship: a dependant of 70+ living with the taxpayer is taken
        # as 直系尊属 (同居老親等), the usual case; others are 老人扶養親族.
        return DependentCategory.COHABITING_PARENT if lives_with else DependentCategory.ELDERLY
    return DependentCategory.GENERAL


def dependent_deduction(category: DependentCategory, params: DependentParameters) -> int:
    """地方税法314条の2第1項 (扶養控除): 33万 general, 45万 特定, 38万 老人, 45万 同居老親等."""
    return {
        DependentCategory.GENERAL: params.general,
        DependentCategory.SPECIFIED: params.specified,
        DependentCategory.ELDERLY: params.elderly,
        DependentCategory.COHABITING_PARENT: params.cohabiting_parent,
    }.get(category, 0)


def specified_relative_deduction(income: int, params: SpecifiedRelativeParameters | None) -> int:
    """地方税法314条の2第1項 (特定親族特別控除, from FY2026): by the relative's income."""
    if params is None:
        return 0
    return _up_to(params.rows, income)


def disability_deduction_for(
    disability: Disability, lives_with: bool, params: DeductionParameters
) -> int:
    """地方税法314条の2第1項 (障害者控除): 26万, 特別障害者 30万, 同居特別障害者 53万."""
    if disability == Disability.ORDINARY:
        return params.disability.ordinary
    if disability == Disability.SPECIAL:
        return params.disability.cohabiting_special if lives_with else params.disability.special
    return 0


def widow_deduction(
    widow: bool, single_parent: SingleParent, aggregate_income: int, params: DeductionParameters
) -> int:
    """地方税法314条の2第1項 (寡婦控除): 26万, 合計所得金額 500万 or less, not ひとり親."""
    eligible = widow and single_parent == SingleParent.NONE
    return (
        params.widow
        if eligible and aggregate_income <= params.widow_single_parent_income_limit
        else 0
    )


def single_parent_deduction(
    single_parent: SingleParent, aggregate_income: int, params: DeductionParameters
) -> int:
    """地方税法314条の2第1項 (ひとり親控除): 30万, 合計所得金額 500万 or less."""
    if single_parent == SingleParent.NONE:
        return 0
    return (
        params.single_parent if aggregate_income <= params.widow_single_parent_income_limit else 0
    )


def working_student_deduction(
    working_student: bool, aggregate_income: int, params: DeductionParameters
) -> int:
    """地方税法314条の2第1項 (勤労学生控除): 26万 within the income limit (75万; FY2026 85万)."""
    if not working_student:
        return 0
    return params.working_student if aggregate_income <= params.working_student_income_limit else 0


def dependent_breakdown(dependent: Dependent, params: TaxParameters) -> DependentBreakdown:
    """tax.md "Deductions": one relative's category, 扶養控除, 特定親族特別控除, 障害者控除."""
    d = params.deductions
    age = age_at_year_end(dependent.birth_date, params)
    category = classify_dependent(
        age, dependent.income, dependent.lives_with, d.dependent, d.specified_relative
    )
    is_dependent = category not in {DependentCategory.NONE, DependentCategory.SPECIFIED_RELATIVE}
    return DependentBreakdown(
        age=age,
        category=category,
        dependent_deduction=dependent_deduction(category, d.dependent),
        specified_relative_deduction=(
            specified_relative_deduction(dependent.income, d.specified_relative)
            if category == DependentCategory.SPECIFIED_RELATIVE
            else 0
        ),
        # 障害者控除 is for the taxpayer, the 同一生計配偶者 and 扶養親族 (under 16 included).
        disability_deduction=(
            disability_deduction_for(dependent.disability, dependent.lives_with, d)
            if is_dependent
            else 0
        ),
    )


def compute_deductions(case: Case, aggregate_income: int, params: TaxParameters) -> Deductions:
    """地方税法314条の2 (tax.md "Deductions"): every 所得控除 of the case."""
    d = params.deductions
    taxpayer = case.taxpayer
    spouse_age = age_at_year_end(case.spouse.birth_date, params) if case.spouse else None
    dependents = tuple(dependent_breakdown(x, params) for x in case.dependents)
    own_disability = disability_deduction_for(taxpayer.disability, lives_with=False, params=d)
    return Deductions(
        # 社会保険料控除 is the whole amount paid (314条の2第1項).
        social_insurance_deduction=taxpayer.social_insurance,
        basic_deduction=basic_deduction(aggregate_income, d),
        spouse_deduction=spouse_deduction(aggregate_income, case.spouse, spouse_age, d.spouse),
        spouse_special_deduction=spouse_special_deduction(aggregate_income, case.spouse, d.spouse),
        dependent_deduction=sum(x.dependent_deduction for x in dependents),
        specified_relative_deduction=sum(x.specified_relative_deduction for x in dependents),
        disability_deduction=own_disability + sum(x.disability_deduction for x in dependents),
        widow_deduction=widow_deduction(
            taxpayer.widow, taxpayer.single_parent, aggregate_income, d
        ),
        single_parent_deduction=single_parent_deduction(
            taxpayer.single_parent, aggregate_income, d
        ),
        working_student_deduction=working_student_deduction(
            taxpayer.working_student, aggregate_income, d
        ),
        spouse_in_household=spouse_in_household(case.spouse, d.spouse),
        spouse_age=spouse_age,
        spouse_elderly=spouse_age is not None and spouse_age >= d.spouse.elderly_age,
        dependents=dependents,
    )
