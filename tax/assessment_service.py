"""The annual assessment (当初賦課) and reassessments (更正) of the inhabitant tax.

地方税法318条 (賦課期日), 319条の2 (普通徴収), 321条の3–321条の5 (給与所得に係る特別徴収).

Who is assessed: every resident on 1 January of the fiscal year (read from the register as of
that date) and every 住登外者 with income records for the year (地方税法294条3項: living here on
1 January without being in the register). Income comes from the stored intake records, the
newest record of each (person, employer, kind) winning. The family comes from the register: the
household head claims the spouse (妻/夫) and the other relatives of the household on 1 January
as 配偶者 and 扶養親族 with their own 合計所得 from their own records — the intake format does
not carry the 給与支払報告書's 扶養 entries yet, and the flags (障害者, 寡婦, ひとり親,
勤労学生) are not known either, so they are taken as absent.

Idempotent and resumable: each person's facts are hashed; an unchanged hash writes nothing, a
changed one writes a new revision (更正) and keeps the earlier ones. Taxpayers are taken in
person-id order, a chunk at a time, and each chunk is committed together with the run's cursor,
so a crashed run resumes after the last committed person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from core import audit
from core.db import (
    among,
    among_param,
    bulk_insert,
    core_rows,
    newest_per,
    prepared_rows,
    run_lock,
    scoped_rows,
    utcnow,
)
from core.errors import Conflict, ValidationFailed
from core.ids import new_id
from core.scoping import require_context
from resident_records.queries import ResidentOn, persons_by_id, residents_on
from resident_records.rules.relationship import HEAD, LODGER, RELATIVE
from tax.models import (
    AssessmentReason,
    AssessmentRun,
    IncomeEntry,
    RunStatus,
    SpecialCollection,
    TaxAssessment,
)
from tax.rules.ages import age_at_year_end
from tax.rules.assessment import Assessment, assess
from tax.rules.collection import ordinary_collection, special_collection
from tax.rules.exemption import grade_of
from tax.rules.facts import (
    Case,
    Dependent,
    Income,
    IncomeKind,
    Spouse,
    Taxpayer,
    case_from_json,
    case_to_json,
)
from tax.rules.income import compute_income
from tax.rules.parameters import TaxParameters, load_parameters, supported_fiscal_years
from tax.simulation import to_result
from tax.taxpayers import assessment_date, resident_taxpayers
from tenancy.models import Municipality, MunicipalityKind
from tenancy.parameters import TenantParameters
from tenancy.repository import scoped, scoped_by_param

SPOUSES = frozenset({"妻", "夫"})  # 配偶者控除 needs a legal spouse: not 妻（未届）/夫（未届）
CHUNK = 2_000
LOCK_NAMESPACE = 7301  # core.db.run_lock(namespace, key); the NHI premium run uses 7302


@dataclass(frozen=True)
class Member:
    """A taxpayer or a member of one's household, as the register knew them on 1 January."""

    person_id: uuid.UUID
    resident: bool
    birth_date: dt.date | None
    household_id: uuid.UUID | None
    relationship: str | None


@dataclass(frozen=True)
class IncomeLine:
    kind: str
    revenue: int
    social_insurance: int
    employer_corporate_number: str | None
    employer_name: str | None
    special_collection: bool


@dataclass(frozen=True)
class Municipal:
    """The tenant's facts the rules need: 級地, prefecture, designated city."""

    grade: int
    prefecture: str
    designated_city: bool


@dataclass
class RunReport:
    run_id: uuid.UUID
    fiscal_year: int
    taxpayers: int
    processed: int
    created: int
    revised: int
    unchanged: int
    resumed: bool


def municipal_facts(session: Session, params: TenantParameters) -> Municipal:
    """The 級地 (tenant parameter) and the municipality's prefecture and kind."""
    tenant_id = require_context(session).tenant_id
    m = session.get(Municipality, tenant_id)
    if m is None:
        raise ValidationFailed("団体が見つかりません。", code="municipality_not_found")
    return Municipal(
        grade=grade_of(params.kyuchi),
        prefecture=m.prefecture,
        designated_city=m.kind == MunicipalityKind.DESIGNATED_CITY,
    )


def check_fiscal_year(fiscal_year: int) -> None:
    if fiscal_year not in supported_fiscal_years():
        years = "・".join(str(y) for y in supported_fiscal_years())
        raise ValidationFailed(
            f"{fiscal_year}年度の税率等は登録されていません（対応年度: {years}）。",
            code="unsupported_fiscal_year",
        )


