"""The annual NHI assessment on the real register and qualifications (both databases).

Each test builds its own municipality, moves residents in through the register with the
deployment's handlers wired (so NHI qualifications are acquired as at the counter), imports
their income through the inhabitant tax's intake and runs nhi.assessment_service as the CLI does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from core.errors import ValidationFailed
from nhi import assessment_rules
from nhi import assessment_service as service
from nhi.assessment_models import NhiAssessment, NhiAssessmentMember, NhiAssessmentRun
from nhi.simulation import MemberInput, SimulationInput, simulate
from tenancy.parameters import TenantParameters
from tests.nhi.assessment_support import (
    CHILD_BIRTH,
    HEAD_BIRTH,
    HEAD_SALARY,
    WIFE_BIRTH,
    YEAR,
    count,
    current,
    family_persons,
    history,
    incomes,
    months,
    move_in,
    pension,
    run,
    salary,
)
from tests.nhi.premium_support import rates
from tests.resident_records.test_service import Env, _new_env, person

START = dt.date(2025, 4, 1)


@pytest.fixture
def family(state: Any) -> tuple[Env, uuid.UUID, tuple[uuid.UUID, ...]]:
    env = _new_env(state)
    moved = move_in(env, family_persons(), dt.date(2025, 4, 1))
    head = moved.person_ids[0]
    incomes(env, [salary(env, head, HEAD_BIRTH, HEAD_SALARY)])
    return env, moved.household_ids[0], tuple(moved.person_ids)


@pytest.fixture(params=[1, 2], ids=["in-process", "workers"])
def workers(request: pytest.FixtureRequest, database: Any) -> int:
    """1: the rules run and the rows are built in this process; 2: in worker processes, whose
    rows arrive as COPY text (PostgreSQL only: elsewhere a run keeps to one process)."""
    if request.param > 1 and not database.is_pg:
        pytest.skip("worker processes hand over COPY text, which only PostgreSQL reads")
    return int(request.param)


def _simulated(members: list[dict[str, Any]], head_insured: bool | None = None) -> Any:
    return simulate(
        SimulationInput(
            fiscal_year=YEAR,
            rates=rates(YEAR),
            head_insured=head_insured,
            members=[MemberInput.model_validate(m) for m in members],
        )
    )


def test_the_annual_figures_are_the_simulations_for_the_same_household(family, workers) -> None:
    env, hid, (head, wife, child) = family
    report = run(env, workers=workers)
    assert (report.households, report.created, report.revised, report.unchanged) == (1, 1, 0, 0)
    assert not report.resumed

    a = current(env, hid)
    assert a is not None and a.revision == 1 and a.reason == "initial"
    assert a.head_person_id == head and not a.nominal_head and a.insured == 3
    assert a.reference_date == dt.date(YEAR, 4, 1)
    assert months(a) == [12, 12, 12]
    # The same household typed into the simulation by hand.
    expected = _simulated(
        [
            {"birth_date": HEAD_BIRTH, "salary_revenue": HEAD_SALARY},
            {"birth_date": WIFE_BIRTH},
            {"birth_date": CHILD_BIRTH},
        ]
    )
    assert a.total == expected.total > 0
    assert a.components == {c.component.value: int(c.amount) for c in expected.components}
    assert set(a.components) == {"medical", "elderly_support", "long_term_care", "child_support"}
    shown = env.read(lambda s: service.breakdown(s, a))
    assert shown == expected
    # Eight instalments adding up to the year's amount, the later ones in hundreds of yen.
    assert len(a.instalments) == 8 and sum(a.instalments) == a.total
    assert all(amount % 100 == 0 for amount in a.instalments[1:])
    members = env.read(
        lambda s: {
            m.person_id: (m.head, m.months)
            for m in s.query(NhiAssessmentMember).filter_by(assessment_id=a.id)
        }
    )
    assert members == {head: (True, 12), wife: (False, 12), child: (False, 12)}


def test_a_rerun_writes_nothing_and_a_rate_change_revises(family, workers) -> None:
    env, hid, _ids = family
    run(env, workers=workers)
    before = count(env, NhiAssessment), count(env, NhiAssessmentMember)
    again = run(env, workers=workers)
    assert (again.households, again.created, again.revised, again.unchanged) == (1, 0, 0, 1)
    assert (count(env, NhiAssessment), count(env, NhiAssessmentMember)) == before

    higher = rates(YEAR, medical={"income_rate": "9.0", "per_capita": 30200, "per_household": 0})
    revised = run(env, TenantParameters(nhi=higher), workers=workers, today=dt.date(YEAR, 10, 15))
    assert (revised.created, revised.revised, revised.unchanged) == (0, 1, 0)
    rows = history(env, hid)
    assert [(r.revision, r.reason) for r in rows] == [(1, "initial"), (2, "correction")]
    assert rows[1].total != rows[0].total and sum(rows[1].instalments) == rows[1].total
    # 更正 in October: the 期 due by then (July to September) stay as they were.
    assert rows[1].instalments[:3] == rows[0].instalments[:3]
    assert rows[1].instalments == assessment_rules.instalments(
        rows[1].total, YEAR, previous=rows[0].instalments, on=dt.date(YEAR, 10, 15)
    )


def test_a_crashed_run_resumes_after_the_last_committed_chunk(state: Any) -> None:
    env = _new_env(state)
    households = []
    for n in range(3):
        moved = move_in(
            env, [person(given_name=f"太郎{n}", birth_date="1970-06-01")], dt.date(2025, 4, 1)
        )
        households.append(moved.household_ids[0])
    stopped = run(env, chunk=1, stop_after_chunks=1)
    assert (stopped.households, stopped.processed, stopped.created) == (3, 1, 1)
    assert count(env, NhiAssessment) == 1
    resumed = run(env, chunk=1)
    assert resumed.resumed and resumed.run_id == stopped.run_id
    assert (resumed.processed, resumed.created) == (3, 3)
    assert count(env, NhiAssessment) == 3
    runs = env.read(lambda s: s.query(NhiAssessmentRun).all())
    assert len(runs) == 1 and runs[0].status == "finished"
    assert all(current(env, h) is not None for h in households)


def test_a_head_who_is_not_insured_is_liable_as_the_nominal_head(state: Any) -> None:
    """擬制世帯主: the head (80, 後期高齢者医療) pays nothing of his own; his pension counts for
    the reduction test, which his wife's premium then fails."""
    env = _new_env(state)
    head_birth, wife_birth = dt.date(1945, 5, 1), dt.date(1962, 8, 1)  # 80 and 63
    moved = move_in(
        env,
        [
            person(birth_date=head_birth.isoformat()),
            person(
                given_name="花子",
                given_name_kana="ハナコ",
                sex="female",
                relationship="妻",
                birth_date=wife_birth.isoformat(),
            ),
        ],
        dt.date(2025, 4, 1),
    )
    head, wife = moved.person_ids
    hid = moved.household_ids[0]
    incomes(env, [pension(env, head, head_birth, 2_400_000)])
    run(env)
    a = current(env, hid)
    assert a is not None and a.nominal_head and a.head_person_id == head and a.insured == 1
    assert months(a) == [0, 12]
    expected = _simulated(
        [
            {"birth_date": head_birth, "pension_revenue": 2_400_000, "insured": False},
            {"birth_date": wife_birth},
        ],
        head_insured=False,
    )
    assert a.total == expected.total
    assert expected.reduction.rate == Decimal("0")
    # Without the head's pension in the test, the wife alone would have a 7割 reduction.
    alone = _simulated(
        [{"birth_date": head_birth, "insured": False}, {"birth_date": wife_birth}],
        head_insured=False,
    )
    assert alone.reduction.rate == Decimal("0.7") and alone.total < a.total
    members = env.read(
        lambda s: {
            m.person_id: (m.head, m.months)
            for m in s.query(NhiAssessmentMember).filter_by(assessment_id=a.id)
        }
    )
    assert members == {head: (True, 0), wife: (False, 12)}


