"""Every 所得控除 of tax.md "Deductions", each at its limits and in both fiscal years."""

from __future__ import annotations

from typing import Any

import pytest

from tax.rules.deductions import (
    Deductions,
    DependentCategory,
    basic_deduction,
    compute_deductions,
    spouse_deduction,
    spouse_special_deduction,
)
from tax.rules.facts import Disability, SingleParent
from tax.rules.parameters import load_parameters
from tests.tax.factories import case, dependent, spouse

P2025, P2026 = load_parameters(2025), load_parameters(2026)


def deductions(aggregate: int = 3_000_000, fiscal_year: int = 2026, **kw: Any) -> Deductions:
    c = case(fiscal_year=fiscal_year, **kw)
    return compute_deductions(c, aggregate, load_parameters(fiscal_year))


def test_social_insurance_is_the_full_amount_paid() -> None:
    assert deductions(social_insurance=123_456).social_insurance_deduction == 123_456


@pytest.mark.parametrize(
    ("aggregate", "amount"),
    [
        (24_000_000, 430_000),
        (24_000_001, 290_000),
        (24_500_000, 290_000),
        (24_500_001, 150_000),
        (25_000_000, 150_000),
        (25_000_001, 0),
    ],
)
def test_basic_deduction(aggregate: int, amount: int) -> None:
    assert basic_deduction(aggregate, P2026.deductions) == amount
    assert basic_deduction(aggregate, P2025.deductions) == amount


@pytest.mark.parametrize(
    ("taxpayer", "general", "elderly"),
    [
        (9_000_000, 330_000, 380_000),
        (9_000_001, 220_000, 260_000),
        (9_500_000, 220_000, 260_000),
        (9_500_001, 110_000, 130_000),
        (10_000_000, 110_000, 130_000),
        (10_000_001, 0, 0),
    ],
)
def test_spouse_deduction_by_taxpayer_income(taxpayer: int, general: int, elderly: int) -> None:
    params = P2026.deductions.spouse
    assert spouse_deduction(taxpayer, spouse(0), 69, params) == general
    assert spouse_deduction(taxpayer, spouse(0, age=70), 70, params) == elderly


@pytest.mark.parametrize(("fiscal_year", "limit"), [(2025, 480_000), (2026, 580_000)])
def test_spouse_income_limit_moves_from_48_to_58(fiscal_year: int, limit: int) -> None:
    within = deductions(fiscal_year=fiscal_year, spouse=spouse(limit, fiscal_year=fiscal_year))
    assert (within.spouse_deduction, within.spouse_special_deduction) == (330_000, 0)
    assert within.spouse_in_household
    above = deductions(fiscal_year=fiscal_year, spouse=spouse(limit + 1, fiscal_year=fiscal_year))
    assert (above.spouse_deduction, above.spouse_special_deduction) == (0, 330_000)
    assert not above.spouse_in_household


@pytest.mark.parametrize(
    ("income", "amounts"),
    [
        (1_000_000, (330_000, 220_000, 110_000)),
        (1_000_001, (310_000, 210_000, 110_000)),
        (1_050_001, (260_000, 180_000, 90_000)),
        (1_100_001, (210_000, 140_000, 70_000)),
        (1_150_001, (160_000, 110_000, 60_000)),
        (1_200_001, (110_000, 80_000, 40_000)),
        (1_250_001, (60_000, 40_000, 20_000)),
        (1_300_001, (30_000, 20_000, 10_000)),
        (1_330_000, (30_000, 20_000, 10_000)),
        (1_330_001, (0, 0, 0)),
    ],
)
def test_spouse_special_deduction(income: int, amounts: tuple[int, int, int]) -> None:
    params = P2026.deductions.spouse
    got = tuple(
        spouse_special_deduction(taxpayer, spouse(income), params)
        for taxpayer in (9_000_000, 9_500_000, 10_000_000)
    )
    assert got == amounts
    assert spouse_special_deduction(10_000_001, spouse(income), params) == 0


@pytest.mark.parametrize(
    ("age", "lives_with", "category", "amount"),
    [
        (15, False, DependentCategory.YOUNG, 0),
        (16, False, DependentCategory.GENERAL, 330_000),
        (18, False, DependentCategory.GENERAL, 330_000),
        (19, False, DependentCategory.SPECIFIED, 450_000),
        (22, False, DependentCategory.SPECIFIED, 450_000),
        (23, False, DependentCategory.GENERAL, 330_000),
        (69, True, DependentCategory.GENERAL, 330_000),
        (70, False, DependentCategory.ELDERLY, 380_000),
        (70, True, DependentCategory.COHABITING_PARENT, 450_000),
    ],
)
def test_dependent_deduction_by_age(
    age: int, lives_with: bool, category: DependentCategory, amount: int
) -> None:
    result = deductions(dependents=(dependent(age, lives_with=lives_with),))
    assert result.dependents[0].category == category
    assert result.dependent_deduction == amount


