"""Helpers of the NHI assessment tests: a municipality, residents moved in through the register
with the deployment's handlers wired (so NHI qualifications follow), income records, runs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select

from core import audit
from core.uow import UnitOfWork
from nhi import assessment_service as service
from nhi.assessment_models import NhiAssessment
from resident_records.schemas import MoveInCommand, PersonInput
from resident_records.service import Register
from tax.intake import IncomeRecord
from tenancy.parameters import TenantParameters
from tests.nhi.premium_support import rates
from tests.resident_records.test_service import HERE, PREVIOUS, TODAY, Env, person
from tests.tax.test_assessment_service import declaration, record, upload

ACTOR = audit.Actor("staff", "nhi-assessment-tests")
YEAR = 2026
PARAMS = TenantParameters(nhi=rates(YEAR))
HEAD_BIRTH = dt.date(1976, 5, 1)  # 49 on 1 April 2026: 介護分 all year
WIFE_BIRTH = dt.date(1981, 7, 7)  # 44
CHILD_BIRTH = dt.date(2008, 1, 10)  # 18 on 1 April 2026: pays the child-support 均等割
HEAD_SALARY = 5_000_000


def with_app_bus(env: Env, action: Any, *, today: dt.date = TODAY) -> Any:
    """Run a register use case with the deployment's handlers (jichitai.bootstrap) wired."""
    with UnitOfWork(env.state.session_factory, env.state.bus) as uow:
        uow.set_tenant(env.ctx)
        result = action(Register(uow, ACTOR, env.state.ring, today=today))
        uow.commit()
    return result


def family_persons() -> list[PersonInput]:
    return [
        person(birth_date=HEAD_BIRTH.isoformat()),
        person(
            given_name="花子",
            given_name_kana="ハナコ",
            sex="female",
            relationship="妻",
            birth_date=WIFE_BIRTH.isoformat(),
        ),
        person(
            given_name="一郎",
            given_name_kana="イチロウ",
            relationship="子",
            birth_date=CHILD_BIRTH.isoformat(),
        ),
    ]


def move_in(env: Env, persons: list[PersonInput], on: dt.date) -> Any:
    cmd = MoveInCommand(
        effective_on=on,
        notified_on=on,
        persons=persons,
        address=HERE,
        previous_address=PREVIOUS,
    )
    return with_app_bus(env, lambda r: r.move_in(cmd))


def salary(env: Env, pid: uuid.UUID, birth: dt.date, revenue: int) -> IncomeRecord:
    return record(env.current(pid).atena_number, birth, revenue=revenue, special_collection=False)


def pension(env: Env, pid: uuid.UUID, birth: dt.date, revenue: int) -> IncomeRecord:
    return declaration(
        env.current(pid).atena_number, birth, income_kind="public_pension", revenue=revenue
    )


def incomes(env: Env, records: list[IncomeRecord]) -> None:
    upload(env, records, name=f"nhi-{uuid.uuid4().hex[:8]}.csv")


def run(env: Env, params: TenantParameters = PARAMS, **kw: Any) -> service.RunReport:
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        return service.assess_year(uow.session, YEAR, params, ACTOR, **kw)


def current(env: Env, household_id: uuid.UUID) -> NhiAssessment | None:
    return env.read(lambda s: service.current_assessment(s, YEAR, household_id))


def history(env: Env, household_id: uuid.UUID) -> list[NhiAssessment]:
    return env.read(lambda s: service.history(s, YEAR, household_id))


def count(env: Env, model: type) -> int:
    return env.read(lambda s: s.scalar(select(func.count()).select_from(model)) or 0)


def months(row: NhiAssessment) -> list[int]:
    """Months insured of each member of a stored assessment, the head first."""
    return [m["months"] for m in row.facts["members"]]
