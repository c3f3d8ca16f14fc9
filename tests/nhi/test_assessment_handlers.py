"""Mid-year changes correct the NHI premium in the same transaction, keeping the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event

from core.uow import UnitOfWork
from nhi.assessment_models import NhiAssessment
from nhi.models import CoverageKind
from nhi.service import Qualifications
from resident_records.schemas import CancelCommand, DeathCommand, MoveOutCommand
from resident_records.service import Register
from tests.nhi.assessment_support import (
    ACTOR,
    CHILD_BIRTH,
    HEAD_BIRTH,
    HEAD_SALARY,
    WIFE_BIRTH,
    count,
    current,
    family_persons,
    history,
    incomes,
    months,
    move_in,
    run,
    salary,
    with_app_bus,
)
from tests.nhi.test_assessment_service import _simulated
from tests.resident_records.test_service import TODAY, _new_env, person

MOVED_OUT = dt.date(2026, 10, 15)


@pytest.fixture
def assessed(state: Any) -> Any:
    env = _new_env(state)
    moved = move_in(env, family_persons(), dt.date(2025, 4, 1))
    incomes(env, [salary(env, moved.person_ids[0], HEAD_BIRTH, HEAD_SALARY)])
    run(env)
    return env, moved


def _move_out(env: Any, moved: Any, who: list[Any]) -> Any:
    return with_app_bus(
        env,
        lambda r: r.move_out(
            MoveOutCommand(
                effective_on=MOVED_OUT,
                notified_on=MOVED_OUT,
                person_ids=who,
                household=env.ref(moved.household_ids[0]),
                destination_address="石川県金沢市広坂1丁目1番1号",
            )
        ),
    )


def test_a_move_out_at_the_counter_after_the_run_writes_a_correction(assessed) -> None:
    env, moved = assessed
    hid = moved.household_ids[0]
    _head, wife, _child = moved.person_ids
    before = current(env, hid)
    assert before is not None and months(before) == [12, 12, 12]

    _move_out(env, moved, [wife])

    rows = history(env, hid)
    assert [(r.revision, r.reason) for r in rows] == [(1, "initial"), (2, "correction")]
    old, new = rows
    assert old.id == before.id and months(old) == [12, 12, 12]  # the old revision is kept
    # Lost on 15 October: charged April–September (月割: up to the month before the loss).
    assert months(new) == [12, 6, 12]
    expected = _simulated(
        [
            {"birth_date": HEAD_BIRTH, "salary_revenue": HEAD_SALARY},
            {"birth_date": WIFE_BIRTH, "months": 6},
            {"birth_date": CHILD_BIRTH},
        ]
    )
    assert new.total == expected.total < old.total
    # What fell due before today stays as notified; the rest absorbs the difference.
    passed = sum(1 for d in _due_dates() if d < TODAY)
    assert new.instalments[:passed] == old.instalments[:passed]
    assert sum(new.instalments) == new.total


def _due_dates() -> list[dt.date]:
    from nhi.assessment_rules import due_dates

    return due_dates(2026)


def test_the_whole_household_moving_out_and_its_cancellation(assessed) -> None:
    env, moved = assessed
    hid = moved.household_ids[0]
    out = _move_out(env, moved, list(moved.person_ids))
    a = current(env, hid)
    assert a is not None and a.revision == 2 and months(a) == [6, 6, 6]
    # 取消 of the move-out restores the qualifications: the premium goes back to the full year.
    with_app_bus(env, lambda r: r.cancel(out.event_id, CancelCommand(reason="誤って転出を記載")))
    restored = current(env, hid)
    assert restored is not None and restored.revision == 3 and months(restored) == [12, 12, 12]
    assert restored.total == history(env, hid)[0].total


class Boom(RuntimeError):
    pass


def _move_out_then_fail(env: Any, hid: Any, wife: Any, seen: list[int]) -> None:
    """The move-out and its handlers run; then the commit fails."""
    with UnitOfWork(env.state.session_factory, env.state.bus) as uow:
        uow.set_tenant(env.ctx)
        Register(uow, ACTOR, env.state.ring, today=TODAY).move_out(
            MoveOutCommand(
                effective_on=MOVED_OUT,
                notified_on=MOVED_OUT,
                person_ids=[wife],
                household=env.ref(hid),
                destination_address="石川県金沢市広坂1丁目1番1号",
            )
        )

        def fail(session: Any) -> None:
            # The correction was written in this transaction before it failed.
            seen.append(session.query(NhiAssessment).count())
            raise Boom

        event.listen(uow.session, "before_commit", fail)
        uow.commit()


def test_a_failed_transaction_keeps_neither_the_loss_nor_the_correction(assessed) -> None:
    env, moved = assessed
    hid = moved.household_ids[0]
    wife = moved.person_ids[1]
    written = count(env, NhiAssessment)

    seen: list[int] = []
    with pytest.raises(Boom):
        _move_out_then_fail(env, hid, wife, seen)
    assert seen == [written + 1]
    assert count(env, NhiAssessment) == written
    a = current(env, hid)
    assert a is not None and a.revision == 1 and months(a) == [12, 12, 12]


def test_joining_employee_insurance_recorded_by_staff_corrects_the_premium(assessed) -> None:
    env, moved = assessed
    hid = moved.household_ids[0]
    wife = moved.person_ids[1]
    with UnitOfWork(env.state.session_factory, env.state.bus) as uow:
        uow.set_tenant(env.ctx)
        Qualifications(uow.session, ACTOR, uow.publish).record_cover(
            wife, CoverageKind.EMPLOYEE_INSURANCE_JOINED, dt.date(2026, 8, 20)
        )
        uow.commit()
    rows = history(env, hid)
    assert [r.reason for r in rows] == ["initial", "correction"]
    # Lost the day after joining (21 August): charged April–July.
    assert months(rows[1]) == [12, 4, 12]


def test_a_death_before_the_first_of_april_registered_late_cancels_the_assessment(
    state: Any,
) -> None:
    env = _new_env(state)
    moved = move_in(env, [person(birth_date="1960-06-01")], dt.date(2025, 4, 1))
    hid = moved.household_ids[0]
    run(env)
    before = current(env, hid)
    assert before is not None and before.total > 0
    with_app_bus(
        env,
        lambda r: r.death(
            DeathCommand(
                effective_on=dt.date(2026, 3, 15),
                notified_on=TODAY,
                person_id=moved.person_ids[0],
                household=env.ref(hid),
            )
        ),
    )
    rows = history(env, hid)
    assert [r.reason for r in rows] == ["initial", "cancellation"]
    assert rows[1].total == 0 and rows[1].instalments == [0] * 8
    assert rows[0].total == before.total  # the initial assessment stays readable
