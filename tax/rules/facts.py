"""The facts a calculation starts from: who the taxpayer is, what they earned, their family.

Plain frozen dataclasses so the rules stay independent of any API schema or ORM row.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any


class IncomeKind(enum.StrEnum):
    """The kinds of income the simulation takes (所得の種類)."""

    SALARY = "salary"  # 給与 (revenue; the income follows from 所得税法別表第五)
    PUBLIC_PENSION = "public_pension"  # 公的年金等 (revenue; 公的年金等控除 applies)
    BUSINESS = "business"  # 事業所得
    REAL_ESTATE = "real_estate"  # 不動産所得
    MISCELLANEOUS = "miscellaneous"  # 雑所得 other than public pensions


# Kinds whose amount is taken as the income itself: the simulation has no field for 必要経費,
# so for these the caller gives 収入金額 − 必要経費.
NET_INCOME_KINDS = frozenset(
    {IncomeKind.BUSINESS, IncomeKind.REAL_ESTATE, IncomeKind.MISCELLANEOUS}
)


class Disability(enum.StrEnum):
    """障害者の区分 (地方税法292条の定義: 障害者・特別障害者)."""

    NONE = "none"
    ORDINARY = "ordinary"  # 障害者
    SPECIAL = "special"  # 特別障害者


class SingleParent(enum.StrEnum):
    """ひとり親: the 人的控除差 of 調整控除 differs for a mother and a father."""

    NONE = "none"
    MOTHER = "mother"
    FATHER = "father"


@dataclass(frozen=True)
class Income:
    kind: IncomeKind
    revenue: int


@dataclass(frozen=True)
class Taxpayer:
    birth_date: dt.date
    incomes: tuple[Income, ...] = ()
    social_insurance: int = 0
    disability: Disability = Disability.NONE
    widow: bool = False
    single_parent: SingleParent = SingleParent.NONE
    working_student: bool = False
    livelihood_assistance: bool = False


@dataclass(frozen=True)
class Spouse:
    birth_date: dt.date
    income: int = 0  # 合計所得金額


@dataclass(frozen=True)
class Dependent:
    """A relative in the taxpayer's household (生計を一にする親族), dependant or not."""

    birth_date: dt.date
    income: int = 0  # 合計所得金額
    lives_with: bool = False  # 同居: decides 同居老親等 and 同居特別障害者
    disability: Disability = Disability.NONE


@dataclass(frozen=True)
class Case:
    """Everything one assessment needs."""

    fiscal_year: int
    grade: int  # 級地 1–3 (the number of the tenant's ``kyuchi``)
    prefecture: str
    designated_city: bool
    taxpayer: Taxpayer
    spouse: Spouse | None = None
    dependents: tuple[Dependent, ...] = field(default_factory=tuple)


def case_to_json(case: Case) -> dict[str, Any]:
    """The case as JSON-ready data, kept with a stored assessment so its documents can be
    printed from the same facts (hand-written: ~20× cheaper than dataclasses.asdict)."""
    t = case.taxpayer
    return {
        "fiscal_year": case.fiscal_year,
        "grade": case.grade,
        "prefecture": case.prefecture,
        "designated_city": case.designated_city,
        "taxpayer": {
            "birth_date": t.birth_date.isoformat(),
            "incomes": [[i.kind.value, i.revenue] for i in t.incomes],
            "social_insurance": t.social_insurance,
            "disability": t.disability.value,
            "widow": t.widow,
            "single_parent": t.single_parent.value,
            "working_student": t.working_student,
            "livelihood_assistance": t.livelihood_assistance,
        },
        "spouse": (
            [case.spouse.birth_date.isoformat(), case.spouse.income] if case.spouse else None
        ),
        "dependents": [
            [d.birth_date.isoformat(), d.income, d.lives_with, d.disability.value]
            for d in case.dependents
        ],
    }


def case_from_json(data: dict[str, Any]) -> Case:
    """The inverse of :func:`case_to_json`."""
    t = data["taxpayer"]
    spouse = data["spouse"]
    return Case(
        fiscal_year=data["fiscal_year"],
        grade=data["grade"],
        prefecture=data["prefecture"],
        designated_city=data["designated_city"],
        taxpayer=Taxpayer(
            birth_date=dt.date.fromisoformat(t["birth_date"]),
            incomes=tuple(Income(IncomeKind(k), r) for k, r in t["incomes"]),
            social_insurance=t["social_insurance"],
            disability=Disability(t["disability"]),
            widow=t["widow"],
            single_parent=SingleParent(t["single_parent"]),
            working_student=t["working_student"],
            livelihood_assistance=t["livelihood_assistance"],
        ),
        spouse=Spouse(dt.date.fromisoformat(spouse[0]), spouse[1]) if spouse else None,
        dependents=tuple(
            Dependent(dt.date.fromisoformat(b), i, w, Disability(d))
            for b, i, w, d in data["dependents"]
        ),
    )
