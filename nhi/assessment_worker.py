"""One household's part of the annual NHI assessment, from its stored facts to its rows.

:mod:`nhi.assessment_service` reads the year and decides which households changed; this module
runs the premium rules on a changed household's facts and builds the rows that record it (the
assessment revision and its members). The same functions run in the service's process (a small
municipality, SQLite) and, for a large run on PostgreSQL, in worker processes that return the
rows as COPY text (:mod:`core.copytext`) — the process that talks to the database then only
passes the text on. Nothing here imports the database layer, so a worker starts in a fraction
of a second.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from core import copytext as ct
from core.ids import new_id, new_id_text
from nhi import assessment_rules
from nhi.assessment_rules import AssessmentReason
from nhi.rules.facts import Household, Member
from nhi.rules.parameters import Component, NhiParameters, load_parameters
from nhi.rules.premium import HouseholdPremium, assess
from nhi.rules.rates import NhiRates
from tax.rules.parameters import TaxParameters
from tax.rules.parameters import load_parameters as load_tax_parameters

# What the rules decide for one household, as stored: each component's amount and the reduction.
Summary = tuple[dict[str, int], str]

# Column order of the rows built here (the COPY text's, and the keys of the dict rows).
ASSESSMENT_COLUMNS = (
    "tenant_id",
    "id",
    "fiscal_year",
    "household_id",
    "revision",
    "reason",
    "run_id",
    "assessed_at",
    "inputs_hash",
    "reference_date",
    "head_person_id",
    "nominal_head",
    "insured",
    "reduction_rate",
    "components",
    "total",
    "instalments",
    "facts",
)
MEMBER_COLUMNS = (
    "tenant_id",
    "id",
    "assessment_id",
    "fiscal_year",
    "household_id",
    "person_id",
    "head",
    "months",
)


@dataclass(frozen=True)
class Known:
    """A household's revision in force: its number, its facts' hash and its instalments."""

    revision: int
    inputs_hash: str
    instalments: list[int]


@dataclass(frozen=True)
class RunRows:
    """What every row one run writes shares."""

    tenant_id: int
    fiscal_year: int
    run_id: uuid.UUID
    assessed_at: dt.datetime
    today: dt.date  # a correction keeps the instalments due before it


class Todo(NamedTuple):
    """A household whose facts changed (or that has no assessment yet)."""

    household_id: Any  # uuid.UUID in the service; its text in a worker
    inputs_hash: str
    facts: str  # the facts as stored (JSON)
    known: Known | None


class Built(NamedTuple):
    """One household's rows: the assessment, its members, the revision now in force."""

    assessment: tuple[Any, ...]  # ASSESSMENT_COLUMNS' values
    members: list[tuple[Any, ...]]  # MEMBER_COLUMNS' values
    known: Known


def yen(amount: Fraction) -> int:
    # 地方税法20条の4の2: no tax is levied in fractions of a yen (with rounding "none" too).
    return max(0, math.floor(amount))


_NAMES = {c: c.value for c in Component}


