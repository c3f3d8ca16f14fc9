"""The premium's integer arithmetic against the law's formula in plain ``Fraction`` s.

nhi.rules.premium keeps every amount as an integer over one denominator for speed; this checks it
against a compact reference written from nhi.md (not from the module) on a few thousand seeded
households: ages around every boundary (未就学児, 18, 40, 65, 75), incomes on and one yen either
side of each reduction limit and above the caps, 1–12 months, FY2025 and FY2026, every rounding.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from nhi.assessment_worker import summary
from nhi.rules.ages import child_support_exempt, long_term_care_months, preschool
from nhi.rules.facts import Household, Member
from nhi.rules.income import member_income
from nhi.rules.parameters import Component, NhiParameters, load_parameters
from nhi.rules.premium import assess, common_scale
from nhi.rules.rates import ChildSupportRates, NhiRates, Rounding
from nhi.rules.reduction import reduction_test
from tax.rules.parameters import TaxParameters
from tax.rules.parameters import load_parameters as load_tax_parameters

SEED = 20260401
HOUSEHOLDS = 3_000
YEARS = (2025, 2026)


@dataclass(frozen=True)
class Expected:
    income_levy: Fraction
    per_capita: Fraction
    per_household: Fraction
    before_cap: Fraction
    cap: Fraction
    after_cap: Fraction
    amount: Fraction


def reference(
    household: Household, rates: NhiRates, params: NhiParameters, tax: TaxParameters
) -> tuple[Decimal, dict[Component, Expected]]:
    """nhi.md, all in one: 月割 of 所得割・資産割・均等割・平等割, 軽減, 未就学児, cap, 端数処理."""
    members = household.members
    incomes = [member_income(m, params, tax) for m in members]
    counted = [i for i, m in enumerate(members) if i == 0 or m.insured or m.former_insured]
    test = reduction_test(
        [incomes[i].reduction_income for i in counted],
        sum(1 for i in counted if incomes[i].salary_earner),
        sum(1 for m in members if m.insured or m.former_insured),
        params,
    )
    kept = 1 - Fraction(test.rate)  # what the 7割・5割・2割軽減 leaves
    expected = {}
    for component in params.component_order:
        r = rates.for_component(component)
        assert r is not None
        income_rate = Fraction(r.income_rate) / 100
        asset_rate = Fraction(r.asset_rate or 0) / 100
        income_levy = asset_levy = per_capita = Fraction(0)
        household_months = 0
        for m, income in zip(members, incomes, strict=True):
            months = m.months if m.insured else 0
            if component is Component.LONG_TERM_CARE:
                months = min(months, long_term_care_months(m.birth_date, params))
            if months == 0:
                continue
            household_months = max(household_months, months)
            share = Fraction(months, 12)
            income_levy += income_rate * income.levy_base * share
            asset_levy += asset_rate * m.asset_tax * share
            annual = r.per_capita
            if component is Component.CHILD_SUPPORT:
                exempt = child_support_exempt(m.birth_date, params)
                adult = r.adult_per_capita if isinstance(r, ChildSupportRates) else 0
                annual = 0 if exempt else r.per_capita + adult
            amount = annual * share * kept
            if component in (Component.MEDICAL, Component.ELDERLY_SUPPORT) and preschool(
                m.birth_date, params
            ):
                amount *= Fraction(params.preschool_share)
            per_capita += amount
        per_household = r.per_household * Fraction(household_months, 12) * kept
        before_cap = income_levy + asset_levy + per_capita + per_household
        national = params.components[component].national_cap
        cap = (national if r.cap is None else r.cap) * Fraction(household_months, 12)
        after_cap = min(before_cap, cap)
        unit = r.rounding.unit
        rounded = (
            max(Fraction(0), after_cap)
            if unit is None
            else Fraction(max(0, math.floor(after_cap) // unit * unit))
        )
        expected[component] = Expected(
            income_levy, per_capita, per_household, before_cap, cap, after_cap, rounded
        )
    return test.rate, expected


def _rate_set(rnd: random.Random, year: int) -> NhiRates:
    def percent(most: int = 15) -> str:
        # Up to PERCENT_PLACES (4) decimals, so the common denominator changes with the set.
        places = rnd.choice([0, 1, 2, 3, 4])
        return str(Decimal(rnd.randint(0, most * 10**places)).scaleb(-places))

    def component(cap: int | None) -> dict[str, Any]:
        return {
            "income_rate": percent(),
            "per_capita": rnd.choice([0, 6_300, 30_200, rnd.randint(0, 60_000)]),
            "per_household": rnd.choice([0, 5_400, 26_400, rnd.randint(0, 60_000)]),
            "asset_rate": rnd.choice([None, None, "30", percent(50)]),
            "cap": cap,
            "rounding": rnd.choice(list(Rounding)).value,
        }

    def lower_cap(national: int) -> int | None:
        return rnd.choice([None, None, rnd.randint(0, national)])

    params = load_parameters(year)
    caps = {c: p.national_cap for c, p in params.components.items()}
    data: dict[str, Any] = {
        c.value: component(lower_cap(caps[c]))
        for c in (Component.MEDICAL, Component.ELDERLY_SUPPORT, Component.LONG_TERM_CARE)
    }
    if year >= 2026:
        data["child_support"] = component(lower_cap(caps[Component.CHILD_SUPPORT])) | {
            "adult_per_capita": rnd.choice([0, 100, rnd.randint(0, 5_000)])
        }
    return NhiRates.model_validate(data)


def _birth_date(rnd: random.Random, year: int) -> dt.date:
    """Around every age boundary, often on the 1st of a month (a birthday on the 1st moves the
    month an age is attained in), sometimes on 29 February."""
    age = rnd.choice([0, 1, 5, 6, 7, 17, 18, 19, 30, 39, 40, 41, 50, 64, 65, 66, 73, 74, 75, 80])
    day = dt.date(year - age, 4, 1) + dt.timedelta(days=rnd.randint(-400, 400))
    if rnd.random() < 0.2:
        day = day.replace(day=1)
    if rnd.random() < 0.02:
        day = dt.date(2012 if age < 20 else 1960, 2, 29)
    return day


def _household(rnd: random.Random, year: int, params: NhiParameters) -> Household:
    people = []
    for _ in range(rnd.choice([1, 1, 2, 2, 3, 4, 6])):
        birth = _birth_date(rnd, year)
        insured = rnd.random() < 0.85
        people.append(
            Member(
                birth_date=birth,
                income=rnd.choice([0, 0, rnd.randint(0, 3_000_000), rnd.randint(0, 30_000_000)]),
                salary_revenue=rnd.choice([0, 0, 550_000, 550_001, rnd.randint(0, 9_000_000)]),
                pension_revenue=rnd.choice([0, 0, 600_001, 1_250_001, rnd.randint(0, 4_000_000)]),
                insured=insured,
                months=rnd.choice([12, 12, 12, rnd.randint(1, 12)]),
                asset_tax=rnd.choice([0, 0, rnd.randint(0, 500_000)]),
                former_insured=not insured and rnd.random() < 0.5,
            )
        )
    if rnd.random() < 0.4:
        # Only the head has income (other income, counted as it is): put the household's
        # 軽減判定所得 on one of its limits or one yen either side.
        people = [replace(m, income=0, salary_revenue=0, pension_revenue=0) for m in people]
        persons = sum(1 for m in people if m.insured or m.former_insured)
        rule = params.reduction
        limit = rule.base + rnd.choice(rule.tiers).per_person * persons
        people[0] = replace(people[0], income=max(0, limit + rnd.choice([-1, 0, 1])))
    return Household(year, tuple(people))


def _cases() -> list[tuple[Household, NhiRates]]:
    rnd = random.Random(SEED)  # noqa: S311 — seeded for repeatable cases, not secrecy
    # A few rate sets per year, assessed in random order: the per-rate-set cache must never
    # carry one set's figures into another's households.
    rate_sets = {year: [_rate_set(rnd, year) for _ in range(6)] for year in YEARS}
    cases = []
    for _ in range(HOUSEHOLDS):
        year = rnd.choice(YEARS)
        cases.append((_household(rnd, year, load_parameters(year)), rnd.choice(rate_sets[year])))
    return cases


def test_every_component_matches_the_fraction_formula() -> None:
    reductions: set[Decimal] = set()
    capped = preschoolers = on_a_limit = 0
    for household, rates in _cases():
        year = household.fiscal_year
        params, tax = load_parameters(year), load_tax_parameters(year)
        premium = assess(household, rates, params, tax)
        on_a_limit += any(
            lim.limit == premium.reduction.household_income for lim in premium.reduction.limits
        )
        rate, expected = reference(household, rates, params, tax)
        assert premium.reduction.rate == rate, household
        reductions.add(rate)
        assert [c.component for c in premium.components] == list(expected)
        for c in premium.components:
            want = expected[c.component]
            got = Expected(
                c.income_levy, c.per_capita, c.per_household, c.before_cap, c.cap, c.after_cap,
                c.amount,
            )  # fmt: skip
            assert got == want, (household, rates, c.component)
            assert c.per_capita == sum((s.per_capita for s in c.shares), Fraction(0))
            assert c.cap_excess == want.before_cap - want.after_cap
            capped += c.cap_applied
            preschoolers += c.preschool_reduction > 0
        assert premium.total == sum((e.amount for e in expected.values()), Fraction(0))
        assert summary(premium) == (
            {c.value: math.floor(e.amount) for c, e in expected.items()},
            str(rate),
        )
    # The cases reach what they are meant to: every reduction, the caps, 未就学児.
    assert reductions == {Decimal("0.7"), Decimal("0.5"), Decimal("0.2"), Decimal(0)}
    assert capped > 100 and preschoolers > 100 and on_a_limit > 100


@pytest.mark.parametrize("year", YEARS)
def test_the_denominator_follows_the_rates(year: int) -> None:
    params = load_parameters(year)
    rnd = random.Random(SEED + year)  # noqa: S311 — seeded, as above
    for _ in range(50):
        rates = _rate_set(rnd, year)
        scale = common_scale(rates, params)
        assert scale.denominator == 12 * scale.per_month
        for r in (rates.medical, rates.elderly_support, rates.long_term_care):
            assert scale.per_month * Fraction(r.income_rate) / 100 % 1 == 0
        # 未就学児 after 7割: 0.3 × 0.5 of a yen-month is a whole number of units.
        assert scale.per_month * Fraction(3, 10) * Fraction(params.preschool_share) % 1 == 0
