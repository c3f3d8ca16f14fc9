"""Whole assessments: tax.md's worked example, cities, surcharges, years, and properties."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tax.rules.assessment import assess
from tax.rules.facts import (
    Case,
    Dependent,
    Disability,
    Income,
    IncomeKind,
    SingleParent,
    Spouse,
    Taxpayer,
)
from tax.rules.parameters import PREFECTURES
from tests.tax.factories import born, case, dependent, spouse

WORKED: dict[str, Any] = {"salary": 5_000_000, "social_insurance": 750_000}


def test_worked_example_of_tax_md() -> None:
    result = assess(case(**WORKED))
    assert result.income.salary_income == 3_560_000
    assert result.deductions.income_deductions == 1_180_000
    assert result.taxable_income == 2_380_000
    levy = result.income_levy
    assert (levy.municipal_computed, levy.prefectural_computed) == (142_800, 95_200)
    assert (result.adjustment_credit.municipal, result.adjustment_credit.prefectural) == (
        1_500,
        1_000,
    )
    assert (levy.municipal, levy.prefectural) == (141_300, 94_200)
    assert result.per_capita_levy.total == 4_000
    assert result.per_capita_levy.forest_environment_tax == 1_000
    assert result.total == 240_500


def test_designated_city_splits_eight_to_two() -> None:
    result = assess(case(designated_city=True, **WORKED))
    levy = result.income_levy
    assert (levy.municipal_computed, levy.prefectural_computed) == (190_400, 47_600)
    assert (levy.municipal, levy.prefectural) == (188_400, 47_100)
    assert result.total == 240_500  # the split moves, the sum does not


def test_surcharge_prefecture() -> None:
    assert assess(case(prefecture="静岡県", **WORKED)).total == 240_900
    assert assess(case(prefecture="秋田県", **WORKED)).total == 241_300
    # 神奈川県 adds 300 to 均等割 and 0.025% to 所得割 (2,380,000 × 0.025% = 595).
    kanagawa = assess(case(prefecture="神奈川県", **WORKED))
    assert kanagawa.income_levy.prefectural == 94_700
    assert kanagawa.total == 240_500 + 500 + 300


def test_both_fiscal_years_where_the_salary_table_differs() -> None:
    old = assess(case(fiscal_year=2025, salary=1_800_000))
    new = assess(case(fiscal_year=2026, salary=1_800_000))
    assert (old.income.salary_income, new.income.salary_income) == (1_180_000, 1_150_000)
    assert (old.taxable_income, new.taxable_income) == (750_000, 720_000)
    assert (old.income_levy.total, new.income_levy.total) == (72_500, 69_500)
    assert (old.total, new.total) == (77_500, 74_500)


def test_both_fiscal_years_where_the_dependant_limit_differs() -> None:
    family: dict[str, Any] = {"salary": 6_000_000, "social_insurance": 900_000}
    old = assess(
        case(fiscal_year=2025, dependents=(dependent(20, 500_000, fiscal_year=2025),), **family)
    )
    new = assess(case(fiscal_year=2026, dependents=(dependent(20, 500_000),), **family))
    assert old.deductions.dependent_deduction == 0
    assert new.deductions.dependent_deduction == 450_000
    assert new.total < old.total


def test_high_salary_with_a_child_gets_the_income_adjustment() -> None:
    result = assess(case(salary=9_000_000, dependents=(dependent(10),)))
    assert result.income.income_adjustment_deduction == 50_000
    assert result.income.salary_income == 7_050_000 - 50_000


def test_pensioner_aged_65() -> None:
    result = assess(case(pension=2_000_000, age=70, social_insurance=150_000))
    assert result.income.pension_income == 900_000
    assert result.taxable_income == 320_000
    # 19,200 + 12,800 − (5万 × 3%, 2%) = 17,700 + 11,800.
    assert result.income_levy.total == 29_500
    assert result.total == 34_500


# --- properties ---------------------------------------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Any household the simulation accepts, with a salary to raise."""
    fiscal_year = draw(st.sampled_from([2025, 2026]))

    def person_born(low: int, high: int):
        return st.integers(low, high).map(lambda age: born(age, fiscal_year))

    relatives = st.builds(
        Dependent,
        person_born(0, 95),
        st.integers(0, 1_500_000),
        st.booleans(),
        st.sampled_from(Disability),
    )
    incomes = (
        Income(IncomeKind.SALARY, draw(st.integers(0, 30_000_000))),
        Income(IncomeKind.PUBLIC_PENSION, draw(st.integers(0, 5_000_000))),
        Income(IncomeKind.BUSINESS, draw(st.integers(0, 3_000_000))),
    )
    return Case(
        fiscal_year=fiscal_year,
        grade=draw(st.integers(1, 3)),
        prefecture=draw(st.sampled_from(PREFECTURES)),
        designated_city=draw(st.booleans()),
        taxpayer=Taxpayer(
            birth_date=draw(person_born(16, 95)),
            incomes=incomes,
            social_insurance=draw(st.integers(0, 2_000_000)),
            disability=draw(st.sampled_from(Disability)),
            widow=draw(st.booleans()),
            single_parent=draw(st.sampled_from(SingleParent)),
            working_student=draw(st.booleans()),
            livelihood_assistance=draw(st.booleans()),
        ),
        spouse=draw(st.none() | st.builds(Spouse, person_born(18, 95), st.integers(0, 2_000_000))),
        dependents=tuple(draw(st.lists(relatives, max_size=4))),
    )


