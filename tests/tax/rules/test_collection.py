"""Collection schedules: 特別徴収 and 普通徴収 (tax.md "Rounding and collection")."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tax.rules.assessment import assess
from tax.rules.collection import (
    ORDINARY_COLLECTION_MONTHS,
    SPECIAL_COLLECTION_MONTHS,
    OrdinaryCollectionSchedule,
    SpecialCollectionSchedule,
    ordinary_collection,
    special_collection,
    split_instalments,
)
from tests.tax.factories import case

WORKED: dict[str, Any] = {"salary": 5_000_000, "social_insurance": 750_000}
amounts = st.integers(min_value=0, max_value=100_000_000)
units = st.sampled_from([1, 100, 1_000])


def test_worked_example_special_collection() -> None:
    total = assess(case(**WORKED)).total
    assert total == 240_500
    schedule = special_collection(total)
    # 240,500 / 12 = 20,041.66… → 20,000 each; the 500 left over goes to June.
    assert schedule.june == 20_500
    assert [a for _, a in schedule.monthly[1:]] == [20_000] * 11
    assert schedule.total == 240_500


def test_worked_example_ordinary_collection() -> None:
    schedule = ordinary_collection(240_500)
    # 240,500 / 4 = 60,125 → 60,000 each; the 500 left over goes to the June instalment.
    assert schedule == OrdinaryCollectionSchedule(
        june=60_500, august=60_000, october=60_000, january=60_000
    )


def test_months_are_labelled_in_collection_order() -> None:
    schedule = special_collection(120_000)
    assert [m for m, _ in schedule.monthly] == [6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5]
    assert schedule.monthly[0] == (6, schedule.june)
    assert schedule.monthly[7] == (1, schedule.january)
    assert schedule.monthly[-1] == (5, schedule.may)
    ordinary = ordinary_collection(120_000)
    assert ordinary.instalments == ((6, 30_000), (8, 30_000), (10, 30_000), (1, 30_000))


def test_fractions_under_1000_yen_go_to_the_first_instalment() -> None:
    # 123,400 / 4 = 30,850 → 30,000; June 123,400 − 90,000 = 33,400.
    assert ordinary_collection(123_400) == OrdinaryCollectionSchedule(
        33_400, 30_000, 30_000, 30_000
    )
    # With a 1,000-yen unit: 100,000 / 12 = 8,333.3… → 8,000; June 100,000 − 88,000 = 12,000.
    schedule = special_collection(100_000, unit=1_000)
    assert (schedule.june, schedule.july, schedule.may) == (12_000, 8_000, 8_000)


def test_special_collection_puts_fractions_under_100_yen_in_june() -> None:
    # 地方税法321条の5: 100,000 / 12 = 8,333.3… → 8,300; June 100,000 − 11 × 8,300 = 8,700.
    schedule = special_collection(100_000)
    assert (schedule.june, schedule.july) == (8_700, 8_300)
    assert schedule.total == 100_000


def test_an_instalment_under_the_unit_puts_everything_in_the_first() -> None:
    assert ordinary_collection(3_600) == OrdinaryCollectionSchedule(3_600, 0, 0, 0)
    assert special_collection(1_100).june == 1_100
    assert special_collection(1_200).june == 100
    assert ordinary_collection(0).total == 0


def test_frozen() -> None:
    schedule = special_collection(120_000)
    with pytest.raises(AttributeError):
        schedule.june = 0  # type: ignore[misc]


@pytest.mark.parametrize("bad", [-1, -100_000])
def test_negative_amounts_are_rejected(bad: int) -> None:
    with pytest.raises(ValueError, match="税額"):
        special_collection(bad)
    with pytest.raises(ValueError, match="税額"):
        ordinary_collection(bad)
    with pytest.raises(ValueError, match="税額"):
        split_instalments(bad, 4, 1_000)


@pytest.mark.parametrize("bad", [1.5, "1000", True, None])
def test_non_integer_amounts_are_rejected(bad: Any) -> None:
    with pytest.raises(TypeError, match="整数"):
        special_collection(bad)
    with pytest.raises(TypeError, match="整数"):
        ordinary_collection(bad)


def test_count_and_unit_are_validated() -> None:
    with pytest.raises(ValueError, match="分割回数"):
        split_instalments(1_000, 0, 1_000)
    with pytest.raises(ValueError, match="端数処理の単位"):
        split_instalments(1_000, 4, 0)
    with pytest.raises(ValueError, match="端数処理の単位"):
        special_collection(1_000, unit=-100)


@given(amounts, units)
def test_special_collection_properties(annual: int, unit: int) -> None:
    schedule = special_collection(annual, unit=unit)
    amounts_ = [a for _, a in schedule.monthly]
    assert len(amounts_) == len(SPECIAL_COLLECTION_MONTHS) == 12
    assert schedule.total == sum(amounts_) == annual
    assert all(a >= 0 for a in amounts_)
    later = amounts_[1:]
    assert len(set(later)) == 1  # July–May are equal
    assert all(a % unit == 0 for a in later)
    assert schedule.june >= later[0]
    # Nothing more than the fractions goes to June: less than one unit per later month.
    assert schedule.june - later[0] < 12 * unit
    assert later[0] == annual // 12 // unit * unit


@given(amounts, units)
def test_ordinary_collection_properties(annual: int, unit: int) -> None:
    schedule = ordinary_collection(annual, unit=unit)
    amounts_ = [a for _, a in schedule.instalments]
    assert len(amounts_) == len(ORDINARY_COLLECTION_MONTHS) == 4
    assert schedule.total == annual
    assert all(a >= 0 for a in amounts_)
    assert schedule.august == schedule.october == schedule.january
    assert schedule.august % unit == 0
    assert schedule.august == annual // 4 // unit * unit
    assert 0 <= schedule.june - schedule.august < 4 * unit


@given(st.integers(min_value=0, max_value=1_000_000).map(lambda n: n * 100))
def test_100_yen_amounts_stay_in_100_yen_instalments(annual: int) -> None:
    # Tax amounts are multiples of 100 yen (tax.md "Rounding"), so every instalment is too.
    assert all(a % 100 == 0 for _, a in special_collection(annual).monthly)
    assert all(a % 100 == 0 for _, a in special_collection(annual, unit=100).monthly)
    assert all(a % 100 == 0 for _, a in ordinary_collection(annual).instalments)


def test_schedules_are_plain_values() -> None:
    assert special_collection(120_000) == SpecialCollectionSchedule(*([10_000] * 12))
