"""非課税 (tax.md "Non-taxable"): every boundary one yen either side, in each 級地."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tax.rules.assessment import assess
from tax.rules.exemption import ExemptionReason, grade_of
from tax.rules.facts import Disability, SingleParent
from tenancy.parameters import Kyuchi
from tests.tax.factories import case, dependent, spouse

# N = 1: single; 2: with a spouse; 3: with a spouse and a child under 16.
FAMILIES: dict[int, dict[str, Any]] = {
    1: {},
    2: {"spouse": spouse(0)},
    3: {"spouse": spouse(0), "dependents": (dependent(8),)},
}
# 均等割: 1級地 35万·N + 10万 + 21万, 2級地 31.5万·N + 10万 + 18.9万, 3級地 28万·N + 10万 +
# 16.8万 (the last add-on only with a spouse or dependant), worked out by hand.
PER_CAPITA_LIMITS = {
    (1, 1): 450_000,
    (1, 2): 1_010_000,
    (1, 3): 1_360_000,
    (2, 1): 415_000,
    (2, 2): 919_000,
    (2, 3): 1_234_000,
    (3, 1): 380_000,
    (3, 2): 828_000,
    (3, 3): 1_108_000,
}
# 所得割: 35万·N + 10万 + 32万 (single 45万), every 級地.
INCOME_LEVY_LIMITS = {1: 450_000, 2: 1_120_000, 3: 1_470_000}


def assessed(grade: int, size: int, income: int):
    return assess(case(grade=grade, business=income, **FAMILIES[size]))


@pytest.mark.parametrize(("grade", "size"), list(PER_CAPITA_LIMITS))
def test_per_capita_limit_one_yen_either_side(grade: int, size: int) -> None:
    limit = PER_CAPITA_LIMITS[grade, size]
    at = assessed(grade, size, limit)
    assert at.exemption.household_size == size
    assert at.exemption.per_capita_limit == limit
    assert at.exemption.per_capita_exempt
    assert at.exemption.reason == ExemptionReason.PER_CAPITA_LIMIT
    assert (at.per_capita_levy.total, at.per_capita_levy.forest_environment_tax) == (0, 0)
    assert at.total == 0

    above = assessed(grade, size, limit + 1)
    assert not above.exemption.per_capita_exempt
    assert (above.per_capita_levy.total, above.per_capita_levy.forest_environment_tax) == (
        4_000,
        1_000,
    )


@pytest.mark.parametrize("grade", [1, 2, 3])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_income_levy_limit_one_yen_either_side(grade: int, size: int) -> None:
    limit = INCOME_LEVY_LIMITS[size]
    at = assessed(grade, size, limit)
    assert at.exemption.income_levy_limit == limit
    assert at.exemption.income_levy_exempt
    assert at.income_levy.total == 0
    if not at.exemption.per_capita_exempt:
        assert at.exemption.reason == ExemptionReason.INCOME_LEVY_LIMIT
        assert at.total == 5_000  # 均等割 only, with 森林環境税
    above = assessed(grade, size, limit + 1)
    assert not above.exemption.income_levy_exempt
    assert above.exemption.reason is None


def test_grade_three_single_pays_per_capita_only_between_the_limits() -> None:
    result = assessed(3, 1, 400_000)
    assert not result.exemption.per_capita_exempt
    assert result.exemption.income_levy_exempt
    assert result.exemption.label == (
        "総所得金額等が所得割の非課税限度額以下のため所得割は非課税（均等割のみ課税）"
    )
    assert result.total == 5_000


def test_a_spouse_or_relative_over_the_income_limit_does_not_count() -> None:
    result = assess(
        case(business=500_000, spouse=spouse(580_001), dependents=(dependent(30, 600_000),))
    )
    assert result.exemption.household_size == 1


def test_children_under_16_count_for_the_limit() -> None:
    result = assess(case(business=1_000_000, dependents=(dependent(5), dependent(8))))
    assert result.exemption.household_size == 3
    assert result.deductions.dependent_deduction == 0


@pytest.mark.parametrize(
    ("kyuchi", "grade"),
    [
        (Kyuchi.K1_1, 1),
        (Kyuchi.K1_2, 1),
        (Kyuchi.K2_1, 2),
        (Kyuchi.K2_2, 2),
        (Kyuchi.K3_1, 3),
        (Kyuchi.K3_2, 3),
    ],
)
def test_grade_of_the_tenant_kyuchi(kyuchi: Kyuchi, grade: int) -> None:
    assert grade_of(kyuchi) == grade


def test_livelihood_assistance_exempts_whatever_the_income() -> None:
    result = assess(case(salary=10_000_000, livelihood_assistance=True))
    assert result.exemption.reason == ExemptionReason.LIVELIHOOD_ASSISTANCE
    assert (result.exemption.per_capita_exempt, result.exemption.income_levy_exempt) == (True, True)
    assert result.total == 0


@pytest.mark.parametrize(
    "status",
    [
        {"disability": Disability.ORDINARY},
        {"disability": Disability.SPECIAL},
        {"widow": True},
        {"single_parent": SingleParent.MOTHER},
        {"single_parent": SingleParent.FATHER},
    ],
)
def test_personal_status_up_to_135man(status: dict[str, Any]) -> None:
    at = assess(case(business=1_350_000, **status))
    assert at.exemption.reason == ExemptionReason.PERSONAL_STATUS
    assert at.total == 0
    above = assess(case(business=1_350_001, **status))
    assert above.exemption.reason is None
    assert above.total > 0


def test_a_minor_is_judged_on_the_assessment_date() -> None:
    # FY2026: 17 on 1 January 2026 is a minor; born a day earlier is 18 that day.
    minor = assess(case(business=1_350_000, birth_date=dt.date(2008, 1, 3)))
    assert minor.exemption.reason == ExemptionReason.PERSONAL_STATUS
    adult = assess(case(business=1_350_000, birth_date=dt.date(2008, 1, 2)))
    assert adult.exemption.reason is None
    assert adult.total > 0
    over = assess(case(business=1_350_001, birth_date=dt.date(2008, 1, 3)))
    assert over.exemption.reason is None


def test_relief_just_above_the_limit_for_a_family_with_young_children() -> None:
    # N = 4 (spouse + two children under 16): limit 35万 × 4 + 10万 + 32万 = 182万.
    family: dict[str, Any] = {"spouse": spouse(0), "dependents": (dependent(5), dependent(8))}
    result = assess(case(business=1_830_000, **family))
    levy = result.income_levy
    assert result.exemption.income_levy_limit == 1_820_000
    # taxable 1,070,000 → 64,200 + 42,800, 調整控除 3,000 + 2,000 → 102,000, capped at 10,000.
    assert (levy.municipal_after_credit, levy.prefectural_after_credit) == (61_200, 40_800)
    assert levy.relief == 92_000
    assert (levy.municipal, levy.prefectural) == (6_000, 4_000)
    assert result.total == 10_000 + 5_000