PROPERTY = settings(max_examples=300, deadline=None, database=None)


def _levies(result) -> list[int]:
    return [
        result.income_levy.municipal,
        result.income_levy.prefectural,
        result.per_capita_levy.municipal,
        result.per_capita_levy.prefectural,
        result.per_capita_levy.forest_environment_tax,
    ]


@PROPERTY
@given(cases())
def test_tax_is_never_negative(c: Case) -> None:
    result = assess(c)
    assert result.total >= 0
    assert all(levy >= 0 for levy in _levies(result))


@PROPERTY
@given(cases())
def test_each_levy_is_a_multiple_of_100_and_taxable_income_of_1000(c: Case) -> None:
    result = assess(c)
    assert all(levy % 100 == 0 for levy in _levies(result))
    assert result.taxable_income % 1_000 == 0
    assert result.total == sum(_levies(result))


def _with_salary(c: Case, salary: int) -> Case:
    incomes = tuple(
        Income(i.kind, salary) if i.kind == IncomeKind.SALARY else i for i in c.taxpayer.incomes
    )
    return dataclasses.replace(c, taxpayer=dataclasses.replace(c.taxpayer, incomes=incomes))


@PROPERTY
@given(cases(), st.integers(0, 3_000_000))
def test_tax_never_decreases_as_salary_revenue_grows(c: Case, raise_by: int) -> None:
    salary = next(i.revenue for i in c.taxpayer.incomes if i.kind == IncomeKind.SALARY)
    before = assess(_with_salary(c, salary)).total
    after = assess(_with_salary(c, salary + raise_by)).total
    assert after >= before


@PROPERTY
@given(cases(), st.integers(0, 1_000))
def test_tax_never_decreases_for_a_small_raise(c: Case, raise_by: int) -> None:
    # Small steps find the edges of tables and limits that big steps jump over.
    salary = next(i.revenue for i in c.taxpayer.incomes if i.kind == IncomeKind.SALARY)
    assert assess(_with_salary(c, salary + raise_by)).total >= assess(_with_salary(c, salary)).total


def test_spouse_and_dependants_lower_the_tax() -> None:
    alone = assess(case(**WORKED)).total
    family = assess(
        case(spouse=spouse(0), dependents=(dependent(17), dependent(20)), **WORKED)
    ).total
    assert family < alone
