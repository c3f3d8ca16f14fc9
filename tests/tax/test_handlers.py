"""Reactions of the inhabitant tax to late register changes, in the register's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.uow import UnitOfWork
from resident_records.schemas import CancelCommand, DeathCommand
from resident_records.service import Register
from tax import assessment_service as service
from tests.resident_records.test_service import TODAY, Env, _new_env, person, wife
from tests.tax.test_assessment_service import (
    ACTOR,
    HEAD_BIRTH,
    WIFE_BIRTH,
    atena,
    current,
    record,
    run,
    upload,
)


def _with_app_bus(env: Env, action: Any) -> Any:
    """Run a use case with the deployment's own handlers wired (jichitai.bootstrap)."""
    with UnitOfWork(env.state.session_factory, env.state.bus) as uow:
        uow.set_tenant(env.ctx)
        result = action(Register(uow, ACTOR, env.state.ring, today=TODAY))
        uow.commit()
    return result


@pytest.fixture
def assessed(state: Any) -> tuple[Env, Any]:
    env = _new_env(state)
    moved = env.move_in([person(), wife()], effective_on=dt.date(2025, 4, 1))
    head, spouse = moved.person_ids
    upload(
        env,
        [
            record(atena(env, head), HEAD_BIRTH),
            record(atena(env, spouse), WIFE_BIRTH, revenue=3_000_000, special_collection=False),
        ],
    )
    run(env)
    return env, moved


def test_a_death_before_the_first_of_january_reported_late_cancels_the_assessment(
    assessed,
) -> None:
    env, moved = assessed
    head, spouse = moved.person_ids
    before = current(env, head)
    wife_before = current(env, spouse)
    assert before is not None and before.total > 0
    assert service.breakdown(before)["spouse_deduction"] == 0  # she earns too much
    assert wife_before is not None
    _with_app_bus(
        env,
        lambda r: r.death(
            DeathCommand(
                effective_on=dt.date(2025, 12, 20),
                notified_on=TODAY,
                person_id=head,
                household=env.ref(moved.household_ids[0]),
            )
        ),
    )
    after = current(env, head)
    assert after is not None and after.revision == 2 and after.reason == "cancellation"
    assert after.total == 0
    # The wife, in the same household, was looked at again: her facts did not change.
    wife_after = current(env, spouse)
    assert wife_after is not None and wife_after.revision == wife_before.revision


def test_a_change_after_the_first_of_january_changes_nothing(assessed) -> None:
    env, moved = assessed
    head, _spouse = moved.person_ids
    _with_app_bus(
        env,
        lambda r: r.death(
            DeathCommand(
                effective_on=dt.date(2026, 3, 1),
                notified_on=dt.date(2026, 3, 2),
                person_id=head,
                household=env.ref(moved.household_ids[0]),
            )
        ),
    )
    a = current(env, head)
    assert a is not None and a.revision == 1  # died after 1 January: still assessed here


def test_cancelling_a_late_death_restores_the_assessment(assessed) -> None:
    env, moved = assessed
    head, _spouse = moved.person_ids
    died = _with_app_bus(
        env,
        lambda r: r.death(
            DeathCommand(
                effective_on=dt.date(2025, 12, 20),
                notified_on=TODAY,
                person_id=head,
                household=env.ref(moved.household_ids[0]),
            )
        ),
    )
    _with_app_bus(
        env,
        lambda r: r.cancel(died.event_id, CancelCommand(reason="誤って死亡を記載")),
    )
    a = current(env, head)
    assert a is not None and a.revision == 3 and a.reason == "correction" and a.total > 0