def summary(premium: HouseholdPremium) -> Summary:
    """The stored figures of a premium: components rounded to the yen, the reduction rate."""
    return (
        # yen(c.amount) on the integers the amount is read from: floor(scaled / D) is
        # scaled // D, without building the Fraction (a batch rounds every component).
        {_NAMES[c.component]: max(0, c.scaled.amount // c.denominator) for c in premium.components},
        str(premium.reduction.rate),
    )


def household_of(fiscal_year: int, facts: dict[str, Any]) -> Household:
    """The rules' household from stored facts (the batch and every later read use this)."""
    return Household(
        fiscal_year=fiscal_year,
        members=tuple(
            Member(
                birth_date=dt.date.fromisoformat(m["rules_birth_date"]),
                income=m["income"],
                salary_revenue=m["salary_revenue"],
                pension_revenue=m["pension_revenue"],
                insured=m["months"] > 0,
                months=m["months"] or 12,
                former_insured=m["former_insured"],
            )
            for m in facts["members"]
        ),
    )


def build(
    run: RunRows,
    todo: Todo,
    facts: dict[str, Any],
    figures: Summary,
    person: Callable[[str], Any],
    new_key: Callable[[], Any] = new_id,
) -> Built:
    """地方税法706条・17条の5: the revision recording a household's premium — the first
    (当初賦課, instalments spread over the eight 期) or a correction (更正, keeping what was due
    before ``run.today``). ``person`` turns a person id of the facts into the id column's value;
    ``new_key`` makes the rows' ids (UUIDs, or their text for COPY text).
    """
    components, reduction_rate = figures
    total = sum(components.values())
    known = todo.known
    if known is None:
        revision, reason = 1, AssessmentReason.INITIAL
        plan = assessment_rules.instalments(total, run.fiscal_year)
    else:
        revision, reason = known.revision + 1, AssessmentReason.CORRECTION
        plan = assessment_rules.instalments(
            total, run.fiscal_year, previous=known.instalments, on=run.today
        )
    assessment_id = new_key()
    members = facts["members"]  # the head first
    insured = 0
    member_rows = []
    for m in members:
        months = m["months"]
        if months:
            insured += 1
        if m["head"] or months:
            member_rows.append(
                (
                    run.tenant_id,
                    new_key(),
                    assessment_id,
                    run.fiscal_year,
                    todo.household_id,
                    person(m["person_id"]),
                    m["head"],
                    months,
                )
            )
    head = members[0]
    assessment = (
        run.tenant_id,
        assessment_id,
        run.fiscal_year,
        todo.household_id,
        revision,
        reason.value,
        run.run_id,
        run.assessed_at,
        todo.inputs_hash,
        dt.date.fromisoformat(facts["reference_date"]),
        person(head["person_id"]),
        not head["months"],  # 擬制世帯主: the head is not insured
        insured,
        reduction_rate,
        components,
        total,
        plan,
        todo.facts,
    )
    return Built(assessment, member_rows, Known(revision, todo.inputs_hash, plan))


# --- in a worker process --------------------------------------------------------------------


class Produced(NamedTuple):
    """A worker's rows for a slice of households, as COPY text, and each one's new revision."""

    assessments: str
    members: str
    known: list[Known]


_worker_year: tuple[int, NhiRates, NhiParameters, TaxParameters] | None = None


def init_worker(fiscal_year: int, rates: dict[str, Any]) -> None:
    global _worker_year
    _worker_year = (
        fiscal_year,
        NhiRates.model_validate(rates),
        load_parameters(fiscal_year),
        load_tax_parameters(fiscal_year),
    )


def worker_ready() -> bool:
    return _worker_year is not None


def _same(value: str) -> str:
    return value


def produce(run: RunRows, todo: Sequence[Todo]) -> Produced:
    """In a worker process: the premium rules and the rows of a slice of changed households
    (ids and facts as text, which cross the process boundary far cheaper than objects)."""
    assert _worker_year is not None, "worker not initialised"
    fiscal_year, rates, params, tax = _worker_year
    run_id, at = str(run.run_id), run.assessed_at.isoformat()
    assessments: list[str] = []
    members: list[str] = []
    known: list[Known] = []
    for item in todo:
        facts = json.loads(item.facts)
        figures = summary(assess(household_of(fiscal_year, facts), rates, params, tax))
        built = build(run, item, facts, figures, _same, new_id_text)
        (tenant, aid, year, hid, revision, reason, _r, _a, digest, reference, head) = (
            built.assessment[:11]
        )
        nominal, insured, reduction, components, total, plan, _f = built.assessment[11:]
        assessments.append(
            f"{tenant}\t{aid}\t{year}\t{hid}\t{revision}\t{reason}\t{run_id}\t{at}\t{digest}\t"
            f"{reference.isoformat()}\t{head}\t{ct.boolean(nominal)}\t{insured}\t{reduction}\t"
            f"{ct.json_value(components)}\t{total}\t{ct.json_value(plan)}\t"
            f"{ct.json_text(item.facts)}\n"
        )
        for tenant, mid, aid, year, hid, pid, is_head, months in built.members:
            members.append(
                f"{tenant}\t{mid}\t{aid}\t{year}\t{hid}\t{pid}\t{ct.boolean(is_head)}\t{months}\n"
            )
        known.append(built.known)
    return Produced("".join(assessments), "".join(members), known)