# --- reading the facts ---------------------------------------------------------------------


def income_lines(
    session: Session,
    fiscal_year: int,
    person_ids: Iterable[uuid.UUID] | Select[uuid.UUID] | None = None,
) -> dict[uuid.UUID, list[IncomeLine]]:
    """The income records in force per person for a fiscal year (the previous calendar year's
    income): the newest of each (employer, kind). A read service for other areas too (the NHI
    premium's income test and 所得割 read the same income). ``person_ids``: ids, or a statement
    selecting them."""
    e = IncomeEntry
    stmt = (
        scoped(session, e)
        .with_only_columns(
            e.person_id,
            e.employer_corporate_number,
            e.income_kind,
            e.employer_name,
            e.revenue,
            e.social_insurance,
            e.special_collection,
        )
        .where(e.fiscal_year == fiscal_year)
        .order_by(e.imported_at, e.line)
    )
    if person_ids is not None:
        stmt = stmt.where(among(session, e.person_id, person_ids))
    newest: dict[uuid.UUID, dict[tuple[str | None, str], IncomeLine]] = defaultdict(dict)
    for pid, corp, kind, name, revenue, social, special in core_rows(session, stmt):
        newest[pid][(corp, kind)] = IncomeLine(kind, revenue, social, corp, name, special)
    return {pid: list(lines.values()) for pid, lines in newest.items()}


class IncomeTotals(NamedTuple):
    """One person's revenue in the records in force, by the kinds the NHI premium tells apart."""

    salary: int  # 給与収入
    pension: int  # 公的年金等収入
    other: int  # every other kind, as reported


def income_totals(
    session: Session,
    fiscal_year: int,
    person_ids: Iterable[uuid.UUID] | Select[uuid.UUID] | None = None,
) -> dict[uuid.UUID, IncomeTotals]:
    """The revenue of :func:`income_lines`' records (the newest of each employer and kind),
    summed per person in the database: for a municipality's batch that needs only the sums
    (the NHI premium's facts), one row a person instead of a row and an object per record."""
    if isinstance(person_ids, Select):
        stmt = _income_totals_statement(session, person_ids)
        rows = scoped_rows(session, stmt, {"year": fiscal_year})
    else:
        by = "all" if person_ids is None else "persons"
        rows = prepared_rows(
            session,
            ("tax.income_totals", by),
            lambda: _income_totals_statement(session, by),
            {"year": fiscal_year} | ({} if person_ids is None else {"ids": list(person_ids)}),
        )
    return {pid: IncomeTotals(int(s), int(p), int(o)) for pid, s, p, o in rows}


def _income_totals_statement(session: Session, by: str | Select[uuid.UUID]) -> Select[Any]:
    """The statement of :func:`income_totals`: parameters tenant, year (and ids)."""
    e = IncomeEntry
    key = (e.person_id, e.employer_corporate_number, e.income_kind)
    newest_first = (e.imported_at.desc(), e.line.desc())
    query = scoped_by_param(e).where(e.fiscal_year == bindparam("year"))
    if isinstance(by, Select):
        query = query.where(among(session, e.person_id, by))
    elif by == "persons":
        query = query.where(among_param(session, e.person_id, "ids"))
    in_force = newest_per(
        session, query, (e.person_id, e.income_kind, e.revenue), key, newest_first
    )
    kind, revenue = in_force.c.income_kind, in_force.c.revenue

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, revenue), else_=0)), 0)

    salary, pension = IncomeKind.SALARY.value, IncomeKind.PUBLIC_PENSION.value
    return select(
        in_force.c.person_id,
        total(kind == salary),
        total(kind == pension),
        total(kind.not_in([salary, pension])),
    ).group_by(in_force.c.person_id)


def _taxpayers(
    session: Session,
    fiscal_year: int,
    incomes: dict[uuid.UUID, list[IncomeLine]],
    on: list[ResidentOn],
    candidates: Iterable[uuid.UUID],
) -> tuple[list[Member], dict[uuid.UUID, list[Member]]]:
    """法318条・294条3項: residents on 1 January, then 住登外者 with income here; by household."""
    members = [Member(r.person_id, True, r.birth_date, r.household_id, r.relationship) for r in on]
    resident_ids = {m.person_id for m in members}
    others = [pid for pid in candidates if pid not in resident_ids and pid in incomes]
    for brief in persons_by_id(session, others).values():
        if brief.status == "non_resident":
            members.append(Member(brief.person_id, False, brief.birth_date, None, None))
    households: dict[uuid.UUID, list[Member]] = defaultdict(list)
    for m in members:
        if m.household_id is not None:
            households[m.household_id].append(m)
    members.sort(key=lambda m: m.person_id)
    return members, households


