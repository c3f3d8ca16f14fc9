"""The annual NHI assessment (当初賦課) and its corrections (更正), one per NHI household.

地方税法703条の4 (国民健康保険税), 706条 (賦課期日 1 April; 月割 for mid-year changes),
国民健康保険法76条 (the head of the household is liable).

Who is assessed: every household with a member insured at some time in the fiscal year. The
household is the register's household on its **reference date**: 1 April (賦課期日) for a
household with a member insured then; otherwise the first day one of its members acquired in the
year (a family moving in in October is assessed from its move-in). A person belongs, for the
whole year, to the household they were in on the first day they were insured in the year; the
liable person is that household's head on its reference date (擬制世帯主 when not insured: their
income counts for the reduction test only). Household changes after the reference date
(分離・合併・世帯主変更) do not move anyone's premium to another household in the year — the
simplification most municipalities' systems make for the 当初賦課, stated here because the law
leaves the allocation to the ordinance.

Months insured (月割) come from the qualification periods (:func:`nhi.assessment_rules.
insured_months`); income from the inhabitant tax's income records of the same fiscal year
(:func:`tax.assessment_service.income_totals`, summed in the database: salary → 給与収入,
public pension → 公的年金等収入, the rest → other income); rates from the tenant parameters
(``TenantParameters.nhi``), fixed on the run row so that a correction later in the year applies
the same ordinance. A member who left NHI at 75 (後期高齢者医療) and is still in the household
counts as 特定同一世帯所属者.

Idempotent and resumable like the inhabitant tax's batch (tax.assessment_service): each
household's facts and the rates are hashed; an unchanged hash writes nothing, a changed one a new
revision (更正) keeping the earlier ones. Households are taken in household-id order, a chunk at a
time, each chunk committed with the run's cursor, so a crashed run resumes after the last
committed household. A PostgreSQL advisory lock on a connection of its own keeps two runs of one
municipality and year from overlapping. Corrections of a few households (:func:`reassess`) run in
the caller's transaction — a move-out at the counter and the premium it changes commit together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.db import (
    JsonText,
    bulk_insert,
    copy_text_insert,
    prepared_rows,
    reads_aside,
    run_lock,
    utcnow,
)
from core.errors import Conflict, NotFound, ValidationFailed
from core.ids import new_id
from core.japanese.era import fiscal_year_label
from core.processes import without_main_module
from core.scoping import require_context
from nhi import assessment_rules
from nhi import repository as repo
from nhi.assessment_models import (
    NhiAssessment,
    NhiAssessmentMember,
    NhiAssessmentRun,
    RunStatus,
)
from nhi.assessment_rules import AssessmentReason
from nhi.assessment_worker import (
    ASSESSMENT_COLUMNS,
    MEMBER_COLUMNS,
    Known,
    Produced,
    RunRows,
    Todo,
    build,
    household_of,
    init_worker,
    produce,
    summary,
    worker_ready,
    yen,
)
from nhi.models import LossReason
from nhi.rules.parameters import NhiParameters, load_parameters, supported_fiscal_years
from nhi.rules.premium import HouseholdPremium, assess
from nhi.rules.rates import NhiRates, check_rates
from nhi.simulation import SimulationResult, to_result
from resident_records.queries import ResidentOn, residents_on
from resident_records.rules.relationship import HEAD
from tax.assessment_service import IncomeTotals, income_totals
from tax.rules.parameters import TaxParameters
from tax.rules.parameters import load_parameters as load_tax_parameters
from tax.rules.parameters import supported_fiscal_years as tax_fiscal_years
from tenancy.parameters import TenantParameters
from tenancy.repository import scoped_by_param

CHUNK = 2_000
AHEAD = 2  # chunks handed to the workers before the oldest is written
POOL_FROM = 20_000  # persons ever insured before worker processes pay for their start
LOCK_NAMESPACE = 7302  # pg_advisory_lock(namespace, key): the inhabitant tax uses 7301
CANCELLED_HASH = "cancelled"


@dataclass
class RunReport:
    run_id: uuid.UUID
    fiscal_year: int
    households: int
    processed: int
    created: int
    revised: int
    unchanged: int
    cancelled: int
    resumed: bool


def check_fiscal_year(fiscal_year: int) -> None:
    """A year needs NHI parameters and the inhabitant tax's income rules (the same income)."""
    years = [y for y in supported_fiscal_years() if y in tax_fiscal_years()]
    if fiscal_year not in years:
        listed = "・".join(str(y) for y in years)
        raise ValidationFailed(
            f"{fiscal_year}年度の国民健康保険税の賦課基準は登録されていません"
            f"（対応年度: {listed}）。",
            code="unsupported_fiscal_year",
        )


