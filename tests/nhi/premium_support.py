"""Households and rates for the premium tests: ages given as ages, nhi.md's city as the default."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nhi.rules.facts import Household, Member
from nhi.rules.premium import HouseholdPremium, assess
from nhi.rules.rates import NhiRates

# nhi.md "Test data": one real city's FY2025 rates (平等割 / 均等割 / 所得割 / cap).
CITY_RATES: dict[str, Any] = {
    "medical": {"income_rate": "8.3", "per_capita": 30200, "per_household": 26400},
    "elderly_support": {"income_rate": "1.7", "per_capita": 6300, "per_household": 5400},
    "long_term_care": {"income_rate": "2.2", "per_capita": 9400, "per_household": 6000},
}
# nhi.md: one city's FY2026 proposal for 子ども・子育て支援金分 (所得割 0.3%, 均等割 1,800 + 100
# for each insured adult, cap 3万).
CHILD_SUPPORT_RATES: dict[str, Any] = {
    "income_rate": "0.3",
    "per_capita": 1800,
    "adult_per_capita": 100,
    "per_household": 0,
    "cap": 30000,
}
ZERO: dict[str, Any] = {"income_rate": "0", "per_capita": 0, "per_household": 0}


def rates_dict(fiscal_year: int = 2025, **over: dict[str, Any]) -> dict[str, Any]:
    """The city's rates; FY2026 adds the child-support component. ``over`` replaces components."""
    data: dict[str, Any] = dict(CITY_RATES)
    if fiscal_year >= 2026:
        data["child_support"] = CHILD_SUPPORT_RATES
    return data | over


def rates(fiscal_year: int = 2025, **over: dict[str, Any]) -> NhiRates:
    return NhiRates.model_validate(rates_dict(fiscal_year, **over))


def born(age: int, fiscal_year: int = 2025) -> dt.date:
    """A birth date giving ``age`` all through the fiscal year (attained on 1 April)."""
    return dt.date(fiscal_year - age, 4, 2)


def member(age: int, fiscal_year: int = 2025, **fields: Any) -> Member:
    return Member(birth_date=born(age, fiscal_year), **fields)


def household(*members: Member, fiscal_year: int = 2025) -> Household:
    return Household(fiscal_year=fiscal_year, members=members)


def worked_example() -> Household:
    """nhi.md: ages 50, 45, 20; the head's 所得 300万, the others none."""
    return household(member(50, income=3_000_000), member(45), member(20))


def premium(*members: Member, fiscal_year: int = 2025, **over: dict[str, Any]) -> HouseholdPremium:
    return assess(household(*members, fiscal_year=fiscal_year), rates(fiscal_year, **over))


def body(fiscal_year: int = 2025, **over: Any) -> dict[str, Any]:
    """The worked example as the simulation's JSON body."""
    data: dict[str, Any] = {
        "fiscal_year": fiscal_year,
        "rates": rates_dict(fiscal_year),
        "members": [
            {"birth_date": born(50, fiscal_year).isoformat(), "income": 3_000_000},
            {"birth_date": born(45, fiscal_year).isoformat()},
            {"birth_date": born(20, fiscal_year).isoformat()},
        ],
    }
    return data | over
