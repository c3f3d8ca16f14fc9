"""Facts for the tax tests: a household in a few keywords, ages given as ages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tax.rules.facts import (
    Case,
    Dependent,
    Disability,
    Income,
    IncomeKind,
    Spouse,
    Taxpayer,
)


def born(age: int, fiscal_year: int = 2026) -> dt.date:
    """A birth date giving ``age`` on 31 December of the income year (mid-year, no edge)."""
    return dt.date(fiscal_year - 1 - age, 6, 1)


def case(
    *,
    fiscal_year: int = 2026,
    grade: int = 1,
    prefecture: str = "東京都",
    designated_city: bool = False,
    salary: int = 0,
    pension: int = 0,
    business: int = 0,
    real_estate: int = 0,
    miscellaneous: int = 0,
    age: int = 40,
    spouse: Spouse | None = None,
    dependents: tuple[Dependent, ...] = (),
    **taxpayer: Any,
) -> Case:
    amounts = {
        IncomeKind.SALARY: salary,
        IncomeKind.PUBLIC_PENSION: pension,
        IncomeKind.BUSINESS: business,
        IncomeKind.REAL_ESTATE: real_estate,
        IncomeKind.MISCELLANEOUS: miscellaneous,
    }
    incomes = tuple(Income(kind, amount) for kind, amount in amounts.items() if amount)
    taxpayer.setdefault("birth_date", born(age, fiscal_year))
    return Case(
        fiscal_year=fiscal_year,
        grade=grade,
        prefecture=prefecture,
        designated_city=designated_city,
        taxpayer=Taxpayer(incomes=incomes, **taxpayer),
        spouse=spouse,
        dependents=dependents,
    )


def spouse(income: int = 0, age: int = 40, fiscal_year: int = 2026) -> Spouse:
    return Spouse(born(age, fiscal_year), income)


def dependent(
    age: int,
    income: int = 0,
    *,
    lives_with: bool = False,
    disability: Disability = Disability.NONE,
    fiscal_year: int = 2026,
) -> Dependent:
    return Dependent(born(age, fiscal_year), income, lives_with, disability)


def body(**over: Any) -> dict[str, Any]:
    """The API/CLI input of tax.md's worked example, with overrides."""
    base: dict[str, Any] = {
        "fiscal_year": 2026,
        "grade": 1,
        "prefecture": "東京都",
        "designated_city": False,
        "taxpayer": {
            "birth_date": "1985-05-01",
            "incomes": [{"kind": "salary", "revenue": 5_000_000}],
            "social_insurance": 750_000,
        },
        "spouse": None,
        "dependents": [],
    }
    return base | over