@pytest.mark.parametrize(("fiscal_year", "limit"), [(2025, 480_000), (2026, 580_000)])
def test_dependent_income_limit(fiscal_year: int, limit: int) -> None:
    def one(income: int) -> Deductions:
        d = dependent(30, income, fiscal_year=fiscal_year)
        return deductions(fiscal_year=fiscal_year, dependents=(d,))

    assert one(limit).dependent_deduction == 330_000
    assert one(limit + 1).dependent_deduction == 0
    assert one(limit + 1).dependents[0].category == DependentCategory.NONE


@pytest.mark.parametrize(
    ("income", "amount"),
    [
        (580_000, 0),  # still a 特定扶養親族 (45万 of 扶養控除 instead)
        (580_001, 450_000),
        (950_000, 450_000),
        (950_001, 410_000),
        (1_000_001, 310_000),
        (1_050_001, 210_000),
        (1_100_001, 110_000),
        (1_150_001, 60_000),
        (1_200_001, 30_000),
        (1_230_000, 30_000),
        (1_230_001, 0),
    ],
)
def test_specified_relative_deduction_fy2026(income: int, amount: int) -> None:
    result = deductions(dependents=(dependent(20, income),))
    assert result.specified_relative_deduction == amount
    if amount:
        assert result.dependents[0].category == DependentCategory.SPECIFIED_RELATIVE
        assert result.dependent_deduction == 0


def test_specified_relative_deduction_is_new_in_fy2026_and_only_for_ages_19_to_22() -> None:
    fy2025 = dependent(20, 800_000, fiscal_year=2025)
    assert deductions(fiscal_year=2025, dependents=(fy2025,)).specified_relative_deduction == 0
    for age, amount in [(18, 0), (19, 450_000), (22, 450_000), (23, 0)]:
        assert deductions(dependents=(dependent(age, 800_000),)).specified_relative_deduction == (
            amount
        )


def test_disability_deduction_of_the_taxpayer() -> None:
    assert deductions(disability=Disability.ORDINARY).disability_deduction == 260_000
    assert deductions(disability=Disability.SPECIAL).disability_deduction == 300_000


def test_disability_deduction_of_dependants() -> None:
    def one(**kw: Any) -> int:
        return deductions(dependents=(dependent(40, **kw),)).disability_deduction

    assert one(disability=Disability.ORDINARY) == 260_000
    assert one(disability=Disability.SPECIAL) == 300_000
    assert one(disability=Disability.SPECIAL, lives_with=True) == 530_000
    # A child under 16 gives no 扶養控除 but does give 障害者控除.
    young = deductions(dependents=(dependent(10, disability=Disability.ORDINARY),))
    assert (young.dependent_deduction, young.disability_deduction) == (0, 260_000)
    # Someone over the income limit is not a dependant, so no 障害者控除 either.
    assert one(income=1_000_000, disability=Disability.SPECIAL) == 0


def test_widow_deduction() -> None:
    assert deductions(5_000_000, widow=True).widow_deduction == 260_000
    assert deductions(5_000_001, widow=True).widow_deduction == 0
    # ひとり親 takes precedence: 寡婦 is defined as someone who is not ひとり親.
    both = deductions(widow=True, single_parent=SingleParent.MOTHER)
    assert (both.widow_deduction, both.single_parent_deduction) == (0, 300_000)


@pytest.mark.parametrize("parent", [SingleParent.MOTHER, SingleParent.FATHER])
def test_single_parent_deduction(parent: SingleParent) -> None:
    assert deductions(5_000_000, single_parent=parent).single_parent_deduction == 300_000
    assert deductions(5_000_001, single_parent=parent).single_parent_deduction == 0


@pytest.mark.parametrize(("fiscal_year", "limit"), [(2025, 750_000), (2026, 850_000)])
def test_working_student_deduction(fiscal_year: int, limit: int) -> None:
    def one(aggregate: int) -> int:
        return deductions(
            aggregate, fiscal_year=fiscal_year, working_student=True
        ).working_student_deduction

    assert one(limit) == 260_000
    assert one(limit + 1) == 0
    assert deductions(limit).working_student_deduction == 0  # not a student


def test_income_deductions_is_the_sum() -> None:
    result = deductions(
        social_insurance=100_000,
        spouse=spouse(0),
        dependents=(dependent(20), dependent(10)),
        disability=Disability.ORDINARY,
    )
    assert result.income_deductions == 100_000 + 430_000 + 330_000 + 450_000 + 260_000
