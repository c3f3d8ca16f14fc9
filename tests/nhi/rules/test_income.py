"""Each member's income: the tax rules' 給与所得 and 年金所得, 旧ただし書き所得, 軽減判定所得."""

from __future__ import annotations

import pytest

from nhi.rules.income import is_salary_earner, member_income
from nhi.rules.parameters import load_parameters
from tax.rules.income import pension_income, salary_income_before_adjustment
from tax.rules.parameters import load_parameters as load_tax_parameters
from tests.nhi.premium_support import member

P25, P26 = load_parameters(2025), load_parameters(2026)
T25, T26 = load_tax_parameters(2025), load_tax_parameters(2026)


def test_income_given_directly_is_the_whole_total() -> None:
    income = member_income(member(50, income=3_000_000), P25, T25)
    assert (income.total_income, income.basic_deduction, income.levy_base) == (
        3_000_000,
        430_000,
        2_570_000,
    )
    assert income.reduction_income == 3_000_000
    assert not income.salary_earner


def test_salary_income_comes_from_the_tax_rules() -> None:
    income = member_income(member(40, fiscal_year=2026, salary_revenue=3_000_000), P26, T26)
    # 別表第五: 3,000,000 ÷ 4 = 750,000; × 2.8 − 80,000 = 2,020,000 (the inhabitant tax's own).
    assert income.salary_income == 2_020_000
    assert income.salary_income == salary_income_before_adjustment(3_000_000, T26.salary_income)
    assert income.levy_base == 1_590_000
    assert income.salary_earner


def test_fy2026_salary_uses_the_65man_minimum_deduction() -> None:
    # 令和7年度改正 (令和8年度住民税から): 給与所得控除の最低額 65万.
    assert (
        member_income(member(40, fiscal_year=2026, salary_revenue=650_000), P26, T26).total_income
        == 0
    )
    assert member_income(member(40, salary_revenue=650_000), P25, T25).total_income == 100_000


def test_pensions_of_those_65_or_over_lose_a_further_15man_for_the_reduction_test() -> None:
    income = member_income(member(70, pension_revenue=2_000_000), P25, T25)
    assert income.pension_income == 900_000
    assert income.pension_income == pension_income(2_000_000, 70, 0, T25.public_pension_income)
    assert income.elderly_pension_deduction == 150_000
    assert income.reduction_income == 750_000
    # 所得割 is on the whole pension income.
    assert income.levy_base == 470_000


def test_the_15man_never_goes_below_zero_and_is_not_for_those_under_65() -> None:
    small = member_income(member(70, pension_revenue=1_200_000), P25, T25)
    assert (small.pension_income, small.elderly_pension_deduction, small.reduction_income) == (
        100_000,
        100_000,
        0,
    )
    young = member_income(member(60, pension_revenue=2_000_000), P25, T25)
    assert young.elderly_pension_deduction == 0
    assert young.reduction_income == young.total_income


def test_salary_and_pension_together_get_the_income_adjustment() -> None:
    # 所得金額調整控除 第2項 (both over 10万): 10万 + 10万 − 10万 = 10万 off the salary income.
    income = member_income(
        member(66, salary_revenue=1_000_000, pension_revenue=1_300_000), P25, T25
    )
    assert income.pension_income == 200_000
    assert income.salary_income == 450_000 - 100_000
    assert income.total_income == 550_000


def test_the_basic_deduction_tapers_above_24_million() -> None:
    assert member_income(member(50, income=24_000_000), P25, T25).basic_deduction == 430_000
    assert member_income(member(50, income=24_500_000), P25, T25).basic_deduction == 290_000
    assert member_income(member(50, income=26_000_000), P25, T25).levy_base == 26_000_000


@pytest.mark.parametrize(
    ("age", "fields", "earner"),
    [
        (40, {"salary_revenue": 550_000}, False),
        (40, {"salary_revenue": 550_001}, True),
        (60, {"pension_revenue": 600_000}, False),
        (60, {"pension_revenue": 600_001}, True),
        (70, {"pension_revenue": 1_250_000}, False),
        (70, {"pension_revenue": 1_250_001}, True),
        (40, {"income": 5_000_000}, False),
    ],
)
def test_salary_earner_cut_offs(age: int, fields: dict[str, int], earner: bool) -> None:
    for params in (P25, P26):
        year = params.fiscal_year
        m = member(age, fiscal_year=year, **fields)
        assert is_salary_earner(m, age, params) is earner
