"""Ages per 年齢計算ニ関スル法律: a year is gained at the end of the day before the birthday."""

from __future__ import annotations

import datetime as dt

import pytest

from tax.rules.ages import age_at_assessment_date, age_at_year_end, age_on
from tax.rules.parameters import load_parameters


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(2000, 6, 1), dt.date(2025, 5, 30), 24),
        (dt.date(2000, 6, 1), dt.date(2025, 5, 31), 25),  # the day before the birthday
        (dt.date(2000, 6, 1), dt.date(2025, 6, 1), 25),
        (dt.date(2004, 2, 29), dt.date(2025, 2, 27), 20),
        (dt.date(2004, 2, 29), dt.date(2025, 2, 28), 21),
        (dt.date(1961, 1, 1), dt.date(2025, 12, 31), 65),
        (dt.date(1961, 1, 2), dt.date(2025, 12, 31), 64),
    ],
)
def test_age_on(birth: dt.date, on: dt.date, age: int) -> None:
    assert age_on(birth, on) == age


def test_year_end_and_assessment_date_differ_by_one_day() -> None:
    params = load_parameters(2026)
    # Born 2 January 2008: 17 on 31 December 2025, 18 on 賦課期日 (1 January 2026).
    birth = dt.date(2008, 1, 2)
    assert age_at_year_end(birth, params) == 17
    assert age_at_assessment_date(birth, params) == 18