def test_a_household_moving_in_mid_year_is_assessed_from_its_move_in(state: Any) -> None:
    env = _new_env(state)
    moved = move_in(env, [person(birth_date="1980-01-01")], dt.date(YEAR, 6, 10))
    run(env)
    a = current(env, moved.household_ids[0])
    assert a is not None and a.reference_date == dt.date(YEAR, 6, 10)
    assert months(a) == [10]  # June to March (月割)
    expected = _simulated([{"birth_date": dt.date(1980, 1, 1), "months": 10}])
    assert a.total == expected.total


def test_missing_rates_are_refused_in_japanese(family) -> None:
    env, _hid, _ids = family
    with pytest.raises(ValidationFailed) as caught:
        run(env, TenantParameters())
    assert caught.value.error_code == "nhi_rates_not_set"
    assert "国民健康保険税の税率が設定されていません" in caught.value.message
    without_child_support = TenantParameters(nhi=rates(2025))  # FY2026 needs its rates
    with pytest.raises(ValidationFailed) as year:
        run(env, without_child_support)
    assert year.value.error_code == "nhi_component_missing"
    assert count(env, NhiAssessmentRun) == 0


def test_instalments_keep_what_was_due_before_a_correction() -> None:
    first = assessment_rules.instalments(100_050, YEAR)
    assert first == [12_550, *([12_500] * 7)]
    # Decided on 1 December 2026: July–November have passed.
    later = assessment_rules.instalments(80_000, YEAR, previous=first, on=dt.date(2026, 12, 1))
    assert later[:5] == first[:5] and sum(later) == 80_000
    # Less than was already due: the passed terms are cut from the latest back, never negative.
    cut = assessment_rules.instalments(30_000, YEAR, previous=first, on=dt.date(2026, 12, 1))
    assert sum(cut) == 30_000 and min(cut) == 0 and cut[0] == 12_550
    dates = assessment_rules.due_dates(YEAR)
    assert dates[0] == dt.date(2026, 7, 31) and dates[5] == dt.date(2027, 1, 4)  # 年末年始
    assert all(d.weekday() < 5 for d in dates)


