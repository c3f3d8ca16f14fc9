"""Income import and the annual assessment on the real register (both databases).

Each test builds its own municipality (tests.resident_records.test_service's Env), imports an
income file through tax.income_service and runs tax.assessment_service as the CLI does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from stdnum.jp import cn

from core import audit
from core.crypto import TenantKeys
from core.db import run_lock
from core.errors import Conflict, ValidationFailed
from core.japanese.checkdigits import with_m11
from core.uow import UnitOfWork
from resident_records.schemas import DeathCommand, MoveOutCommand, NonResidentCommand
from tax import assessment_service as service
from tax.income_service import import_income
from tax.intake import DocumentKind, IncomeRecord, format_csv
from tax.models import AssessmentRun, IncomeEntry, IncomeImport, TaxAssessment
from tax.rules.assessment import assess
from tax.rules.collection import ordinary_collection, special_collection
from tax.rules.facts import Case, Dependent, Income, IncomeKind, Spouse, Taxpayer
from tax.rules.income import compute_income
from tax.rules.parameters import load_parameters
from tenancy.models import Municipality
from tenancy.parameters import TenantParameters
from tests.resident_records.test_service import Env, _new_env, child, my_number, person, wife

ACTOR = audit.Actor("staff", "tax-tests")
PARAMS = TenantParameters()  # 3級地-2 → grade 3
EMPLOYER = "7000012050002"  # a valid 法人番号 (check digit 7)


def corporate(body: str) -> str:
    return cn.calc_check_digit(body) + body


def record(atena: str | None, birth: dt.date, **over: Any) -> IncomeRecord:
    base: dict[str, Any] = {
        "fiscal_year": 2026,
        "document": DocumentKind.SALARY_REPORT,
        "atena_number": atena,
        "name": "射水 太郎",
        "name_kana": "イミズ タロウ",
        "birth_date": birth,
        "address": "富山県射水市大門1番地",
        "employer_name": "株式会社 射水製作所",
        "employer_corporate_number": EMPLOYER,
        "income_kind": IncomeKind.SALARY,
        "revenue": 5_000_000,
        "social_insurance": 700_000,
        "special_collection": True,
    }
    return IncomeRecord.model_validate(base | over)


def declaration(atena: str, birth: dt.date, **over: Any) -> IncomeRecord:
    return record(
        atena,
        birth,
        **(
            {
                "document": DocumentKind.DECLARATION,
                "employer_name": None,
                "employer_corporate_number": None,
                "special_collection": False,
            }
            | over
        ),
    )


def upload(env: Env, records: list[IncomeRecord], name: str = "salary.csv") -> Any:
    data = format_csv(records).encode()
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        summary = import_income(
            uow.session, TenantKeys(uow.session, env.state.ring), ACTOR, data, name
        )
        uow.commit()
    return summary


def run(env: Env, year: int = 2026, **kw: Any) -> service.RunReport:
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        return service.assess_year(uow.session, year, PARAMS, ACTOR, **kw)


def current(env: Env, pid: uuid.UUID, year: int = 2026) -> TaxAssessment | None:
    return env.read(lambda s: service.current_assessment(s, year, pid))


def count(env: Env, model: type) -> int:
    return env.read(lambda s: s.scalar(select(func.count()).select_from(model)) or 0)


def atena(env: Env, pid: uuid.UUID) -> str:
    return env.current(pid).atena_number


HEAD_BIRTH = dt.date(1975, 4, 1)
WIFE_BIRTH = dt.date(1977, 5, 5)


@pytest.fixture
def family(state: Any) -> tuple[Env, uuid.UUID, uuid.UUID, uuid.UUID]:
    env = _new_env(state)
    result = env.move_in([person(), wife(), child()], effective_on=dt.date(2025, 4, 1))
    head, spouse, kid = result.person_ids
    return env, head, spouse, kid


def test_a_salary_earner_is_assessed_with_the_family_the_register_shows(family) -> None:
    env, head, spouse, kid = family
    upload(env, [record(atena(env, head), HEAD_BIRTH)])
    report = run(env)
    assert (report.taxpayers, report.created, report.revised, report.unchanged) == (3, 3, 0, 0)

    a = current(env, head)
    assert a is not None and a.revision == 1 and a.reason == "initial" and a.resident
    # The same household typed into the rules by hand: 妻 without income, 子 born 2008 (age 17
    # on 31 December 2025: 一般扶養), grade 3 of the default 3級地-2, the municipality's prefecture.
    prefecture = env.read(lambda s: s.get(Municipality, env.tenant_id).prefecture)
    expected = assess(
        Case(
            fiscal_year=2026,
            grade=3,
            prefecture=prefecture,
            designated_city=False,
            taxpayer=Taxpayer(
                HEAD_BIRTH, (Income(IncomeKind.SALARY, 5_000_000),), social_insurance=700_000
            ),
            spouse=Spouse(WIFE_BIRTH, 0),
            dependents=(Dependent(dt.date(2008, 1, 10), 0, lives_with=True),),
        ),
        load_parameters(2026),
    )
    assert a.total == expected.total > 0
    assert a.municipal_income_levy == expected.income_levy.municipal
    assert service.breakdown(a)["spouse_deduction"] == 330_000
    assert service.breakdown(a)["total"] == a.total
    # 特別徴収 by the employer: the whole amount, June–May, fractions in June.
    assert (a.special_total, a.ordinary_total, a.ordinary_instalments) == (a.total, 0, [])
    (sc,) = env.read(lambda s: service.special_collections(s, a.id))
    assert sc.employer_corporate_number == EMPLOYER
    assert sc.monthly == [amount for _, amount in special_collection(a.total).monthly]
    assert sum(sc.monthly) == a.total

    # The wife and the child have no income: 非課税, nothing to pay, and flagged 未申告.
    for pid in (spouse, kid):
        other = current(env, pid)
        assert other is not None and other.exempt and other.total == 0
        assert service.breakdown(other)["no_income_records"] is True


def test_ordinary_collection_in_four_instalments_when_no_employer_collects(family) -> None:
    env, head, *_ = family
    upload(
        env, [declaration(atena(env, head), HEAD_BIRTH, income_kind="business", revenue=4_321_000)]
    )
    run(env)
    a = current(env, head)
    assert a is not None and a.special_total == 0 and a.ordinary_total == a.total > 0
    assert a.ordinary_instalments == [m for _, m in ordinary_collection(a.total).instalments]
    assert sum(a.ordinary_instalments) == a.total
    assert env.read(lambda s: service.special_collections(s, a.id)) == []


def test_a_second_run_writes_nothing_and_a_corrected_report_is_a_correction(family) -> None:
    env, head, *_ = family
    upload(env, [record(atena(env, head), HEAD_BIRTH)])
    run(env)
    rows = count(env, TaxAssessment)
    again = run(env)
    assert (again.created, again.revised, again.unchanged) == (0, 0, 3)
    assert count(env, TaxAssessment) == rows

    first = current(env, head)
    assert first is not None
    # A corrected 給与支払報告書 (same employer and kind) supersedes the first one.
    upload(env, [record(atena(env, head), HEAD_BIRTH, revenue=6_000_000)], "corrected.csv")
    corrected = run(env)
    assert (corrected.created, corrected.revised, corrected.unchanged) == (0, 1, 2)
    now = current(env, head)
    assert now is not None and now.revision == 2 and now.reason == "correction"
    assert now.total > first.total
    revisions = env.read(lambda s: service.history(s, 2026, head))
    assert [(r.revision, r.total) for r in revisions] == [(1, first.total), (2, now.total)]
    # Both income records are kept; only the newer one counts.
    assert count(env, IncomeEntry) == 2


def test_a_crashed_run_resumes_after_the_last_committed_chunk(family) -> None:
    env, head, *_ = family
    upload(env, [record(atena(env, head), HEAD_BIRTH)])
    partial = run(env, chunk=1, stop_after_chunks=2)
    assert partial.processed == 2
    runs = env.read(lambda s: list(s.scalars(select(AssessmentRun))))
    assert [r.status for r in runs] == ["running"]
    assert count(env, TaxAssessment) == 2
    done = run(env, chunk=1)
    assert done.resumed and done.run_id == partial.run_id
    assert (done.processed, done.created) == (3, 3)
    assert count(env, TaxAssessment) == 3
    runs = env.read(lambda s: list(s.scalars(select(AssessmentRun))))
    assert [r.status for r in runs] == ["finished"]
    # A later run starts afresh and finds nothing to change.
    fresh = run(env)
    assert not fresh.resumed and fresh.unchanged == 3


def test_who_is_assessed_follows_the_register_on_the_first_of_january(state) -> None:
    env = _new_env(state)
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
    upload(
        env,
        [
            record(atena(env, leaves.person_ids[0]), HEAD_BIRTH),
            record(atena(env, arrives.person_ids[0]), HEAD_BIRTH),
        ],
    )
    report = run(env)
    assert report.taxpayers == 1
    assert current(env, leaves.person_ids[0]) is not None  # left after 1 January: taxed here
    assert current(env, died.person_ids[0]) is None  # died before it
    assert current(env, arrives.person_ids[0]) is None  # taxed where they lived on 1 January


def test_a_non_resident_with_income_here_is_assessed(state) -> None:
    env = _new_env(state)
    outside = env.run(
        lambda r: r.register_non_resident(
            NonResidentCommand(
                family_name="県外",
                given_name="次郎",
                family_name_kana="ケンガイ",
                given_name_kana="ジロウ",
                birth_date="昭和55年1月1日",
                sex="male",
                address="石川県金沢市広坂1丁目1番1号",
                reason="市内の事業所からの給与支払報告書",
            )
        )
    )
    idle = env.run(
        lambda r: r.register_non_resident(
            NonResidentCommand(
                family_name="無収入",
                given_name="花子",
                family_name_kana="ムシュウニュウ",
                given_name_kana="ハナコ",
                birth_date="昭和55年1月1日",
                sex="female",
                address="石川県金沢市広坂1丁目1番1号",
                reason="給付",
            )
        )
    )
    (pid,) = outside.person_ids
    upload(env, [record(atena(env, pid), dt.date(1980, 1, 1))])
    report = run(env)
    assert report.taxpayers == 1
    a = current(env, pid)
    assert a is not None and not a.resident and a.total > 0
    assert current(env, idle.person_ids[0]) is None


def _nothing_imported(env: Env) -> None:
    assert count(env, IncomeImport) == 0
    assert count(env, IncomeEntry) == 0


def test_a_file_with_an_unknown_or_mismatched_person_is_rejected_whole(family) -> None:
    env, head, spouse, _kid = family
    good = record(atena(env, head), HEAD_BIRTH)
    unknown = record(
        with_m11("999999999"), HEAD_BIRTH, employer_corporate_number=corporate("123456789012")
    )
    wrong_birth = record(atena(env, spouse), dt.date(1990, 1, 1))
    with pytest.raises(ValidationFailed) as caught:
        upload(env, [good, unknown, wrong_birth])
    error = caught.value
    assert error.error_code == "income_file_rejected"
    assert "2件" in error.message
    lines = [(d["line"], d["field"]) for d in error.details]
    assert lines == [(3, "atena_number"), (4, "birth_date")]
    assert f"宛名番号 {with_m11('999999999')} の宛名がありません。" in error.details[0]["message"]
    _nothing_imported(env)


def test_a_file_mixing_fiscal_years_or_a_broken_file_is_rejected(family) -> None:
    env, head, spouse, _kid = family
    with pytest.raises(ValidationFailed) as caught:
        upload(
            env,
            [
                record(atena(env, head), HEAD_BIRTH),
                record(atena(env, spouse), WIFE_BIRTH, fiscal_year=2025),
            ],
        )
    assert [(d["line"], d["field"]) for d in caught.value.details] == [(3, "fiscal_year")]
    _nothing_imported(env)
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        with pytest.raises(ValidationFailed) as broken:
            import_income(
                uow.session,
                TenantKeys(uow.session, env.state.ring),
                ACTOR,
                b"fiscal_year,document\n2026\n",
                "x.csv",
            )
    assert broken.value.error_code == "income_file_rejected"
    _nothing_imported(env)


def test_the_same_file_twice_is_imported_once(family) -> None:
    env, head, *_ = family
    first = upload(env, [record(atena(env, head), HEAD_BIRTH)])
    second = upload(env, [record(atena(env, head), HEAD_BIRTH)])
    assert not first.already_imported and second.already_imported
    assert second.import_id == first.import_id
    assert count(env, IncomeEntry) == 1


def test_unsupported_fiscal_year_is_refused(family) -> None:
    env, *_ = family
    with pytest.raises(ValidationFailed) as caught:
        run(env, year=2019)
    assert caught.value.error_code == "unsupported_fiscal_year"
    assert count(env, AssessmentRun) == 0


def test_the_head_claims_an_earning_spouse_only_within_the_limit(family) -> None:
    env, head, spouse, _kid = family
    # The wife earns 1,200,000 in salary: 給与所得 550,000 in FY2026 (65万控除) — within 58万,
    # so still 配偶者控除 for the head; her own report is taken into the head's case.
    upload(
        env,
        [
            record(atena(env, head), HEAD_BIRTH),
            record(
                atena(env, spouse),
                WIFE_BIRTH,
                revenue=1_200_000,
                social_insurance=0,
                special_collection=False,
                employer_corporate_number=corporate("987654321098"),
            ),
        ],
    )
    run(env)
    a = current(env, head)
    assert a is not None
    params = load_parameters(2026)
    wife_income = compute_income((Income(IncomeKind.SALARY, 1_200_000),), 48, False, params)
    assert wife_income.aggregate_income == 550_000
    assert service.breakdown(a)["spouse_deduction"] == 330_000
    w = current(env, spouse)
    assert w is not None and service.breakdown(w)["salary_income"] == 550_000


def test_two_runs_of_the_same_year_never_interleave(family, database) -> None:
    """Two runs of one municipality's year never interleave: while one holds the run lock
    (PostgreSQL), another is refused at once with a Japanese message; SQLite serialises
    writers itself, so there the lock is always granted."""
    env, head, *_ = family
    upload(env, [record(atena(env, head), HEAD_BIRTH)])
    with UnitOfWork(env.state.session_factory) as holder:
        holder.set_tenant(env.ctx)
        key = env.tenant_id * 10_000 + 2026
        with run_lock(holder.session, service.LOCK_NAMESPACE, key) as got:
            assert got
            if database.is_pg:
                with pytest.raises(Conflict) as caught:
                    run(env)
                assert caught.value.error_code == "assessment_run_in_progress"
                assert "既に実行中" in caught.value.message
                assert count(env, TaxAssessment) == 0
            else:
                assert run(env).created == 3
    # Once the holder is gone the run goes ahead.
    assert run(env).processed == 3


def test_a_record_with_only_a_my_number_is_matched_by_its_blind_index(state) -> None:
    env = _new_env(state)
    number = my_number("34567890123")
    moved = env.move_in([person(my_number=number)], effective_on=dt.date(2025, 4, 1))
    (pid,) = moved.person_ids
    upload(env, [record(None, HEAD_BIRTH, my_number=number)])
    stored = env.read(lambda s: list(s.scalars(select(IncomeEntry))))
    assert [e.person_id for e in stored] == [pid]
    # A number nobody carries is a rejected line that never quotes the number.
    other = my_number("45678901234")
    with pytest.raises(ValidationFailed) as caught:
        upload(env, [record(None, HEAD_BIRTH, my_number=other, revenue=1)], "other.csv")
    assert [(d["line"], d["field"]) for d in caught.value.details] == [(2, "my_number")]
    assert other not in str(caught.value.to_dict())


def test_income_totals_sum_the_records_in_force_as_the_lines_list_them(family) -> None:
    """``income_totals`` (summed in the database) against ``income_lines`` summed here: a
    corrected report superseding the first, two employers, declarations without an employer of
    two kinds (one declared twice: the newer counts), and persons with no record or outside the
    selection."""
    env, head, spouse, kid = family
    other_employer = corporate("700000000001")
    upload(
        env,
        [
            record(atena(env, head), HEAD_BIRTH),
            record(
                atena(env, head), HEAD_BIRTH, employer_corporate_number=other_employer, revenue=1
            ),
            declaration(atena(env, spouse), WIFE_BIRTH, income_kind=IncomeKind.PUBLIC_PENSION),
            declaration(atena(env, spouse), WIFE_BIRTH, income_kind=IncomeKind.BUSINESS),
        ],
    )
    upload(
        env,
        [
            record(atena(env, head), HEAD_BIRTH, revenue=6_000_000),
            declaration(atena(env, spouse), WIFE_BIRTH, income_kind=IncomeKind.BUSINESS, revenue=7),
        ],
        "corrected.csv",
    )

    def by_lines(s: Any, ids: list[uuid.UUID] | None) -> dict[uuid.UUID, tuple[int, int, int]]:
        out = {}
        for pid, lines in service.income_lines(s, 2026, ids).items():
            kinds = [(line.kind, line.revenue) for line in lines]
            out[pid] = (
                sum(r for k, r in kinds if k == IncomeKind.SALARY),
                sum(r for k, r in kinds if k == IncomeKind.PUBLIC_PENSION),
                sum(r for k, r in kinds if k not in (IncomeKind.SALARY, IncomeKind.PUBLIC_PENSION)),
            )
        return out

    for ids in (None, [head, kid]):
        totals = env.read(lambda s, ids=ids: service.income_totals(s, 2026, ids))
        assert totals == env.read(lambda s, ids=ids: by_lines(s, ids))
    everyone = env.read(lambda s: service.income_totals(s, 2026))
    assert everyone == {head: (6_000_001, 0, 0), spouse: (0, 5_000_000, 7)}