def tenant_rates(params: TenantParameters, fiscal_year: int) -> NhiRates:
    """The municipality's rates (国民健康保険税条例), checked against the year's national caps."""
    if params.nhi is None:
        raise ValidationFailed(
            "国民健康保険税の税率が設定されていません。団体パラメータ（nhi）に"
            "税率・限度額を設定してから賦課してください。",
            code="nhi_rates_not_set",
        )
    check_rates(params.nhi, load_parameters(fiscal_year))
    return params.nhi


# --- the facts of a year -------------------------------------------------------------------


class MemberFacts(NamedTuple):
    """One member of an NHI household for the year: the head, an insured person, or a
    特定同一世帯所属者. (Tuples: a run builds one per insured person of the municipality.)"""

    person_id: uuid.UUID
    birth_date: dt.date | None
    head: bool
    months: frozenset[int]  # months insured (April = 0); empty if not insured
    former_insured: bool = False

    @property
    def insured(self) -> bool:
        return bool(self.months)


class HouseholdFacts(NamedTuple):
    household_id: uuid.UUID
    reference_date: dt.date
    members: tuple[MemberFacts, ...]  # the head first

    @property
    def head(self) -> MemberFacts:
        return self.members[0]


@dataclass(frozen=True)
class Prepared:
    """One household's facts as stored, hashed: the rules run only when the hash is new."""

    household: HouseholdFacts
    inputs_hash: str
    facts: JsonText  # as stored; hashed with the rates, and what the worker processes are sent


def _rules_birth(birth: dt.date | None, fiscal_year: int) -> dt.date:
    # 年月日不詳 has no date to compute an age from: taken as an adult of 30 on 1 April, so no
    # age-based rule (未就学児, 介護 40–64, 18歳未満, 75) applies — none can be shown to.
    return birth or dt.date(fiscal_year - 30, 4, 1)


def rates_digest(rates: NhiRates) -> str:
    return hashlib.sha256(rates.model_dump_json().encode()).hexdigest()


@dataclass
class YearFacts:
    """Everything a year's assessment reads, read once: qualifications, register, income."""

    fiscal_year: int
    params: NhiParameters
    tax: TaxParameters
    rates: NhiRates
    incomes: dict[uuid.UUID, IncomeTotals]
    households: dict[uuid.UUID, HouseholdFacts]

    def __post_init__(self) -> None:
        self._rates_digest = rates_digest(self.rates)

    def prepare(self, h: HouseholdFacts) -> Prepared:
        members = []
        for m in h.members:
            salary, pension, other = self.incomes.get(m.person_id, _NO_INCOME)
            months = sorted(m.months)
            members.append(
                {
                    "person_id": str(m.person_id),
                    "head": m.head,
                    "birth_date": m.birth_date.isoformat() if m.birth_date else None,
                    "rules_birth_date": _rules_birth(m.birth_date, self.fiscal_year).isoformat(),
                    "income": other,
                    "salary_revenue": salary,
                    "pension_revenue": pension,
                    "months": len(months),
                    "first_month": months[0] if months else None,
                    "last_month": months[-1] if months else None,
                    "former_insured": m.former_insured,
                }
            )
        facts = {"reference_date": h.reference_date.isoformat(), "members": members}
        text = JsonText(json.dumps(facts, separators=(",", ":")))
        digest = hashlib.sha256((self._rates_digest + text).encode()).hexdigest()
        return Prepared(h, digest, text)

    def premium(self, p: Prepared) -> HouseholdPremium:
        return self.premium_of(json.loads(p.facts))

    def premium_of(self, facts: dict[str, Any]) -> HouseholdPremium:
        """The premium rules on a household's stored facts."""
        return assess(household_of(self.fiscal_year, facts), self.rates, self.params, self.tax)


_WHOLE_YEAR = frozenset(range(assessment_rules.MONTHS))
_NO_INCOME = IncomeTotals(0, 0, 0)
BY_ID = 5_000  # ids per read of the register or the income records (an index lookup each)


