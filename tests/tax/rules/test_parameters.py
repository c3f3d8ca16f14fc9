"""Parameter files: both fiscal years load, every prefecture is there, bad files are refused."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tax.rules.parameters import (
    PARAMS_DIR,
    PREFECTURES,
    TaxParameters,
    UnsupportedFiscalYear,
    load_parameters,
    supported_fiscal_years,
)


def test_both_fiscal_years_are_supported() -> None:
    assert supported_fiscal_years() == (2025, 2026)
    for year in (2025, 2026):
        assert load_parameters(year).fiscal_year == year


def test_an_unknown_fiscal_year_is_refused() -> None:
    with pytest.raises(UnsupportedFiscalYear):
        load_parameters(2030)


def test_dates_of_the_fiscal_year() -> None:
    params = load_parameters(2026)
    assert params.income_year == 2025
    assert params.year_end == dt.date(2025, 12, 31)
    assert params.assessment_date == dt.date(2026, 1, 1)


def test_every_prefecture_has_an_entry_and_tax_md_examples_hold() -> None:
    for year in (2025, 2026):
        prefectures = load_parameters(year).prefectures
        assert set(prefectures) == set(PREFECTURES)
        assert len(PREFECTURES) == 47
        # tax.md: 静岡 +400, 愛知 +500, 秋田 +800; the demo's 富山 +500.
        assert prefectures["静岡県"].per_capita_surcharge == 400
        assert prefectures["愛知県"].per_capita_surcharge == 500
        assert prefectures["秋田県"].per_capita_surcharge == 800
        assert prefectures["富山県"].per_capita_surcharge == 500
        assert prefectures["東京都"].per_capita_surcharge == 0
        assert prefectures["神奈川県"].income_rate_surcharge == Decimal("0.00025")


def test_the_fiscal_years_differ_where_tax_md_says() -> None:
    old, new = load_parameters(2025).deductions, load_parameters(2026).deductions
    assert (old.dependent.income_limit, new.dependent.income_limit) == (480_000, 580_000)
    assert (old.spouse.income_limit, new.spouse.income_limit) == (480_000, 580_000)
    assert (old.working_student_income_limit, new.working_student_income_limit) == (
        750_000,
        850_000,
    )
    assert old.specified_relative is None
    assert new.specified_relative is not None


def _raw(year: int = 2026) -> dict[str, object]:
    data: dict[str, object] = json.loads((PARAMS_DIR / f"fy{year}.json").read_text("utf-8"))
    return data


def test_a_file_missing_a_prefecture_is_refused() -> None:
    data = _raw()
    prefectures = data["prefectures"]
    assert isinstance(prefectures, dict)
    del prefectures["沖縄県"]
    with pytest.raises(ValidationError, match="沖縄県"):
        TaxParameters.model_validate(data)


def test_a_table_must_start_at_zero_and_ascend() -> None:
    data = _raw()
    salary = data["salary_income"]
    assert isinstance(salary, dict)
    salary["bands"] = list(reversed(salary["bands"]))
    with pytest.raises(ValidationError, match="salary_income"):
        TaxParameters.model_validate(data)


def test_an_unknown_field_is_refused() -> None:
    data = _raw() | {"surprise": 1}
    with pytest.raises(ValidationError):
        TaxParameters.model_validate(data)
