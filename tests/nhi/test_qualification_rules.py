"""The pure qualification rules (国民健康保険法 5条〜8条): dates and eligibility."""

from __future__ import annotations

import datetime as dt

import pytest

from nhi import qualification_rules as rules

D = dt.date


def test_acquisition_dates() -> None:
    assert rules.acquired_on_move_in(D(2026, 4, 1)) == D(2026, 4, 1)
    assert rules.acquired_on_birth(D(2026, 5, 5)) == D(2026, 5, 5)
    # 退職日 31 March: employee insurance lost 1 April, NHI acquired 1 April.
    assert rules.acquired_after_employee_insurance(D(2026, 3, 31)) == D(2026, 4, 1)
    # 保護廃止日 10 June: the first day without assistance.
    assert rules.acquired_after_livelihood_assistance(D(2026, 6, 10)) == D(2026, 6, 10)


def test_loss_dates() -> None:
    assert rules.lost_on_move_out(D(2026, 4, 1)) == D(2026, 4, 1)
    assert rules.lost_on_emigration(D(2026, 4, 1)) == D(2026, 4, 2)
    assert rules.lost_on_removal(D(2026, 4, 30)) == D(2026, 5, 1)
    assert rules.lost_on_death(D(2026, 12, 31)) == D(2027, 1, 1)
    assert rules.lost_on_joining_employee_insurance(D(2026, 4, 1)) == D(2026, 4, 2)
    assert rules.lost_on_livelihood_assistance(D(2026, 4, 1)) == D(2026, 4, 1)


@pytest.mark.parametrize(
    ("birth", "turns"),
    [
        (D(1951, 4, 1), D(2026, 4, 1)),
        (D(1951, 12, 31), D(2026, 12, 31)),
        (D(1952, 2, 29), D(2027, 3, 1)),  # no 29 February in 2027
        (D(1948, 2, 29), D(2023, 3, 1)),
        (D(1952, 2, 28), D(2027, 2, 28)),
    ],
)
def test_late_elderly_starts_on_the_75th_birthday(birth: dt.date, turns: dt.date) -> None:
    assert rules.late_elderly_from(birth) == turns
    assert rules.is_late_elderly(birth, turns)
    assert not rules.is_late_elderly(birth, turns - dt.timedelta(days=1))


def test_unknown_birth_date_is_never_late_elderly() -> None:
    assert not rules.is_late_elderly(None, D(2026, 1, 1))


def _c(**over: object) -> rules.Circumstances:
    base: dict[str, object] = {
        "resident": True,
        "birth_date": D(1980, 1, 1),
        "employee_insurance": False,
        "livelihood_assistance": False,
    }
    return rules.Circumstances(**(base | over))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("circumstances", "expected"),
    [
        (_c(), True),
        (_c(resident=False), False),
        (_c(employee_insurance=True), False),
        (_c(livelihood_assistance=True), False),
        (_c(birth_date=D(1951, 4, 2)), True),  # 75 tomorrow
        (_c(birth_date=D(1951, 4, 1)), False),  # 75 today: 後期高齢者医療
        (_c(birth_date=None), True),
    ],
)
def test_eligibility(circumstances: rules.Circumstances, expected: bool) -> None:
    assert rules.eligible(circumstances, D(2026, 4, 1)) is expected


def test_newborn_follows_the_household() -> None:
    assert rules.newborn_acquires(True) is True
    assert rules.newborn_acquires(False) is False
