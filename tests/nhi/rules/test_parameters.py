"""Parameter files: both fiscal years load with nhi.md's caps and thresholds; bad files refused."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from nhi.rules.parameters import (
    PARAMS_DIR,
    Component,
    NhiParameters,
    UnsupportedFiscalYear,
    load_parameters,
    supported_fiscal_years,
)


def raw(year: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PARAMS_DIR / f"fy{year}.json").read_text("utf-8"))
    return data


def test_both_fiscal_years_are_supported() -> None:
    assert supported_fiscal_years() == (2025, 2026)
    for year in (2025, 2026):
        assert load_parameters(year).fiscal_year == year


def test_an_unknown_fiscal_year_is_refused() -> None:
    with pytest.raises(UnsupportedFiscalYear):
        load_parameters(2024)


def test_the_fiscal_year_runs_april_to_march() -> None:
    params = load_parameters(2026)
    assert params.fiscal_year_start == dt.date(2026, 4, 1)
    assert params.fiscal_year_end == dt.date(2027, 3, 31)


@pytest.mark.parametrize(
    ("year", "caps"),
    [
        (2025, {"medical": 660_000, "elderly_support": 260_000, "long_term_care": 170_000}),
        (
            2026,
            {
                "medical": 670_000,
                "elderly_support": 260_000,
                "long_term_care": 170_000,
                "child_support": 30_000,
            },
        ),
    ],
)
def test_national_caps_are_nhi_md_s(year: int, caps: dict[str, int]) -> None:
    params = load_parameters(year)
    assert {c.value: p.national_cap for c, p in params.components.items()} == caps


def test_fy2025_has_no_child_support_component() -> None:
    assert load_parameters(2025).component_order == (
        Component.MEDICAL,
        Component.ELDERLY_SUPPORT,
        Component.LONG_TERM_CARE,
    )
    assert load_parameters(2026).component_order[-1] is Component.CHILD_SUPPORT


@pytest.mark.parametrize(
    ("year", "fifty", "twenty"), [(2025, 305_000, 560_000), (2026, 310_000, 570_000)]
)
def test_reduction_thresholds(year: int, fifty: int, twenty: int) -> None:
    rule = load_parameters(year).reduction
    assert (rule.base, rule.per_salary_earner) == (430_000, 100_000)
    assert [(t.rate, t.per_person) for t in rule.tiers] == [
        (Decimal("0.7"), 0),
        (Decimal("0.5"), fifty),
        (Decimal("0.2"), twenty),
    ]
    assert (rule.elderly_pension_age, rule.elderly_pension_deduction) == (65, 150_000)


def test_salary_earner_cut_offs_and_ages() -> None:
    for year in (2025, 2026):
        params = load_parameters(year)
        earner = params.salary_earner
        assert (earner.salary_revenue_over, earner.pension_revenue_over) == (550_000, 600_000)
        assert (earner.elderly_pension_revenue_over, earner.elderly_age) == (1_250_000, 65)
        ages = params.ages
        assert (ages.long_term_care_from, ages.long_term_care_until) == (40, 65)
        assert (ages.late_elderly, ages.school_entry, ages.child_support_adult) == (75, 6, 18)
        assert params.preschool_share == Decimal("0.5")


def test_medium_confidence_figures_say_so_in_their_source() -> None:
    assert "medium confidence" in raw(2026)["reduction"]["source"]
    assert "medium confidence" in raw(2026)["salary_earner"]["source"]


def test_reduction_tiers_must_deepen_first() -> None:
    data = raw(2025)
    data["reduction"]["tiers"] = list(reversed(data["reduction"]["tiers"]))
    with pytest.raises(ValidationError, match="strictly descending"):
        NhiParameters.model_validate(data)


def test_a_core_component_cannot_be_left_out() -> None:
    data = raw(2025)
    del data["components"]["long_term_care"]
    with pytest.raises(ValidationError, match="missing"):
        NhiParameters.model_validate(data)


def test_the_parameter_files_ship_with_the_package() -> None:
    # pyproject's package-data ("*" = [... "*.json" ...]) covers nhi/params like tax/params.
    text = (PARAMS_DIR.parent.parent / "pyproject.toml").read_text("utf-8")
    assert '"*.json"' in text
    assert '"nhi*"' in text
