"""調整控除 and 人的控除額の差 (tax.md "調整控除")."""

from __future__ import annotations

from typing import Any

import pytest

from tax.rules.adjustment_credit import adjustment_credit, personal_deduction_difference
from tax.rules.deductions import compute_deductions
from tax.rules.facts import Disability, SingleParent
from tax.rules.parameters import load_parameters
from tests.tax.factories import case, dependent, spouse

P2026 = load_parameters(2026)
CREDIT = P2026.adjustment_credit


def difference(aggregate: int = 3_000_000, fiscal_year: int = 2026, **kw: Any) -> int:
    params = load_parameters(fiscal_year)
    c = case(fiscal_year=fiscal_year, **kw)
    return personal_deduction_difference(
        c, aggregate, compute_deductions(c, aggregate, params), params
    )


def test_worked_example_gets_the_minimum_credit() -> None:
    credit = adjustment_credit(2_380_000, 50_000, 3_560_000, False, CREDIT)
    assert (credit.base, credit.municipal, credit.prefectural) == (50_000, 1_500, 1_000)


def test_taxable_income_up_to_two_million_uses_the_smaller_figure() -> None:
    assert adjustment_credit(30_000, 50_000, 500_000, False, CREDIT).total == 1_500
    assert adjustment_credit(2_000_000, 50_000, 3_000_000, False, CREDIT).total == 2_500
    assert adjustment_credit(0, 50_000, 400_000, False, CREDIT).total == 0


def test_taxable_income_over_two_million() -> None:
    credit = adjustment_credit(2_100_000, 330_000, 4_000_000, False, CREDIT)
    assert (credit.base, credit.municipal, credit.prefectural) == (230_000, 6_900, 4_600)
    # Far above: never below 2,500 (5万 × 5%).
    assert adjustment_credit(9_000_000, 330_000, 12_000_000, False, CREDIT).total == 2_500


def test_no_credit_above_twenty_five_million() -> None:
    assert adjustment_credit(20_000_000, 50_000, 25_000_000, False, CREDIT).total == 2_500
    assert adjustment_credit(20_000_000, 50_000, 25_000_001, False, CREDIT).total == 0


def test_designated_city_splits_four_to_one() -> None:
    credit = adjustment_credit(2_380_000, 50_000, 3_560_000, True, CREDIT)
    assert (credit.municipal, credit.prefectural) == (2_000, 500)


def test_basic_difference_alone() -> None:
    assert difference() == 50_000
    assert difference(24_900_000) == 50_000  # the statute's 5万 has no income condition


@pytest.mark.parametrize(
    ("taxpayer", "general", "elderly"),
    [(9_000_000, 50_000, 100_000), (9_500_000, 40_000, 60_000), (10_000_000, 20_000, 30_000)],
)
def test_spouse_deduction_differences(taxpayer: int, general: int, elderly: int) -> None:
    assert difference(taxpayer, spouse=spouse(0)) == 50_000 + general
    assert difference(taxpayer, spouse=spouse(0, age=70)) == 50_000 + elderly
    assert difference(10_000_001, spouse=spouse(0)) == 50_000


@pytest.mark.parametrize(
    ("income", "extra"),
    [(480_001, 50_000), (499_999, 50_000), (500_000, 30_000), (549_999, 30_000), (550_000, 0)],
)
def test_spouse_special_difference_fy2025(income: int, extra: int) -> None:
    s = spouse(income, fiscal_year=2025)
    assert difference(fiscal_year=2025, spouse=s) == 50_000 + extra


def test_spouse_special_difference_is_in_effect_none_from_fy2026() -> None:
    # The statute's rows need a spouse under 55万 who is not a 控除対象配偶者 (limit 58万).
    for income in (580_001, 700_000, 1_000_000):
        assert difference(spouse=spouse(income)) == 50_000


def test_dependant_differences() -> None:
    assert difference(dependents=(dependent(17),)) == 50_000 + 50_000
    assert difference(dependents=(dependent(20),)) == 50_000 + 180_000
    assert difference(dependents=(dependent(75),)) == 50_000 + 100_000
    assert difference(dependents=(dependent(75, lives_with=True),)) == 50_000 + 130_000
    assert difference(dependents=(dependent(10),)) == 50_000  # 年少: no deduction, no row
    # 特定親族特別控除 has no row.
    assert difference(dependents=(dependent(20, 800_000),)) == 50_000


def test_disability_differences() -> None:
    assert difference(disability=Disability.ORDINARY) == 60_000
    assert difference(disability=Disability.SPECIAL) == 150_000
    special = dependent(40, disability=Disability.SPECIAL, lives_with=True)
    assert difference(dependents=(special,)) == 50_000 + 50_000 + 220_000


def test_widow_single_parent_and_student_differences() -> None:
    assert difference(widow=True) == 60_000
    assert difference(single_parent=SingleParent.MOTHER) == 100_000
    assert difference(single_parent=SingleParent.FATHER) == 60_000
    assert difference(600_000, working_student=True) == 60_000
    # No deduction, no difference.
    assert difference(6_000_000, widow=True) == 50_000
