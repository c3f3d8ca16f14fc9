"""Properties of the premium over generated households (Hypothesis)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from nhi.rules.facts import Household, Member
from nhi.rules.premium import assess
from nhi.rules.rates import NhiRates, Rounding
from tests.nhi.premium_support import CHILD_SUPPORT_RATES

YEARS = st.sampled_from([2025, 2026])


@st.composite
def members(draw: st.DrawFn, fiscal_year: int) -> Member:
    # Born between 1951-04-02 and the start of the year: under 75 all year, so any months fit.
    birth = draw(st.dates(dt.date(fiscal_year - 74, 4, 2), dt.date(fiscal_year, 4, 1)))
    return Member(
        birth_date=birth,
        income=draw(st.integers(0, 30_000_000)),
        salary_revenue=draw(st.sampled_from([0, 550_000, 550_001, 1_000_000, 8_000_000])),
        pension_revenue=draw(st.sampled_from([0, 600_001, 1_250_001, 3_000_000])),
        insured=draw(st.booleans()),
        months=draw(st.integers(1, 12)),
        asset_tax=draw(st.integers(0, 500_000)),
    )


@st.composite
def component_rates(draw: st.DrawFn) -> dict[str, object]:
    return {
        "income_rate": str(draw(st.decimals("0", "15", places=3))),
        "per_capita": draw(st.integers(0, 60_000)),
        "per_household": draw(st.integers(0, 60_000)),
        "asset_rate": draw(st.none() | st.just("30")),
        "rounding": draw(st.sampled_from(list(Rounding))).value,
    }


@st.composite
def cases(draw: st.DrawFn) -> tuple[Household, NhiRates]:
    year = draw(YEARS)
    people = draw(st.lists(members(year), min_size=1, max_size=6))
    # At least one insured member, as the simulation requires.
    people[-1] = replace(people[-1], insured=True)
    data = {c: draw(component_rates()) for c in ("medical", "elderly_support", "long_term_care")}
    if year >= 2026:
        data["child_support"] = CHILD_SUPPORT_RATES | {
            "rounding": draw(component_rates())["rounding"]
        }
    return Household(year, tuple(people)), NhiRates.model_validate(data)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_never_negative_and_every_component_a_multiple_of_its_unit(
    case: tuple[Household, NhiRates],
) -> None:
    household, rates = case
    p = assess(household, rates)
    assert p.total >= 0
    for c in p.components:
        assert 0 <= c.amount <= c.after_cap <= c.before_cap
        assert c.after_cap <= c.cap
        unit = c.rounding.unit
        if unit is not None:
            assert c.amount.denominator == 1
            assert c.amount % unit == 0
            assert c.after_cap - c.amount < unit


@settings(max_examples=150, deadline=None)
@given(cases(), st.data())
def test_never_decreasing_as_one_members_income_grows(
    case: tuple[Household, NhiRates], data: st.DataObject
) -> None:
    household, rates = case
    index = data.draw(st.integers(0, len(household.members) - 1))
    extra = data.draw(st.integers(1, 5_000_000))
    richer_member = replace(
        household.members[index], income=household.members[index].income + extra
    )
    richer = Household(
        household.fiscal_year,
        (*household.members[:index], richer_member, *household.members[index + 1 :]),
    )
    before, after = assess(household, rates), assess(richer, rates)
    assert after.total >= before.total
    assert after.total_before_rounding >= before.total_before_rounding
    for old, new in zip(before.components, after.components, strict=True):
        assert new.amount >= old.amount