def _chunks(ids: Iterable[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    values = sorted(ids)
    for start in range(0, len(values), BY_ID):
        yield values[start : start + BY_ID]


def _residents(
    session: Session,
    on: dt.date,
    *,
    person_ids: Iterable[uuid.UUID] | None = None,
    household_ids: Iterable[uuid.UUID] | None = None,
) -> list[ResidentOn]:
    """The register's residents on ``on`` among these persons or households, read in chunks."""
    out: list[ResidentOn] = []
    for part in _chunks(person_ids or ()):
        out += residents_on(session, on, person_ids=part)
    for part in _chunks(household_ids or ()):
        out += residents_on(session, on, household_ids=part)
    return out


def _member_order(m: MemberFacts) -> tuple[int, int, dt.date, uuid.UUID]:
    head = 0 if m.head else 1
    return (head, 1 if m.former_insured else 0, m.birth_date or dt.date.max, m.person_id)


def _households(
    session: Session,
    params: NhiParameters,
    periods: list[tuple[uuid.UUID, dt.date, dt.date | None, str | None]],
    april: list[ResidentOn],
    headless: Future[list[ResidentOn]] | None = None,
) -> dict[uuid.UUID, HouseholdFacts]:
    """Group the insured of the year into households on their reference dates (module doc).
    ``headless``: the residents on 1 April of the households of ``april`` without their head
    in it, being read meanwhile (``_headless``) — a superset of those read whole here.

    Written for a whole municipality at once (hundreds of thousands of persons): the common case
    — insured all year, in the household of 1 April — takes no rule call it does not need, and
    each person's facts are looked up once."""
    start, end = params.fiscal_year_start, params.fiscal_year_end
    # Keyed by the ids' integers: a UUID hashes in Python, an int in C — and this function looks
    # up each of hundreds of thousands of persons a dozen times.
    spans: dict[int, list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
    left_at_75: set[int] = set()
    for person, acquired, lost, reason in periods:
        if lost is not None and lost <= start:
            if reason == LossReason.AGE_75:
                left_at_75.add(person.int)
            continue
        spans[person.int].append((acquired, lost))
    on_april = {r.person_id.int: r for r in april}

    # Each insured person's first day in the year and their entry on that day.
    entry: dict[int, ResidentOn] = {}
    raw: dict[int, frozenset[int]] = {}  # months insured, before birth and 75 are applied
    later: dict[dt.date, list[int]] = defaultdict(list)
    first_day: dict[int, dt.date] = {}
    for pid, own in spans.items():
        if len(own) == 1 and own[0][0] <= start and (own[0][1] is None or own[0][1] > end):
            insured, first = _WHOLE_YEAR, start  # insured before April and after March
        else:
            insured = assessment_rules.insured_months(own, None, params)
            if not insured:
                continue
            first = assessment_rules.first_insured_day(own, insured, params)
        raw[pid] = insured
        first_day[pid] = first
        r = on_april.get(pid) if first == start else None
        if r is not None:
            entry[pid] = r
        else:
            later[first].append(pid)
    for day, ids in sorted(later.items()):
        for r in _residents(session, day, person_ids=[uuid.UUID(int=i) for i in ids]):
            entry[r.person_id.int] = r
    months: dict[int, frozenset[int]] = {}
    whole_year: dict[dt.date | None, frozenset[int]] = {}  # by birth date: many share one
    for pid, r in entry.items():
        insured = raw[pid]
        if insured is _WHOLE_YEAR:
            capped = whole_year.get(r.birth_date)
            if capped is None:
                capped = assessment_rules.charged_months(insured, r.birth_date, params)
                whole_year[r.birth_date] = capped
        else:
            capped = assessment_rules.charged_months(insured, r.birth_date, params)
        if capped:
            months[pid] = capped

    # Households and their reference dates: the earliest first day of their insured members.
    insured_in: dict[uuid.UUID, list[int]] = defaultdict(list)
    reference: dict[int, dt.date] = {}
    for pid in months:
        hid = entry[pid].household_id
        if hid is None:
            continue
        insured_in[hid].append(pid)
        day = first_day[pid]
        known = reference.get(hid.int)
        if known is None or day < known:
            reference[hid.int] = day

    # Who was in each household on its reference date: its head, and any 特定同一世帯所属者.
    # ``april`` holds the persons with a qualification (and, for a correction, the households'
    # members): a household whose head is not among them (擬制世帯主) is read whole.
    heads: dict[int, ResidentOn] = {}
    former: dict[int, dict[int, ResidentOn]] = defaultdict(dict)

    def there(r: ResidentOn) -> None:
        hid = r.household_id
        if hid is None:
            return
        if r.relationship == HEAD:
            heads.setdefault(hid.int, r)
        pid = r.person_id.int
        if pid in left_at_75:
            former[hid.int][pid] = r

    for r in april:
        if r.household_id is not None and reference.get(r.household_id.int) == start:
            there(r)
    by_day: dict[dt.date, list[uuid.UUID]] = defaultdict(list)
    for hid in insured_in:  # the households of ``reference``, as UUIDs
        day = reference[hid.int]
        if day != start or hid.int not in heads:
            by_day[day].append(hid)
    if headless is not None and start in by_day:
        wanted = {h.int for h in by_day.pop(start)}
        for r in headless.result():
            if r.household_id is not None and r.household_id.int in wanted:
                there(r)
    for day, hids in sorted(by_day.items()):
        for r in _residents(session, day, household_ids=hids):
            there(r)

    out: dict[uuid.UUID, HouseholdFacts] = {}
    for hid, insured_ids in insured_in.items():
        head = heads.get(hid.int)
        if head is not None:
            head_id = head.person_id.int
        else:
            # No head on the register that day (cannot normally happen): the eldest insured.
            head_id = min(insured_ids, key=lambda p: (entry[p].birth_date or dt.date.max, p))
        members: dict[int, MemberFacts] = {}
        for pid in insured_ids:
            r = entry[pid]
            members[pid] = MemberFacts(r.person_id, r.birth_date, pid == head_id, months[pid])
        if head is not None and head_id not in members:  # a 擬制世帯主
            members[head_id] = MemberFacts(
                head.person_id,
                head.birth_date,
                True,
                frozenset(),
                former_insured=head_id in left_at_75,
            )
        for pid, r in former.get(hid.int, {}).items():
            if pid not in members:
                members[pid] = MemberFacts(r.person_id, r.birth_date, False, frozenset(), True)
        out[hid] = HouseholdFacts(
            hid, reference[hid.int], tuple(sorted(members.values(), key=_member_order))
        )
    return out


def _headless(april: list[ResidentOn]) -> list[uuid.UUID]:
    """The households of these residents none of whom is their head: a 擬制世帯主's, whose
    head is read with the rest of the household."""
    households = {r.household_id for r in april if r.household_id is not None}
    return sorted(households - {r.household_id for r in april if r.relationship == HEAD})


def _income_of_insured(session: Session, fiscal_year: int) -> dict[uuid.UUID, IncomeTotals]:
    return income_totals(session, fiscal_year, repo.persons_ever_insured(session))


def load_year(
    session: Session,
    fiscal_year: int,
    rates: NhiRates,
    person_ids: Collection[uuid.UUID] | None = None,
    *,
    with_income: bool = True,
) -> YearFacts:
    """Read what a year's assessment needs in the session's tenant: everyone, or only these
    persons and whoever may share a household with them in the year (a reaction to a change).
    ``with_income=False`` leaves the income out (only the households are wanted)."""
    params = load_parameters(fiscal_year)
    start, end = params.fiscal_year_start, params.fiscal_year_end
    incomes: dict[uuid.UUID, IncomeTotals] = {}
    if person_ids is None:
        # The whole municipality (no writes of this session to see): the qualifications and the
        # income of everyone ever insured are read on connections of their own while this one
        # reads the register on 1 April — only those with a qualification (a third of the
        # residents or fewer), selected in the database: no ids sent back and forth.
        with reads_aside(session) as aside:
            ever_income = aside(_income_of_insured, fiscal_year) if with_income else None
            read_periods = aside(repo.periods, start, end)
            april = residents_on(session, start, person_ids=repo.persons_ever_insured(session))
            headless = aside(_residents, start, household_ids=_headless(april))
            periods = read_periods.result()
            households = _households(session, params, periods, april, headless)
            if ever_income is not None:
                incomes = ever_income.result()
        # A 擬制世帯主 may never have been insured here: their income, too (the reduction test).
        read = {pid for pid, *_ in periods}
    else:
        periods = repo.periods(session, start, end, person_ids)
        april = _residents(session, start, person_ids=person_ids)
        households = _households(session, params, periods, april)
        read = set()
    year = YearFacts(
        fiscal_year, params, load_tax_parameters(fiscal_year), rates, incomes, households
    )
    if with_income:
        add_income(session, year, already=read)
    return year


def add_income(session: Session, year: YearFacts, *, already: Collection[uuid.UUID] = ()) -> None:
    """Read the income of every member of the year's households not read ``already``."""
    wanted = {m.person_id for h in year.households.values() for m in h.members}
    for part in _chunks(wanted.difference(already)):
        year.incomes.update(income_totals(session, year.fiscal_year, part))


# --- writing -------------------------------------------------------------------------------


def _current(
    session: Session, fiscal_year: int, household_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, Known]:
    """Each household's newest revision, its facts' hash and its instalments."""
    a = NhiAssessment
    stmt = select(a.household_id, a.revision, a.inputs_hash, a.instalments).where(
        a.fiscal_year == fiscal_year
    )
    if household_ids is not None:
        stmt = stmt.where(a.household_id.in_(list(household_ids)))
    current: dict[uuid.UUID, Known] = {}
    for hid, revision, digest, instalments in session.execute(stmt):
        known = current.get(hid)
        if known is None or known.revision < revision:
            current[hid] = Known(revision, digest, instalments)
    return current


def changed(prepared: list[Prepared], current: dict[uuid.UUID, Known]) -> list[Prepared]:
    """The households whose facts' hash differs from their revision in force (or who have none)."""
    out = []
    for p in prepared:
        known = current.get(p.household.household_id)
        if known is None or known.inputs_hash != p.inputs_hash:
            out.append(p)
    return out


def _write(
    session: Session,
    year: YearFacts,
    todo: list[Prepared],
    current: dict[uuid.UUID, Known],
    run: RunRows,
    produced: list[tuple[list[uuid.UUID], Future[Produced]]] | None = None,
) -> tuple[int, int]:
    """Assess and insert the households whose facts changed (``todo``); returns (created,
    revised). ``produced``: their rows as the worker processes built them, if they did."""
    created = sum(1 for p in todo if p.household.household_id not in current)
    if produced is not None:
        assessments, members = [], []
        for ids, future in produced:
            part = future.result()
            assessments.append(part.assessments)
            members.append(part.members)
            current.update(zip(ids, part.known, strict=True))
        copy_text_insert(session, NhiAssessment, ASSESSMENT_COLUMNS, assessments)
        copy_text_insert(session, NhiAssessmentMember, MEMBER_COLUMNS, members)
        return created, len(todo) - created
    rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    for p in todo:
        hid = p.household.household_id
        facts = json.loads(p.facts)
        built = build(
            run,
            Todo(hid, p.inputs_hash, p.facts, current.get(hid)),
            facts,
            summary(year.premium_of(facts)),
            uuid.UUID,
        )
        rows.append(dict(zip(ASSESSMENT_COLUMNS, built.assessment, strict=True)))
        member_rows += (dict(zip(MEMBER_COLUMNS, m, strict=True)) for m in built.members)
        current[hid] = built.known
    bulk_insert(session, NhiAssessment, rows)
    bulk_insert(session, NhiAssessmentMember, member_rows)
    return created, len(todo) - created


def _cancel(
    session: Session,
    fiscal_year: int,
    household_ids: Iterable[uuid.UUID],
    current: dict[uuid.UUID, Known],
    run_id: uuid.UUID,
    today: dt.date,
) -> int:
    """賦課の取消: a household with nobody insured in the year after all gets a revision of zero
    (what was due before is refunded: every instalment becomes zero)."""
    tenant_id = require_context(session).tenant_id
    now = utcnow()
    rows = []
    for hid in sorted(household_ids):
        known = current.get(hid)
        if known is None or known.inputs_hash == CANCELLED_HASH:
            continue
        previous = session.scalars(
            select(NhiAssessment).where(
                NhiAssessment.fiscal_year == fiscal_year,
                NhiAssessment.household_id == hid,
                NhiAssessment.revision == known.revision,
            )
        ).one()
        plan = assessment_rules.instalments(0, fiscal_year, previous=known.instalments, on=today)
        rows.append(
            {
                "tenant_id": tenant_id,
                "id": new_id(),
                "fiscal_year": fiscal_year,
                "household_id": hid,
                "revision": known.revision + 1,
                "reason": AssessmentReason.CANCELLATION,
                "run_id": run_id,
                "assessed_at": now,
                "inputs_hash": CANCELLED_HASH,
                "reference_date": previous.reference_date,
                "head_person_id": previous.head_person_id,
                "nominal_head": previous.nominal_head,
                "insured": 0,
                "reduction_rate": "0",
                "components": {},
                "total": 0,
                "instalments": plan,
                "facts": {"cancelled": True},
            }
        )
        current[hid] = Known(known.revision + 1, CANCELLED_HASH, plan)
    bulk_insert(session, NhiAssessment, rows)
    return len(rows)


# --- the annual run --------------------------------------------------------------------------


@contextmanager
def _run_lock(session: Session, tenant_id: int, fiscal_year: int) -> Iterator[None]:
    """One run per municipality and year at a time (core.db.run_lock)."""
    with run_lock(session, LOCK_NAMESPACE, tenant_id * 10_000 + fiscal_year) as got:
        if not got:
            raise Conflict(
                f"{fiscal_year}年度の国民健康保険税の賦課処理は既に実行中です。",
                code="nhi_assessment_run_in_progress",
            )
        yield


@dataclass
class _Chunk:
    households: list[uuid.UUID]
    todo: list[Prepared]  # those whose facts changed
    run: RunRows
    produced: list[tuple[list[uuid.UUID], Future[Produced]]] | None


def _pool(workers: int, fiscal_year: int, rates: NhiRates) -> ProcessPoolExecutor | None:
    if workers <= 1:
        return None
    # spawn, not fork: a forked copy of a process holding database connections may share them.
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(fiscal_year, rates.model_dump(mode="json")),
    )
    # A process is spawned per task submitted while none is idle: start them all now, without
    # this process's main module (the CLI's or a script's), which a spawned process would
    # otherwise import — seconds of the two cores the run shares — to use none of it.
    with without_main_module():
        for _ in range(workers):
            pool.submit(worker_ready)
    return pool


def _submit(
    pool: ProcessPoolExecutor | None,
    todo: list[Prepared],
    run: RunRows,
    current: dict[uuid.UUID, Known],
    workers: int,
) -> list[tuple[list[uuid.UUID], Future[Produced]]] | None:
    if pool is None:
        return None
    size = max(1, -(-len(todo) // workers))
    out = []
    for start in range(0, len(todo), size):
        part = todo[start : start + size]
        ids = [p.household.household_id for p in part]
        # Ids and facts as plain text: they cross the process boundary far cheaper than UUIDs.
        items = [
            Todo(str(h), p.inputs_hash, str(p.facts), current.get(h))
            for h, p in zip(ids, part, strict=True)
        ]
        out.append((ids, pool.submit(produce, run, items)))
    return out


def _commit_chunk(
    session: Session,
    year: YearFacts,
    task: _Chunk,
    current: dict[uuid.UUID, Known],
    run: NhiAssessmentRun,
    done: int,
) -> int:
    """Write one chunk and commit it together with the run's cursor; returns households done."""
    created, revised = _write(session, year, task.todo, current, task.run, task.produced)
    run.cursor = task.households[-1]
    run.processed += len(task.households)
    run.created += created
    run.revised += revised
    run.unchanged += len(task.households) - len(task.todo)
    session.commit()
    return done + len(task.households)


def assess_year(
    session: Session,
    fiscal_year: int,
    params: TenantParameters,
    actor: audit.Actor,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
    stop_after_chunks: int | None = None,
    today: dt.date | None = None,
    workers: int | None = None,
) -> RunReport:
    """地方税法703条の4・706条・国保法76条: the annual assessment of every NHI household.

    The session must carry the tenant context and no open writes; each chunk is committed here.
    ``stop_after_chunks`` ends the run early as a crash would (tests of resuming use it).
    ``workers`` > 1 runs the premium rules and builds the rows (as COPY text) in that many
    processes while this one reads and writes — on PostgreSQL; by default one per core when at
    least ``POOL_FROM`` persons have ever been insured here (starting processes costs time, so
    a small municipality's run keeps to this one).
    """
    check_fiscal_year(fiscal_year)
    rates = tenant_rates(params, fiscal_year)
    day = today or dt.date.today()
    tenant_id = require_context(session).tenant_id
    with _run_lock(session, tenant_id, fiscal_year):
        run = session.scalars(
            select(NhiAssessmentRun)
            .where(
                NhiAssessmentRun.fiscal_year == fiscal_year,
                NhiAssessmentRun.status == RunStatus.RUNNING,
            )
            .order_by(NhiAssessmentRun.started_at.desc())
            .limit(1)
        ).first()
        resumed = run is not None
        if run is None:
            run = NhiAssessmentRun(
                tenant_id=tenant_id,
                id=new_id(),
                fiscal_year=fiscal_year,
                started_by=f"{actor.kind}:{actor.id}"[:64],
                rates=rates.model_dump(mode="json"),
            )
            session.add(run)
        else:
            # A resumed run finishes with the rates it started with.
            rates = NhiRates.model_validate(run.rates)
        if session.get_bind().dialect.name != "postgresql":
            workers = 1  # the workers' rows are COPY text (core.db.copy_text_insert)
        elif workers is None:
            # Every household has an insured member: never more households than persons.
            large = repo.count_persons_ever_insured(session) >= POOL_FROM
            workers = (os.cpu_count() or 1) if large else 1
        # Started before the year is read, so the workers import and initialise meanwhile.
        pool = _pool(workers, fiscal_year, rates)
        try:
            year = load_year(session, fiscal_year, rates)
            households = sorted(year.households)
            current = _current(session, fiscal_year)
            run.households = len(households)
            audit.record(
                session,
                actor=actor,
                action="nhi.assessment_run_resumed" if resumed else "nhi.assessment_run_started",
                subject_type="nhi_assessment_run",
                subject_id=str(run.id),
                details={"fiscal_year": fiscal_year, "households": len(households)},
            )
            session.commit()
            cursor = run.cursor
            todo = [h for h in households if cursor is None or h > cursor]
            done = len(households) - len(todo)
            if progress is not None:
                progress(done, len(households))
            # Chunks k+1 and k+2 are prepared and handed to the workers before chunk k is
            # written, so the rules run while the database writes (and a chunk that takes the
            # workers longer does not stall the writing); chunks are still committed in order.
            pending: deque[_Chunk] = deque()
            for chunks, begin in enumerate(range(0, len(todo), chunk)):
                if stop_after_chunks is not None and chunks >= stop_after_chunks:
                    break
                part = todo[begin : begin + chunk]
                changes = changed([year.prepare(year.households[h]) for h in part], current)
                rows = RunRows(tenant_id, fiscal_year, run.id, utcnow(), day)
                pending.append(
                    _Chunk(part, changes, rows, _submit(pool, changes, rows, current, workers))
                )
                if len(pending) > AHEAD:
                    done = _commit_chunk(session, year, pending.popleft(), current, run, done)
                    if progress is not None:
                        progress(done, len(households))
            while pending:
                done = _commit_chunk(session, year, pending.popleft(), current, run, done)
                if progress is not None:
                    progress(done, len(households))
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        if stop_after_chunks is not None and done < len(households):
            return _report(run, resumed)
        # Households assessed before that have no insured member in the year any more.
        gone = [h for h in current if h not in year.households]
        run.cancelled += _cancel(session, fiscal_year, gone, current, run.id, day)
        run.status = RunStatus.FINISHED
        run.finished_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="nhi.assessment_run_finished",
            subject_type="nhi_assessment_run",
            subject_id=str(run.id),
            details={
                "fiscal_year": fiscal_year,
                "processed": run.processed,
                "created": run.created,
                "revised": run.revised,
                "unchanged": run.unchanged,
                "cancelled": run.cancelled,
            },
        )
        session.commit()
        return _report(run, resumed)


def _report(run: NhiAssessmentRun, resumed: bool) -> RunReport:
    return RunReport(
        run.id,
        run.fiscal_year,
        run.households,
        run.processed,
        run.created,
        run.revised,
        run.unchanged,
        run.cancelled,
        resumed,
    )


# --- corrections of a few households (reactions to changes) --------------------------------


def assessed_years(session: Session) -> list[int]:
    """Fiscal years with an annual run (started or finished)."""
    # Asked by every move-in with an insured newcomer (nhi.assessment_handlers): a Core
    # statement built once, not an ORM query (three times the database's own time).
    r = NhiAssessmentRun
    rows = prepared_rows(
        session,
        "nhi.assessed_years",
        lambda: scoped_by_param(r).with_only_columns(r.fiscal_year).distinct(),
        {},
    )
    return sorted(year for (year,) in rows)


def year_run(session: Session, fiscal_year: int) -> NhiAssessmentRun | None:
    """The newest annual run of the year: its rates apply to the year's corrections."""
    return session.scalars(
        select(NhiAssessmentRun)
        .where(NhiAssessmentRun.fiscal_year == fiscal_year)
        .order_by(NhiAssessmentRun.started_at.desc())
        .limit(1)
    ).first()


def reassess(
    session: Session,
    fiscal_year: int,
    person_ids: Iterable[uuid.UUID],
    *,
    today: dt.date | None = None,
) -> tuple[int, int, int]:
    """地方税法17条の5 (更正): reassess the households these persons are or were in, in the
    caller's transaction, with the year's rates. A household left with nobody insured in the
    year gets a cancelling revision. Returns (created, revised or cancelled, unchanged)."""
    run = year_run(session, fiscal_year)
    if run is None:
        return 0, 0, 0
    day = today or dt.date.today()
    rates = NhiRates.model_validate(run.rates)
    ids = set(person_ids)
    params = load_parameters(fiscal_year)
    m = NhiAssessmentMember
    stored = set(
        session.scalars(
            select(m.household_id).where(m.fiscal_year == fiscal_year, m.person_id.in_(ids))
        )
    )
    # Households the persons are in now, for the year (their reference households).
    first = load_year(session, fiscal_year, rates, ids, with_income=False)
    touched = stored | set(first.households)
    if not touched:
        return 0, 0, 0
    candidates = set(ids)
    # Through the assessments' (year, household) index and the members' assessment index: the
    # members table has no index on the household (the annual run writes a row per member).
    a = NhiAssessment
    candidates.update(
        session.scalars(
            select(m.person_id)
            .join(a, (a.tenant_id == m.tenant_id) & (a.id == m.assessment_id))
            .where(a.fiscal_year == fiscal_year, a.household_id.in_(touched))
        )
    )
    candidates.update(
        r.person_id for r in residents_on(session, params.fiscal_year_start, household_ids=touched)
    )
    if candidates == ids:
        # Nobody else shares a household with them in the year (a household moving in): the
        # households read first are the year's; only their income is still to read.
        year = first
        add_income(session, year)
    else:
        year = load_year(session, fiscal_year, rates, candidates)
    current = _current(session, fiscal_year, touched)
    prepared = [year.prepare(year.households[h]) for h in sorted(touched) if h in year.households]
    todo = changed(prepared, current)
    rows = RunRows(require_context(session).tenant_id, fiscal_year, run.id, utcnow(), day)
    created, revised = _write(session, year, todo, current, rows)
    unchanged = len(prepared) - len(todo)
    gone = [h for h in touched if h not in year.households]
    cancelled = _cancel(session, fiscal_year, gone, current, run.id, day)
    return created, revised + cancelled, unchanged


# --- reading ---------------------------------------------------------------------------------


def history(session: Session, fiscal_year: int, household_id: uuid.UUID) -> list[NhiAssessment]:
    """Every revision of one household's assessment for one year, the first first."""
    return list(
        session.scalars(
            select(NhiAssessment)
            .where(
                NhiAssessment.fiscal_year == fiscal_year,
                NhiAssessment.household_id == household_id,
            )
            .order_by(NhiAssessment.revision)
        )
    )


def current_assessment(
    session: Session, fiscal_year: int, household_id: uuid.UUID
) -> NhiAssessment | None:
    """The revision in force (the newest)."""
    newest = session.scalar(
        select(func.max(NhiAssessment.revision)).where(
            NhiAssessment.fiscal_year == fiscal_year, NhiAssessment.household_id == household_id
        )
    )
    if newest is None:
        return None
    return session.scalars(
        select(NhiAssessment).where(
            NhiAssessment.fiscal_year == fiscal_year,
            NhiAssessment.household_id == household_id,
            NhiAssessment.revision == newest,
        )
    ).one()


def current_assessments(session: Session, fiscal_year: int) -> list[NhiAssessment]:
    """The revision in force of every household assessed in the year (cancelled ones left out),
    in household order."""
    newest: dict[uuid.UUID, NhiAssessment] = {}
    rows = session.scalars(
        select(NhiAssessment)
        .where(NhiAssessment.fiscal_year == fiscal_year)
        .order_by(NhiAssessment.household_id, NhiAssessment.revision)
    )
    for row in rows:
        newest[row.household_id] = row
    return [a for a in newest.values() if a.reason != AssessmentReason.CANCELLATION]


def run_rates(session: Session, row: NhiAssessment) -> NhiRates:
    run = session.scalars(select(NhiAssessmentRun).where(NhiAssessmentRun.id == row.run_id)).one()
    return NhiRates.model_validate(run.rates)


def rules_premium(row: NhiAssessment, rates: NhiRates) -> HouseholdPremium:
    """The rules' whole breakdown of a stored assessment, recomputed from its facts and rates."""
    premium = assess(household_of(row.fiscal_year, row.facts), rates)
    if sum(yen(c.amount) for c in premium.components) != row.total:
        # The rules or the parameter file changed since: showing the new figures under the old
        # assessment would misstate what was levied.
        raise ValidationFailed(
            "賦課の内容が現在の保険税の計算と一致しません。更正の後に照会してください。",
            code="nhi_assessment_outdated",
        )
    return premium


def breakdown(session: Session, row: NhiAssessment) -> SimulationResult | None:
    """Every figure of a stored assessment (the simulation's output); None if cancelled."""
    if row.reason == AssessmentReason.CANCELLATION:
        return None
    return to_result(rules_premium(row, run_rates(session, row)))


def require_assessment(
    session: Session, fiscal_year: int, household_id: uuid.UUID
) -> list[NhiAssessment]:
    """The revisions of a household's year; 404 when there is none in this municipality."""
    rows = history(session, fiscal_year, household_id)
    if not rows:
        raise NotFound(
            f"{fiscal_year_label(fiscal_year)}の国民健康保険税の賦課はありません。",
            code="nhi_assessment_not_found",
        )
    return rows


__all__ = [
    "RunReport",
    "assess_year",
    "assessed_years",
    "breakdown",
    "current_assessment",
    "current_assessments",
    "history",
    "reassess",
]