def test_a_chunk_failing_to_write_stops_the_run_and_keeps_the_chunks_before(
    state: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while a chunk is written reaches the caller: the chunks committed before stay,
    nothing of the failing one is kept, and the run resumes from there."""
    env = _new_env(state)
    for n in range(3):
        move_in(env, [person(given_name=f"太郎{n}", birth_date="1970-06-01")], START)
    write = service._write
    calls = []

    def fail_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            write(*args, **kwargs)  # the rows reach the transaction, then the chunk fails
            raise RuntimeError("disk full")
        return write(*args, **kwargs)

    monkeypatch.setattr(service, "_write", fail_second)
    with pytest.raises(RuntimeError, match="disk full"):
        run(env, chunk=1)
    assert count(env, NhiAssessment) == 1
    monkeypatch.setattr(service, "_write", write)
    resumed = run(env, chunk=1)
    assert resumed.resumed and (resumed.processed, resumed.created) == (3, 3)
    assert count(env, NhiAssessment) == 3


def test_the_rules_in_worker_processes_give_the_same_figures(state: Any, database: Any) -> None:
    if not database.is_pg:
        pytest.skip("worker processes hand over COPY text, which only PostgreSQL reads")
    env = _new_env(state)
    moved = [
        move_in(env, [person(given_name=f"太郎{n}", birth_date=f"19{60 + n}-06-01")], START)
        for n in range(3)
    ]
    stopped = run(env, chunk=1, workers=2, stop_after_chunks=2)
    assert (stopped.processed, stopped.created) == (2, 2)
    report = run(env, chunk=1, workers=2)
    assert report.resumed and (report.processed, report.created) == (3, 3)
    for n, m in enumerate(moved):
        a = current(env, m.household_ids[0])
        expected = _simulated([{"birth_date": dt.date(1960 + n, 6, 1)}])
        assert a is not None and a.total == expected.total
        assert a.components == {c.component.value: int(c.amount) for c in expected.components}
