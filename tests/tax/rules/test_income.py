"""給与所得, 公的年金等に係る雑所得, 所得金額調整控除 and the totals (tax.md "Employment income",
"Public pension income", "所得金額調整控除")."""

from __future__ import annotations

import pytest

from tax.rules.facts import Income, IncomeKind
from tax.rules.income import (
    compute_income,
    income_adjustment_deduction,
    pension_income,
    salary_income_before_adjustment,
)
from tax.rules.parameters import load_parameters

P2025, P2026 = load_parameters(2025), load_parameters(2026)


@pytest.mark.parametrize(
    ("revenue", "income"),
    [
        (0, 0),
        (650_999, 0),
        (651_000, 1_000),
        (1_000_000, 350_000),
        (1_899_999, 1_249_999),
        (1_900_000, 1_250_000),  # A = 475,000 → × 2.8 − 80,000
        (1_903_999, 1_250_000),  # same 4,000-yen step
        (1_904_000, 1_252_800),
        (3_599_999, 2_437_200),
        (3_600_000, 2_440_000),
        (5_000_000, 3_560_000),  # tax.md's worked example
        (6_599_999, 4_836_800),
        (6_600_000, 4_840_000),
        (8_499_999, 6_549_999),
        (8_500_000, 6_550_000),
        (10_000_000, 8_050_000),
    ],
)
def test_salary_income_fy2026(revenue: int, income: int) -> None:
    assert salary_income_before_adjustment(revenue, P2026.salary_income) == income


@pytest.mark.parametrize(
    ("revenue", "income"),
    [
        (550_999, 0),
        (551_000, 1_000),
        (1_000_000, 450_000),
        (1_618_999, 1_068_999),
        (1_619_000, 1_069_000),
        (1_619_999, 1_069_000),
        (1_620_000, 1_070_000),
        (1_621_999, 1_070_000),
        (1_622_000, 1_072_000),
        (1_623_999, 1_072_000),
        (1_624_000, 1_074_000),
        (1_627_999, 1_074_000),
        (1_628_000, 1_076_800),  # A = 407,000 → × 2.4 + 100,000
        (1_799_999, 1_177_600),
        (1_800_000, 1_180_000),
        (1_900_000, 1_250_000),  # from here on both years agree
        (5_000_000, 3_560_000),
    ],
)
def test_salary_income_fy2025(revenue: int, income: int) -> None:
    assert salary_income_before_adjustment(revenue, P2025.salary_income) == income


@pytest.mark.parametrize("params", [P2025, P2026])
def test_salary_income_never_decreases(params) -> None:
    previous = 0
    for revenue in range(0, 11_000_000, 997):
        income = salary_income_before_adjustment(revenue, params.salary_income)
        assert income >= previous, revenue
        previous = income


@pytest.mark.parametrize(
    ("revenue", "age", "other", "income"),
    [
        (600_000, 64, 0, 0),
        (600_001, 64, 0, 1),
        (1_299_999, 64, 0, 699_999),
        (1_300_000, 64, 0, 700_000),
        (2_000_000, 64, 0, 1_225_000),
        (4_100_000, 64, 0, 2_800_000),
        (7_700_000, 64, 0, 5_860_000),
        (10_000_000, 64, 0, 8_045_000),
        (1_100_000, 65, 0, 0),
        (1_100_001, 65, 0, 1),
        (3_299_999, 65, 0, 2_199_999),
        (3_300_000, 65, 0, 2_200_000),
        (4_100_000, 65, 0, 2_800_000),
        # Other income over 1,000万 / 2,000万: every deduction 10万 / 20万 smaller.
        (600_000, 64, 10_000_000, 0),
        (600_000, 64, 10_000_001, 100_000),
        (600_000, 64, 20_000_001, 200_000),
        (3_300_000, 65, 15_000_000, 2_300_000),
    ],
)
def test_pension_income(revenue: int, age: int, other: int, income: int) -> None:
    assert pension_income(revenue, age, other, P2026.public_pension_income) == income


def test_income_adjustment_for_high_salaries_with_a_young_or_disabled_dependant() -> None:
    params = P2026.income_adjustment
    assert income_adjustment_deduction(9_000_000, 7_000_000, 0, True, params) == 50_000
    assert income_adjustment_deduction(12_000_000, 10_000_000, 0, True, params) == 150_000
    assert income_adjustment_deduction(8_500_000, 6_550_000, 0, True, params) == 0
    assert income_adjustment_deduction(9_000_000, 7_000_000, 0, False, params) == 0
    # 1円未満切上げ: (8,500,005 − 8,500,000) × 10% = 0.5 → 1.
    assert income_adjustment_deduction(8_500_005, 6_550_005, 0, True, params) == 1


def test_income_adjustment_for_salary_and_pension_together() -> None:
    params = P2026.income_adjustment
    assert income_adjustment_deduction(1_000_000, 350_000, 50_000, False, params) == 50_000
    assert income_adjustment_deduction(2_000_000, 1_320_000, 500_000, False, params) == 100_000
    assert income_adjustment_deduction(1_000_000, 350_000, 0, False, params) == 0


def test_compute_income_adds_every_kind() -> None:
    incomes = (
        Income(IncomeKind.SALARY, 3_000_000),
        Income(IncomeKind.SALARY, 2_000_000),  # two employers: one revenue
        Income(IncomeKind.PUBLIC_PENSION, 800_000),
        Income(IncomeKind.BUSINESS, 100_000),
        Income(IncomeKind.REAL_ESTATE, 200_000),
        Income(IncomeKind.MISCELLANEOUS, 300_000),
    )
    result = compute_income(incomes, age=60, special_case=False, params=P2026)
    assert result.salary_revenue == 5_000_000
    assert result.salary_income_deduction == 1_440_000
    assert result.pension_income == 200_000
    assert result.public_pension_deduction == 600_000
    # 第2項: min(3,560,000, 10万) + min(200,000, 10万) − 10万 = 10万 off the salary income.
    assert result.income_adjustment_deduction == 100_000
    assert result.salary_income == 3_460_000
    assert result.total_income == 3_460_000 + 200_000 + 100_000 + 200_000 + 300_000
    assert result.aggregate_income == result.total_income


def test_compute_income_reads_the_pension_table_by_age() -> None:
    incomes = (Income(IncomeKind.PUBLIC_PENSION, 2_000_000),)
    assert compute_income(incomes, 64, False, P2026).pension_income == 1_225_000
    assert compute_income(incomes, 65, False, P2026).pension_income == 900_000
