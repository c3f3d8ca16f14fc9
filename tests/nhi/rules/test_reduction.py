"""7割・5割・2割軽減: each boundary one yen either side, both fiscal years, through the premium."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from nhi.rules.facts import Member
from nhi.rules.parameters import Component, load_parameters
from nhi.rules.premium import HouseholdPremium
from nhi.rules.reduction import reduction_limits, reduction_test
from tests.nhi.premium_support import member, premium

SEVENTY, FIFTY, TWENTY, NONE = Decimal("0.7"), Decimal("0.5"), Decimal("0.2"), Decimal(0)


def test_limits_follow_the_salary_earners_and_persons() -> None:
    params = load_parameters(2025)
    assert [lim.limit for lim in reduction_limits(0, 1, params)] == [430_000, 735_000, 990_000]
    assert [lim.limit for lim in reduction_limits(1, 1, params)] == [430_000, 735_000, 990_000]
    # 10万 × (給与所得者等 − 1): three earners add 20万 to every limit.
    assert [lim.limit for lim in reduction_limits(3, 2, params)] == [
        630_000,
        630_000 + 610_000,
        630_000 + 1_120_000,
    ]


# (fiscal year, limit for 7割 / 5割 / 2割 with 2 persons, no 給与所得者等)
LIMITS = {
    2025: {SEVENTY: 430_000, FIFTY: 430_000 + 2 * 305_000, TWENTY: 430_000 + 2 * 560_000},
    2026: {SEVENTY: 430_000, FIFTY: 430_000 + 2 * 310_000, TWENTY: 430_000 + 2 * 570_000},
}
NEXT = {SEVENTY: FIFTY, FIFTY: TWENTY, TWENTY: NONE}


@pytest.mark.parametrize("year", [2025, 2026])
@pytest.mark.parametrize("rate", [SEVENTY, FIFTY, TWENTY])
def test_each_limit_one_yen_either_side(year: int, rate: Decimal) -> None:
    limit = LIMITS[year][rate]
    params = load_parameters(year)
    assert reduction_test([limit - 1], 0, 2, params).rate == rate
    assert reduction_test([limit], 0, 2, params).rate == rate
    assert reduction_test([limit + 1], 0, 2, params).rate == NEXT[rate]


def two_persons(year: int, head_income: int) -> HouseholdPremium:
    return premium(
        member(50, fiscal_year=year, income=head_income),
        member(45, fiscal_year=year),
        fiscal_year=year,
    )


@pytest.mark.parametrize("year", [2025, 2026])
@pytest.mark.parametrize("rate", [SEVENTY, FIFTY, TWENTY])
def test_each_boundary_reduces_per_capita_and_per_household(year: int, rate: Decimal) -> None:
    limit = LIMITS[year][rate]
    within, above = two_persons(year, limit), two_persons(year, limit + 1)
    assert (within.reduction.rate, above.reduction.rate) == (rate, NEXT[rate])
    medical = within.component(Component.MEDICAL)
    assert medical is not None
    # 均等割 30,200 × 2 and 平等割 26,400, reduced by the rate; 所得割 untouched.
    assert medical.reduction == (30_200 * 2 + 26_400) * Fraction(rate)
    assert medical.per_capita == 30_200 * 2 * (1 - Fraction(rate))
    assert medical.per_household == 26_400 * (1 - Fraction(rate))
    assert medical.income_levy == Fraction(83, 1000) * max(0, limit - 430_000)
    above_medical = above.component(Component.MEDICAL)
    assert above_medical is not None
    assert above_medical.reduction == (30_200 * 2 + 26_400) * Fraction(NEXT[rate])


def test_the_65_plus_pension_deduction_moves_the_7_wari_boundary() -> None:
    # 70 years old, pension only: 公的年金等控除 110万, then 15万 more for the test only, so the
    # 7割 limit of 43万 is reached at a pension of 43万 + 110万 + 15万 = 168万.
    within = premium(member(70, pension_revenue=1_680_000))
    above = premium(member(70, pension_revenue=1_680_001))
    assert within.reduction.household_income == 430_000
    assert (within.reduction.rate, above.reduction.rate) == (SEVENTY, FIFTY)


def test_two_salary_earners_raise_the_7_wari_limit_by_10man() -> None:
    # FY2025: salary 1,080,000 → 給与所得 530,000 each (55万 deduction); both are 給与所得者等.
    couple = premium(member(40, salary_revenue=1_080_000), member(40, salary_revenue=880_000))
    assert couple.reduction.salary_earners == 2
    assert couple.reduction.household_income == 530_000 + 330_000
    assert couple.reduction.limits[0].limit == 530_000
    assert couple.reduction.rate == FIFTY
    single = premium(member(40, salary_revenue=980_000))
    assert (single.reduction.household_income, single.reduction.rate) == (430_000, SEVENTY)


def test_nominal_head_income_counts_for_the_test_but_is_not_levied() -> None:
    # 擬制世帯主: not insured, 所得 100万; the insured spouse has none.
    head = Member(birth_date=member(50).birth_date, income=1_000_000, insured=False)
    p = premium(head, member(45))
    assert p.reduction.household_income == 1_000_000
    assert p.reduction.persons == 1  # the insured spouse only
    assert p.reduction.rate == NONE  # 2割 limit 43万 + 56万 = 99万 < 100万
    medical = p.component(Component.MEDICAL)
    assert medical is not None
    assert medical.income_levy == 0
    assert medical.per_capita == 30_200
    assert medical.per_household == 26_400
    assert [s.index for s in medical.shares] == [1]
    # Without the head's income the same household would have 7割.
    poorer = premium(Member(birth_date=head.birth_date, insured=False), member(45))
    assert poorer.reduction.rate == SEVENTY


def test_a_former_insured_member_counts_as_a_person() -> None:
    # 特定同一世帯所属者: the 5割 and 2割 limits count them though they are not insured.
    elder = Member(birth_date=member(80).birth_date, insured=False, former_insured=True)
    p = premium(member(70, income=900_000), elder)
    assert p.reduction.persons == 2
    assert p.reduction.rate == FIFTY  # 90万 ≤ 43万 + 30.5万 × 2
    without = premium(member(70, income=900_000))
    assert without.reduction.rate == TWENTY  # 90万 > 43万 + 30.5万, ≤ 43万 + 56万
    assert premium(member(70, income=1_000_000)).reduction.rate == NONE
    assert premium(member(70, income=1_000_000), elder).reduction.rate == FIFTY
    # Not insured, so they pay nothing themselves.
    medical = p.component(Component.MEDICAL)
    assert medical is not None
    assert [s.index for s in medical.shares] == [0]