def _birth(m: Member, fiscal_year: int) -> dt.date:
    # An uncertain birth date (不詳) has no day to compute an age from: the age-based rules
    # (65+ pension deduction, 70+ spouse, dependant ages) are then not applied — 1 January of
    # the fiscal year gives age 0 on the year end before it, the most conservative reading.
    return m.birth_date or assessment_date(fiscal_year)


def _collector(lines: list[IncomeLine]) -> IncomeLine | None:
    """法321条の3: the employer that collects — the one paying the largest salary (主たる給与)."""
    special = [line for line in lines if line.kind == "salary" and line.special_collection]
    if not special:
        return None
    return max(special, key=lambda line: (line.revenue, line.employer_corporate_number or ""))


@dataclass(frozen=True)
class Prepared:
    """One taxpayer's facts, hashed: the rules run only when the hash is new."""

    person_id: uuid.UUID
    resident: bool
    inputs_hash: str
    case: Case
    collector: IncomeLine | None
    facts: dict[str, Any]  # stored with the assessment (case_to_json, no_income_records)


@dataclass
class YearFacts:
    """Everything a year's assessment reads, read once: register, incomes, parameters."""

    fiscal_year: int
    municipal: Municipal
    params: TaxParameters
    incomes: dict[uuid.UUID, list[IncomeLine]]
    members: list[Member]
    households: dict[uuid.UUID, list[Member]]
    _aggregate: dict[uuid.UUID, int] = dataclasses.field(default_factory=dict)

    def aggregate_income(self, m: Member) -> int:
        """合計所得金額 of a household member, for the head's 配偶者・扶養 tests (cached)."""
        known = self._aggregate.get(m.person_id)
        if known is not None:
            return known
        lines = self.incomes.get(m.person_id, [])
        value = 0
        if lines:
            value = compute_income(
                tuple(Income(IncomeKind(line.kind), line.revenue) for line in lines),
                age_at_year_end(_birth(m, self.fiscal_year), self.params),
                False,
                self.params,
            ).aggregate_income
        self._aggregate[m.person_id] = value
        return value

    def case(self, m: Member) -> Case:
        """The rules' facts for one taxpayer from the register and the income records."""
        year = self.fiscal_year
        lines = self.incomes.get(m.person_id, [])
        spouse: Spouse | None = None
        dependents: list[Dependent] = []
        if m.relationship == HEAD and m.household_id is not None:
            for other in self.households[m.household_id]:
                if other.person_id == m.person_id:
                    continue
                rel = other.relationship or ""
                if rel in SPOUSES and spouse is None:
                    spouse = Spouse(_birth(other, year), self.aggregate_income(other))
                elif rel not in {HEAD, LODGER, RELATIVE} and "未届" not in rel:
                    dependents.append(
                        Dependent(_birth(other, year), self.aggregate_income(other), True)
                    )
        return Case(
            fiscal_year=year,
            grade=self.municipal.grade,
            prefecture=self.municipal.prefecture,
            designated_city=self.municipal.designated_city,
            taxpayer=Taxpayer(
                birth_date=_birth(m, year),
                incomes=tuple(Income(IncomeKind(line.kind), line.revenue) for line in lines),
                social_insurance=sum(line.social_insurance for line in lines),
            ),
            spouse=spouse,
            dependents=tuple(sorted(dependents, key=lambda d: (d.birth_date, d.income))),
        )

    def prepare(self, m: Member) -> Prepared:
        case = self.case(m)
        lines = self.incomes.get(m.person_id, [])
        collector = _collector(lines)
        facts = {"case": case_to_json(case), "no_income_records": not lines}
        # The stored facts plus who collects and whether resident: the same JSON, the same
        # assessment (the fiscal year, hence the parameter file, is in the case).
        key = [facts, m.resident]
        if collector is not None:
            key.append([collector.employer_corporate_number, collector.employer_name])
        digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()
        return Prepared(m.person_id, m.resident, digest, case, collector, facts)


