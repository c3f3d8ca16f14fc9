"""The household premium: nhi.md's worked example, caps, 未就学児, child support, 月割, rounding."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from nhi.rules.facts import Member
from nhi.rules.parameters import Component
from nhi.rules.premium import ComponentPremium, HouseholdPremium, prorate
from nhi.rules.rates import Rounding
from tests.nhi.premium_support import (
    ZERO,
    member,
    premium,
    worked_example,
)


def part(p: HouseholdPremium, component: Component) -> ComponentPremium:
    found = p.component(component)
    assert found is not None
    return found


def test_worked_example_by_hand() -> None:
    # Base: 300万 − 43万 = 257万 (head); the others have none.
    #   医療 8.3% × 2,570,000 = 213,310 + 30,200 × 3 + 26,400 = 330,310
    #   支援 1.7% × 2,570,000 =  43,690 +  6,300 × 3 +  5,400 =  67,990
    #   介護 2.2% × 2,570,000 =  56,540 +  9,400 × 2 +  6,000 =  81,340 (ages 50 and 45 only)
    p = premium(*worked_example().members)
    medical = part(p, Component.MEDICAL)
    assert [medical.income_levy, medical.per_capita, medical.per_household] == [
        213_310,
        90_600,
        26_400,
    ]
    assert medical.before_cap == medical.after_cap == 330_310
    support = part(p, Component.ELDERLY_SUPPORT)
    assert [support.income_levy, support.per_capita, support.per_household] == [
        43_690,
        18_900,
        5_400,
    ]
    assert support.after_cap == 67_990
    care = part(p, Component.LONG_TERM_CARE)
    assert [care.income_levy, care.per_capita, care.per_household] == [56_540, 18_800, 6_000]
    assert [s.index for s in care.shares] == [0, 1]
    assert care.after_cap == 81_340
    assert p.total_before_rounding == 479_640
    # Each component truncated to 100 yen: 330,300 + 67,900 + 81,300.
    assert [c.amount for c in p.components] == [330_300, 67_900, 81_300]
    assert p.total == 479_500
    assert p.reduction.rate == 0
    assert not any(c.cap_applied for c in p.components)
    assert p.component(Component.CHILD_SUPPORT) is None


def test_worked_example_shows_every_member() -> None:
    p = premium(*worked_example().members)
    assert [(s.age, s.long_term_care_months, s.income.levy_base) for s in p.members] == [
        (50, 12, 2_570_000),
        (45, 12, 0),
        (20, 0, 0),
    ]


# Income that puts one component's 所得割 exactly on its cap: a 10 % rate on (income − 43万).
CAPS = [
    (2025, "medical", 660_000),
    (2025, "elderly_support", 260_000),
    (2025, "long_term_care", 170_000),
    (2026, "medical", 670_000),
    (2026, "elderly_support", 260_000),
    (2026, "long_term_care", 170_000),
    (2026, "child_support", 30_000),
]


def only(component: str, year: int, **rate: Any) -> dict[str, Any]:
    """Rates with every component zero except ``component`` (10 % 所得割, no 均等割・平等割)."""
    zero: dict[str, Any] = dict.fromkeys(("medical", "elderly_support", "long_term_care"), ZERO)
    if year >= 2026:
        zero["child_support"] = ZERO
    return zero | {component: {"income_rate": "10", "per_capita": 0, "per_household": 0} | rate}


@pytest.mark.parametrize(("year", "component", "cap"), CAPS)
@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_each_cap_one_yen_either_side(year: int, component: str, cap: int, delta: int) -> None:
    income = 430_000 + (cap + delta) * 10
    p = premium(
        member(50, fiscal_year=year, income=income),
        fiscal_year=year,
        **only(component, year, rounding="floor_1"),
    )
    c = part(p, Component(component))
    assert c.before_cap == cap + delta
    assert c.cap == cap
    assert c.cap_applied is (delta > 0)
    assert c.after_cap == min(cap, cap + delta)
    assert c.cap_excess == max(0, delta)
    assert c.amount == min(cap, cap + delta)


def test_a_municipality_may_set_a_lower_cap() -> None:
    p = premium(member(50, income=10_000_000), **only("medical", 2025, cap=600_000))
    medical = part(p, Component.MEDICAL)
    assert [medical.cap, medical.after_cap, medical.cap_applied] == [600_000, 600_000, True]


def test_preschool_child_pays_half_of_medical_and_support_per_capita() -> None:
    p = premium(member(35, income=5_000_000), member(3))
    medical = part(p, Component.MEDICAL)
    child = medical.shares[1]
    assert [child.per_capita_before_reduction, child.preschool_reduction, child.per_capita] == [
        30_200,
        15_100,
        15_100,
    ]
    assert medical.preschool_reduction == 15_100
    assert medical.per_capita == 30_200 + 15_100
    support = part(p, Component.ELDERLY_SUPPORT)
    assert support.shares[1].per_capita == 3_150
    assert p.members[1].preschool


def test_preschool_half_comes_after_the_7_wari_reduction() -> None:
    p = premium(member(35), member(3))
    medical = part(p, Component.MEDICAL)
    assert medical.reduction_rate == Decimal("0.7")
    child = medical.shares[1]
    # 30,200 × 0.3 = 9,060, halved: 4,530.
    assert child.reduction == 21_140
    assert child.preschool_reduction == 4_530
    assert child.per_capita == 4_530
    assert medical.per_household == Fraction(26_400 * 3, 10)


def test_a_six_year_old_in_school_pays_in_full() -> None:
    p = premium(member(35, income=5_000_000), Member(birth_date=dt.date(2018, 4, 1)))
    assert not p.members[1].preschool
    assert part(p, Component.MEDICAL).shares[1].per_capita == 30_200


def test_child_support_exempts_up_to_18_and_charges_adults_the_surcharge() -> None:
    # FY2026: parent 40, children 17 and 10 (exempt), 19 (pays).
    p = premium(
        member(40, fiscal_year=2026, income=5_430_000),
        member(17, fiscal_year=2026),
        member(10, fiscal_year=2026),
        member(19, fiscal_year=2026),
        fiscal_year=2026,
    )
    child = part(p, Component.CHILD_SUPPORT)
    assert [s.per_capita_rate for s in child.shares] == [1_900, 0, 0, 1_900]
    assert child.per_capita == 3_800
    # 0.3 % × (543万 − 43万) = 15,000; no reduction (2割 limit 43万 + 57万 × 4 = 271万).
    assert child.income_levy == 15_000
    assert child.reduction == 0
    assert child.after_cap == 18_800
    assert child.amount == 18_800
    assert [s.child_support_exempt for s in p.members] == [False, True, True, False]


def test_child_support_is_reduced_like_the_rest() -> None:
    p = premium(member(40, fiscal_year=2026), fiscal_year=2026)
    child = part(p, Component.CHILD_SUPPORT)
    assert child.reduction_rate == Decimal("0.7")
    assert child.per_capita == 570  # 1,900 × 0.3


def test_the_18_boundary_is_the_31_march_after_the_birthday() -> None:
    boundary = premium(
        member(40, fiscal_year=2026, income=5_000_000),
        Member(birth_date=dt.date(2008, 4, 1)),  # 18 attained 31 March 2026: an adult
        Member(birth_date=dt.date(2008, 4, 2)),  # attained 1 April 2026: exempt all year
        fiscal_year=2026,
    )
    assert [s.per_capita_rate for s in part(boundary, Component.CHILD_SUPPORT).shares] == [
        1_900,
        1_900,
        0,
    ]


def test_fy2025_has_no_child_support_component() -> None:
    p = premium(member(40, income=5_000_000), member(10))
    assert [c.component for c in p.components] == [
        Component.MEDICAL,
        Component.ELDERLY_SUPPORT,
        Component.LONG_TERM_CARE,
    ]


def test_a_household_without_anyone_40_to_64_pays_no_care_component() -> None:
    p = premium(member(30, income=3_000_000), member(28))
    care = part(p, Component.LONG_TERM_CARE)
    assert care.shares == ()
    assert [care.per_household, care.after_cap, care.amount, care.household_months] == [0, 0, 0, 0]


def test_move_in_during_the_year_prorates_the_whole_household() -> None:
    # A single person of 30 moves in in October: 6 months of 12.
    p = premium(member(30, income=3_000_000, months=6))
    medical = part(p, Component.MEDICAL)
    # (213,310 + 30,200 + 26,400) × 6/12 = 134,955
    assert medical.income_levy == Fraction(213_310, 2)
    assert medical.per_capita == 15_100
    assert medical.per_household == 13_200
    assert medical.after_cap == 134_955
    assert medical.amount == 134_900
    assert part(p, Component.ELDERLY_SUPPORT).after_cap == Fraction(43_690 + 6_300 + 5_400, 2)
    assert medical.household_months == 6
    assert medical.cap == 330_000  # the cap is prorated with the household


def test_a_household_joining_mid_year_has_its_cap_prorated() -> None:
    p = premium(member(50, income=20_000_000, months=3))
    medical = part(p, Component.MEDICAL)
    assert medical.cap == 165_000
    assert medical.after_cap == 165_000
    assert medical.cap_applied


def test_move_out_during_the_year_prorates_the_member_not_the_household() -> None:
    # The son (25, 所得 143万) moves out in September: insured April to August, 5 months.
    p = premium(member(50, income=3_000_000), member(25, income=1_430_000, months=5))
    medical = part(p, Component.MEDICAL)
    son = medical.shares[1]
    assert son.income_levy == Fraction(83_000 * 5, 12)  # 8.3 % × 100万 × 5/12
    assert son.per_capita == Fraction(30_200 * 5, 12)
    assert medical.per_household == 26_400  # the head is insured all year
    assert medical.cap == 660_000
    assert medical.after_cap == 213_310 + 30_200 + 26_400 + Fraction(83_000 * 5 + 30_200 * 5, 12)


def test_a_member_who_died_in_july_pays_april_to_june() -> None:
    # Died 10 July, so lost on 11 July: months April to June.
    p = premium(member(50, income=3_000_000), member(48, months=3))
    medical = part(p, Component.MEDICAL)
    assert medical.shares[1].per_capita == Fraction(30_200 * 3, 12)
    care = part(p, Component.LONG_TERM_CARE)
    assert care.shares[1].months == 3
    assert care.shares[1].per_capita == 2_350


def test_a_member_turning_75_in_october_pays_april_to_september() -> None:
    # 75th birthday 15 October 2025: 後期高齢者医療 from that day, NHI up to September.
    elder = Member(birth_date=dt.date(1950, 10, 15), pension_revenue=2_000_000, months=6)
    p = premium(member(70, pension_revenue=1_000_000), elder)
    medical = part(p, Component.MEDICAL)
    assert medical.shares[1].months == 6
    assert medical.shares[1].per_capita_before_reduction == 15_100
    # Still insured on 1 April, so counted by the reduction test (all year, as the input says).
    assert p.reduction.persons == 2
    assert part(p, Component.LONG_TERM_CARE).shares == ()


def test_turning_40_mid_year_starts_the_care_component() -> None:
    # 40 attained 14 October 2025: 介護分 October to March.
    p = premium(Member(birth_date=dt.date(1985, 10, 15), income=3_000_000))
    care = part(p, Component.LONG_TERM_CARE)
    assert care.household_months == 6
    assert care.income_levy == Fraction(56_540, 2)
    assert care.per_capita == 4_700
    assert care.per_household == 3_000
    assert care.cap == 85_000
    assert part(p, Component.MEDICAL).household_months == 12


def test_asset_levy_when_the_municipality_uses_it() -> None:
    rates = {
        "income_rate": "8.3",
        "per_capita": 30_200,
        "per_household": 26_400,
        "asset_rate": "25",
    }
    p = premium(member(50, income=3_000_000, asset_tax=80_000), medical=rates)
    medical = part(p, Component.MEDICAL)
    assert medical.asset_levy == 20_000
    assert medical.after_cap == 330_310 - 60_400 + 20_000
    # Without an asset rate there is no 資産割 whatever the 固定資産税額.
    plain = premium(member(50, income=3_000_000, asset_tax=80_000))
    assert part(plain, Component.MEDICAL).asset_levy == 0


@pytest.mark.parametrize(
    ("rounding", "amount"),
    [
        ("none", Fraction(224_925, 2)),
        ("floor_1", 112_462),
        ("floor_10", 112_460),
        ("floor_100", 112_400),
        ("floor_1000", 112_000),
    ],
)
def test_rounding_is_per_component_and_a_parameter(rounding: str, amount: Fraction) -> None:
    # 5 months of (213,310 + 30,200 + 26,400) = 269,910 × 5/12 = 112,462.5.
    medical_rates = {
        "income_rate": "8.3",
        "per_capita": 30_200,
        "per_household": 26_400,
        "rounding": rounding,
    }
    p = premium(member(30, income=3_000_000, months=5), medical=medical_rates)
    medical = part(p, Component.MEDICAL)
    assert medical.after_cap == Fraction(224_925, 2)
    assert medical.rounding is Rounding(rounding)
    assert medical.amount == amount
    # The other components keep the city's 100 yen: 55,390 × 5/12 = 23,079.16….
    assert part(p, Component.ELDERLY_SUPPORT).amount == 23_000
    assert p.total == amount + 23_000


def test_twelfths_add_up_exactly() -> None:
    # 1/12 + 11/12 of the same amount is the amount, to the yen, before any rounding.
    assert prorate(30_200, 1) + prorate(30_200, 11) == 30_200
    p = premium(member(50, income=3_000_000, months=1), member(45, months=11))
    medical = part(p, Component.MEDICAL)
    assert medical.per_capita == 30_200
