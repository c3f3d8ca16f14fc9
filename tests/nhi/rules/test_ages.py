"""Ages as NHI reads them: 介護 months, the 75th birthday, 未就学児, the child-support exemption."""

from __future__ import annotations

import datetime as dt

import pytest

from nhi.rules.ages import (
    age_at_start,
    attains_age_on,
    child_support_exempt,
    first_march_31_from,
    long_term_care_months,
    months_before_late_elderly,
    months_from_birth,
    preschool,
)
from nhi.rules.parameters import load_parameters

P25 = load_parameters(2025)
P26 = load_parameters(2026)


def test_an_age_is_attained_the_day_before_the_birthday() -> None:
    assert attains_age_on(dt.date(1985, 10, 15), 40) == dt.date(2025, 10, 14)
    assert attains_age_on(dt.date(1985, 10, 1), 40) == dt.date(2025, 9, 30)
    # Born on 29 February: attained on 28 February in a common year.
    assert attains_age_on(dt.date(1988, 2, 29), 37) == dt.date(2025, 2, 28)
    assert attains_age_on(dt.date(1988, 2, 29), 36) == dt.date(2024, 2, 28)


def test_first_march_31() -> None:
    assert first_march_31_from(dt.date(2026, 3, 31)) == dt.date(2026, 3, 31)
    assert first_march_31_from(dt.date(2026, 4, 1)) == dt.date(2027, 3, 31)


def test_age_at_the_start_of_the_fiscal_year() -> None:
    assert age_at_start(dt.date(1975, 4, 2), P25) == 50
    assert age_at_start(dt.date(1975, 4, 3), P25) == 49


@pytest.mark.parametrize(
    ("birth_date", "months"),
    [
        (dt.date(1985, 10, 15), 6),  # 40 attained 14 Oct 2025: October to March
        (dt.date(1985, 10, 1), 7),  # attained 30 Sep: from September
        (dt.date(1985, 4, 2), 12),  # attained 1 April: the whole year
        (dt.date(1986, 4, 1), 1),  # attained 31 March 2026: March only
        (dt.date(1986, 4, 2), 0),  # attained 1 April 2026: next year
        (dt.date(1960, 10, 15), 6),  # 65 attained 14 Oct 2025: April to September
        (dt.date(1960, 10, 1), 5),  # 65 attained 30 Sep: April to August
        (dt.date(1960, 4, 2), 0),  # 65 attained 1 April: none
        (dt.date(1970, 6, 1), 12),
        (dt.date(2000, 6, 1), 0),
        (dt.date(1950, 6, 1), 0),
    ],
)
def test_long_term_care_months(birth_date: dt.date, months: int) -> None:
    assert long_term_care_months(birth_date, P25) == months


@pytest.mark.parametrize(
    ("birth_date", "months"),
    [
        (dt.date(1950, 10, 15), 6),  # 75th birthday 15 Oct 2025: April to September
        (dt.date(1950, 10, 1), 6),  # birthday on the 1st: still up to September
        (dt.date(1950, 4, 1), 0),  # 後期高齢者 from 1 April
        (dt.date(1950, 4, 2), 0),  # 後期高齢者 from 2 April: April is not NHI's
        (dt.date(1951, 3, 31), 11),
        (dt.date(1951, 4, 1), 12),
        (dt.date(1940, 1, 1), 0),
    ],
)
def test_months_before_the_75th_birthday(birth_date: dt.date, months: int) -> None:
    assert months_before_late_elderly(birth_date, P25) == months


def test_months_from_birth() -> None:
    assert months_from_birth(dt.date(2026, 10, 20), P26) == 6
    assert months_from_birth(dt.date(2027, 3, 31), P26) == 1
    assert months_from_birth(dt.date(2026, 4, 1), P26) == 12
    assert months_from_birth(dt.date(2020, 1, 1), P26) == 12


def test_preschool_runs_to_the_31_march_after_six() -> None:
    # Born 2 April 2020: 6 attained 1 April 2026, school from April 2027.
    assert preschool(dt.date(2020, 4, 2), P26)
    # Born 1 April 2020 (早生まれ): 6 attained 31 March 2026, school from April 2026.
    assert not preschool(dt.date(2020, 4, 1), P26)
    assert preschool(dt.date(2026, 5, 1), P26)


def test_child_support_exemption_runs_to_the_31_march_after_eighteen() -> None:
    assert child_support_exempt(dt.date(2008, 4, 2), P26)
    assert not child_support_exempt(dt.date(2008, 4, 1), P26)
    assert child_support_exempt(dt.date(2015, 1, 1), P26)
    assert not child_support_exempt(dt.date(1990, 1, 1), P26)