def load_year(
    session: Session,
    fiscal_year: int,
    params: TenantParameters,
    person_ids: Collection[uuid.UUID] | None = None,
) -> YearFacts:
    """Read what a year's assessment needs, in the session's tenant: everyone, or only these
    persons and the members of their households on 1 January (a reaction to one event)."""
    day = assessment_date(fiscal_year)
    if person_ids is None:
        incomes = income_lines(session, fiscal_year)
        on = resident_taxpayers(session, fiscal_year)
        candidates: Collection[uuid.UUID] = incomes.keys()
    else:
        first = residents_on(session, day, person_ids=person_ids)
        households = {r.household_id for r in first if r.household_id is not None}
        on = residents_on(session, day, household_ids=households) if households else []
        seen = {r.person_id for r in on}
        on += [r for r in first if r.person_id not in seen]
        candidates = {*person_ids, *seen}
        incomes = income_lines(session, fiscal_year, candidates)
    members, by_household = _taxpayers(session, fiscal_year, incomes, on, candidates)
    return YearFacts(
        fiscal_year,
        municipal_facts(session, params),
        load_parameters(fiscal_year),
        incomes,
        members,
        by_household,
    )


def _rows(
    tenant_id: int,
    fiscal_year: int,
    p: Prepared,
    a: Assessment,
    revision: int,
    run_id: uuid.UUID | None,
    now: dt.datetime,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    total = a.total
    special = total if p.collector is not None else 0
    ordinary = total - special
    assessment_id = new_id()
    row = {
        "tenant_id": tenant_id,
        "id": assessment_id,
        "fiscal_year": fiscal_year,
        "person_id": p.person_id,
        "revision": revision,
        "reason": AssessmentReason.INITIAL if revision == 1 else AssessmentReason.CORRECTION,
        "run_id": run_id,
        "assessed_at": now,
        "inputs_hash": p.inputs_hash,
        "resident": p.resident,
        "exempt": a.exemption.per_capita_exempt,
        "exempt_reason": a.exemption.reason.value if a.exemption.reason else None,
        "total_income": a.income.total_income,
        "taxable_income": a.taxable_income,
        "municipal_income_levy": a.income_levy.municipal,
        "prefectural_income_levy": a.income_levy.prefectural,
        "municipal_per_capita": a.per_capita_levy.municipal,
        "prefectural_per_capita": a.per_capita_levy.prefectural,
        "forest_environment_tax": a.per_capita_levy.forest_environment_tax,
        "total": total,
        "special_total": special,
        "ordinary_total": ordinary,
        "ordinary_instalments": (
            [amount for _, amount in ordinary_collection(ordinary).instalments] if ordinary else []
        ),
        "facts": p.facts,
    }
    sc = None
    if p.collector is not None and special:
        schedule = special_collection(special)
        sc = {
            "tenant_id": tenant_id,
            "id": new_id(),
            "assessment_id": assessment_id,
            "fiscal_year": fiscal_year,
            "person_id": p.person_id,
            "employer_corporate_number": p.collector.employer_corporate_number or "",
            "employer_name": p.collector.employer_name or "",
            "annual": special,
            "monthly": [amount for _, amount in schedule.monthly],
        }
    return row, sc


def _current(
    session: Session, fiscal_year: int, person_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[int, str]]:
    """Each person's newest revision and its facts' hash."""
    t = TaxAssessment
    stmt = select(t.person_id, t.revision, t.inputs_hash).where(t.fiscal_year == fiscal_year)
    if person_ids is not None:
        stmt = stmt.where(t.person_id.in_(list(person_ids)))
    current: dict[uuid.UUID, tuple[int, str]] = {}
    for pid, revision, digest in session.execute(stmt):
        if pid not in current or current[pid][0] < revision:
            current[pid] = (revision, digest)
    return current


def _write(
    session: Session,
    year: YearFacts,
    prepared: list[Prepared],
    current: dict[uuid.UUID, tuple[int, str]],
    run_id: uuid.UUID | None,
) -> tuple[int, int, int]:
    """Assess and insert what changed; returns (created, revised, unchanged)."""
    tenant_id = require_context(session).tenant_id
    now = utcnow()
    rows: list[dict[str, Any]] = []
    collections: list[dict[str, Any]] = []
    created = revised = unchanged = 0
    for c in prepared:
        known = current.get(c.person_id)
        if known is not None and known[1] == c.inputs_hash:
            unchanged += 1
            continue
        revision = 1 if known is None else known[0] + 1
        if known is None:
            created += 1
        else:
            revised += 1
        a = assess(c.case, year.params)
        row, sc = _rows(tenant_id, year.fiscal_year, c, a, revision, run_id, now)
        rows.append(row)
        if sc is not None:
            collections.append(sc)
        current[c.person_id] = (revision, c.inputs_hash)
    bulk_insert(session, TaxAssessment, rows)
    bulk_insert(session, SpecialCollection, collections)
    return created, revised, unchanged


# --- the annual run --------------------------------------------------------------------------


@contextmanager
def _run_lock(session: Session, tenant_id: int, fiscal_year: int) -> Iterator[None]:
    """One run per municipality and year at a time (core.db.run_lock)."""
    with run_lock(session, LOCK_NAMESPACE, tenant_id * 10_000 + fiscal_year) as got:
        if not got:
            raise Conflict(
                f"{fiscal_year}年度の賦課処理は既に実行中です。",
                code="assessment_run_in_progress",
            )
        yield


def assess_year(
    session: Session,
    fiscal_year: int,
    params: TenantParameters,
    actor: audit.Actor,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
    stop_after_chunks: int | None = None,
) -> RunReport:
    """地方税法318条・319条の2・321条の3: the annual assessment of every taxpayer, chunk by chunk.

    The session must carry the tenant context and no open writes; each chunk is committed here.
    ``stop_after_chunks`` ends the run early as a crash would (tests of resuming use it).
    """
    check_fiscal_year(fiscal_year)
    tenant_id = require_context(session).tenant_id
    with _run_lock(session, tenant_id, fiscal_year):
        run = session.scalars(
            select(AssessmentRun)
            .where(
                AssessmentRun.fiscal_year == fiscal_year,
                AssessmentRun.status == RunStatus.RUNNING,
            )
            .order_by(AssessmentRun.started_at.desc())
            .limit(1)
        ).first()
        resumed = run is not None
        if run is None:
            run = AssessmentRun(
                tenant_id=tenant_id,
                id=new_id(),
                fiscal_year=fiscal_year,
                started_by=f"{actor.kind}:{actor.id}"[:64],
            )
            session.add(run)
        year = load_year(session, fiscal_year, params)
        members = year.members
        current = _current(session, fiscal_year)
        run.taxpayers = len(members)
        audit.record(
            session,
            actor=actor,
            action="tax.assessment_run_resumed" if resumed else "tax.assessment_run_started",
            subject_type="tax_assessment_run",
            subject_id=str(run.id),
            details={"fiscal_year": fiscal_year, "taxpayers": len(members)},
        )
        session.commit()
        todo = [m for m in members if run.cursor is None or m.person_id > run.cursor]
        done = len(members) - len(todo)
        if progress is not None:
            progress(done, len(members))
        for chunks, start in enumerate(range(0, len(todo), chunk)):
            if stop_after_chunks is not None and chunks >= stop_after_chunks:
                return _report(run, resumed)
            part = todo[start : start + chunk]
            prepared = [year.prepare(m) for m in part]
            created, revised, unchanged = _write(session, year, prepared, current, run.id)
            run.cursor = part[-1].person_id
            run.processed += len(part)
            run.created += created
            run.revised += revised
            run.unchanged += unchanged
            session.commit()
            done += len(part)
            if progress is not None:
                progress(done, len(members))
        run.status = RunStatus.FINISHED
        run.finished_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="tax.assessment_run_finished",
            subject_type="tax_assessment_run",
            subject_id=str(run.id),
            details={
                "fiscal_year": fiscal_year,
                "processed": run.processed,
                "created": run.created,
                "revised": run.revised,
                "unchanged": run.unchanged,
            },
        )
        session.commit()
        return _report(run, resumed)


