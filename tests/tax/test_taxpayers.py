"""Taxpayers of a fiscal year: the residents on its 1 January, read from the register as of then."""

from __future__ import annotations

import datetime as dt

from core.uow import UnitOfWork
from resident_records.schemas import DeathCommand, MoveOutCommand
from tax.taxpayers import assessment_date, resident_taxpayers
from tests.resident_records.test_service import Env, _new_env, person


def _taxpayers(env: Env, fiscal_year: int) -> set[str]:
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        return {str(t.person_id) for t in resident_taxpayers(uow.session, fiscal_year)}


def test_the_assessment_date_is_the_first_of_january() -> None:
    assert assessment_date(2026) == dt.date(2026, 1, 1)


def test_residents_on_the_first_of_january_are_assessed_whatever_came_after(state) -> None:
    env = _new_env(state)
    stays = env.move_in([person(family_name="在住")], effective_on=dt.date(2025, 6, 1))
    leaves = env.move_in([person(family_name="転出")], effective_on=dt.date(2025, 6, 1))
    died = env.move_in([person(family_name="死亡")], effective_on=dt.date(2025, 6, 1))
    arrives = env.move_in([person(family_name="新着")], effective_on=dt.date(2026, 2, 1))
    env.run(
        lambda r: r.move_out(
            MoveOutCommand(
                effective_on=dt.date(2026, 3, 31),
                notified_on=dt.date(2026, 3, 20),
                person_ids=leaves.person_ids,
                household=env.ref(leaves.household_ids[0]),
                destination_address="石川県金沢市広坂1丁目1番1号",
            )
        )
    )
    env.run(
        lambda r: r.death(
            DeathCommand(
                effective_on=dt.date(2025, 12, 20),
                notified_on=dt.date(2025, 12, 22),
                person_id=died.person_ids[0],
                household=env.ref(died.household_ids[0]),
            )
        )
    )
    fy2026 = _taxpayers(env, 2026)
    # Moved out after 1 January: still assessed here. Died before it, or arrived after it: not.
    assert str(stays.person_ids[0]) in fy2026
    assert str(leaves.person_ids[0]) in fy2026
    assert str(died.person_ids[0]) not in fy2026
    assert str(arrives.person_ids[0]) not in fy2026
    # The next year: the one who left and the one who died are gone, the newcomer is in.
    fy2027 = _taxpayers(env, 2027)
    assert str(leaves.person_ids[0]) not in fy2027
    assert str(arrives.person_ids[0]) in fy2027
    assert str(stays.person_ids[0]) in fy2027