def _report(run: AssessmentRun, resumed: bool) -> RunReport:
    return RunReport(
        run.id,
        run.fiscal_year,
        run.taxpayers,
        run.processed,
        run.created,
        run.revised,
        run.unchanged,
        resumed,
    )


# --- reassessment of a few persons (reactions to the register) -----------------------------


def reassess(
    session: Session,
    fiscal_year: int,
    person_ids: Iterable[uuid.UUID],
    params: TenantParameters,
) -> tuple[int, int, int]:
    """地方税法17条の5 (更正): reassess these persons and their households in the caller's
    transaction. A person no longer a taxpayer here gets a cancelling revision (all zero)."""
    wanted = set(person_ids)
    year = load_year(session, fiscal_year, params, wanted)
    by_id = {m.person_id: m for m in year.members}
    # The head's 配偶者・扶養 depend on the household: reassess everyone in the households touched.
    wanted.update(by_id)
    current = _current(session, fiscal_year, wanted)
    prepared = [year.prepare(by_id[pid]) for pid in sorted(wanted) if pid in by_id]
    created, revised, unchanged = _write(session, year, prepared, current, None)
    gone = [p for p in sorted(wanted) if p not in by_id]
    cancelled = _cancel(session, fiscal_year, gone, current)
    return created, revised + cancelled, unchanged


CANCELLED_HASH = "cancelled"


def _cancel(
    session: Session,
    fiscal_year: int,
    person_ids: list[uuid.UUID],
    current: dict[uuid.UUID, tuple[int, str]],
) -> int:
    """賦課の取消: a person not a taxpayer here after all gets a revision of zero."""
    tenant_id = require_context(session).tenant_id
    rows = []
    now = utcnow()
    for pid in person_ids:
        known = current.get(pid)
        if known is None or known[1] == CANCELLED_HASH:
            continue
        rows.append(
            {
                "tenant_id": tenant_id,
                "id": new_id(),
                "fiscal_year": fiscal_year,
                "person_id": pid,
                "revision": known[0] + 1,
                "reason": AssessmentReason.CANCELLATION,
                "run_id": None,
                "assessed_at": now,
                "inputs_hash": CANCELLED_HASH,
                "resident": False,
                "exempt": True,
                "exempt_reason": None,
                "total_income": 0,
                "taxable_income": 0,
                "municipal_income_levy": 0,
                "prefectural_income_levy": 0,
                "municipal_per_capita": 0,
                "prefectural_per_capita": 0,
                "forest_environment_tax": 0,
                "total": 0,
                "special_total": 0,
                "ordinary_total": 0,
                "ordinary_instalments": [],
                "facts": {"cancelled": True},
            }
        )
    bulk_insert(session, TaxAssessment, rows)
    return len(rows)


def rules_assessment(row: TaxAssessment) -> Assessment:
    """The rules' whole breakdown of a stored assessment, recomputed from its stored facts."""
    case = case_from_json(row.facts["case"])
    a = assess(case, load_parameters(case.fiscal_year))
    if a.total != row.total or a.taxable_income != row.taxable_income:
        # The rules or the parameter file changed since: printing or showing the new figures
        # under the old assessment would misstate what was levied.
        raise ValidationFailed(
            "課税の内容が現在の税額計算と一致しません。再賦課（更正）の後に照会してください。",
            code="assessment_outdated",
        )
    return a


def breakdown(row: TaxAssessment) -> dict[str, Any]:
    """Every intermediate figure of a stored assessment (the simulation's output schema)."""
    if row.reason == AssessmentReason.CANCELLATION:
        return {"cancelled": True}
    figures: dict[str, Any] = to_result(rules_assessment(row)).model_dump(mode="json")
    figures["no_income_records"] = row.facts["no_income_records"]
    return figures


def history(session: Session, fiscal_year: int, person_id: uuid.UUID) -> list[TaxAssessment]:
    """Every revision of one person's assessment for one year, the first first."""
    return list(
        session.scalars(
            select(TaxAssessment)
            .where(TaxAssessment.fiscal_year == fiscal_year, TaxAssessment.person_id == person_id)
            .order_by(TaxAssessment.revision)
        )
    )


def current_assessment(
    session: Session, fiscal_year: int, person_id: uuid.UUID
) -> TaxAssessment | None:
    """The revision in force (the newest)."""
    return session.scalars(
        select(TaxAssessment)
        .where(TaxAssessment.fiscal_year == fiscal_year, TaxAssessment.person_id == person_id)
        .order_by(TaxAssessment.revision.desc())
        .limit(1)
    ).first()


def current_assessments(session: Session, fiscal_year: int) -> list[TaxAssessment]:
    """The revision in force of every person assessed in the year (cancelled ones left out)."""
    newest: dict[uuid.UUID, TaxAssessment] = {}
    rows = session.scalars(
        select(TaxAssessment)
        .where(TaxAssessment.fiscal_year == fiscal_year)
        .order_by(TaxAssessment.person_id, TaxAssessment.revision)
    )
    for row in rows:
        newest[row.person_id] = row
    return [a for a in newest.values() if a.reason != AssessmentReason.CANCELLATION]


def special_collections(session: Session, assessment_id: uuid.UUID) -> list[SpecialCollection]:
    return list(
        session.scalars(
            select(SpecialCollection).where(SpecialCollection.assessment_id == assessment_id)
        )
    )
