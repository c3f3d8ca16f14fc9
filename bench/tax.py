"""The annual inhabitant-tax assessment of ~100,000 taxpayers on PostgreSQL (issue 6).

Creates a fresh database, migrates, loads the demo members, generates the register of one
member (射水市; ``--residents N``, default 125,000 so that about 100,000 are residents on
1 January 2026 — the figure printed is the real count), stores a year of income records for
its adults (salary reports with special collection for most workers, declarations for the
self-employed, public pensions for those 65 and over), then prints:

* **assessment**: ``tax.assessment_service.assess_year`` for FY2026 as ``jichitai tax assess``
  runs it, in a fresh process — taxpayers per second including every read (register as of
  1 January, income records, earlier assessments) and write (assessments, special-collection
  rows, the run's cursor, audit), and that process's peak memory (target ≥ 5,000/s, ≤ 500 MB);
* the **re-run** (idempotent: nothing changes, nothing is written) per second;
* the **baseline** measured in the same run: the pure rules alone (``tax.rules.assess`` on the
  same cases, in memory, no database) per second — the ratio is the price of the database.

It prints figures and never asserts timings (the machine may be busy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
import uuid
from typing import Any

from bench import fresh_database, in_fresh_process, load_demo, peak_memory_mb
from core import audit
from core.db import bulk_insert
from core.ids import new_id
from core.scoping import TenantContext, TenantId
from core.settings import Settings
from core.uow import UnitOfWork
from jichitai.demo_data import loader
from jichitai.state import AppState
from resident_records import population
from resident_records.queries import residents_on
from tax import assessment_service
from tax.models import IncomeEntry, IncomeImport
from tax.rules.assessment import assess
from tenancy import service as tenancy_service

DEFAULT_RESIDENTS = 125_000
FISCAL_YEAR = 2026
MEMBER = "162116"  # 射水市
ACTOR = audit.Actor("staff", "bench")
EMPLOYERS = [(f"{n:013d}", f"株式会社ベンチ{n}") for n in range(1, 201)]


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.tax", description=__doc__)
    parser.add_argument(
        "--residents",
        type=int,
        default=int(os.environ.get("JICHITAI_BENCH_TAX_RESIDENTS", DEFAULT_RESIDENTS)),
        help="residents to generate in the member (default 125,000)",
    )
    return parser.parse_args(argv)


def _incomes(st: AppState, tenant_id: int) -> int:
    """A year of income records for the member's adults, written in one transaction."""
    rng = random.Random(2026)
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        on = residents_on(uow.session, dt.date(FISCAL_YEAR, 1, 1))
        import_id = new_id()
        uow.session.add(
            IncomeImport(
                tenant_id=tenant_id,
                id=import_id,
                fiscal_year=FISCAL_YEAR,
                sha256=uuid.uuid4().hex * 2,
                filename="bench.csv",
                file_format="csv",
                records=0,
                imported_by="bench",
            )
        )
        uow.session.flush()
        rows: list[dict[str, Any]] = []
        for n, r in enumerate(on):
            if r.birth_date is None:
                continue
            age = FISCAL_YEAR - 1 - r.birth_date.year
            row = {
                "tenant_id": tenant_id,
                "import_id": import_id,
                "line": n + 2,
                "fiscal_year": FISCAL_YEAR,
                "person_id": r.person_id,
                "employer_name": None,
                "employer_corporate_number": None,
                "social_insurance": 0,
                "special_collection": False,
            }
            if age >= 65:
                revenue = rng.randrange(600_000, 3_000_000, 1_000)
                rows.append(row | {"document": "declaration", "income_kind": "public_pension"})
                rows[-1]["revenue"] = revenue
            elif age >= 18 and rng.random() < 0.8:
                corp, name = rng.choice(EMPLOYERS)
                revenue = rng.randrange(1_000_000, 9_000_000, 1_000)
                rows.append(
                    row
                    | {
                        "document": "salary_report",
                        "income_kind": "salary",
                        "revenue": revenue,
                        "social_insurance": revenue * 15 // 100,
                        "employer_name": name,
                        "employer_corporate_number": corp,
                        "special_collection": rng.random() < 0.85,
                    }
                )
            elif age >= 18 and rng.random() < 0.5:
                rows.append(
                    row
                    | {
                        "document": "declaration",
                        "income_kind": "business",
                        "revenue": rng.randrange(500_000, 6_000_000, 1_000),
                    }
                )
        for income in rows:
            income["id"] = new_id()
        bulk_insert(uow.session, IncomeEntry, rows)
        uow.commit()
    return len(rows)


def _assess(settings: Settings, tenant_id: int) -> tuple[int, int, int, float, float]:
    """One run, as ``jichitai tax assess`` does it (called in a fresh process)."""
    st = AppState.from_settings(settings)
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        _v, params = tenancy_service.current_parameters(uow.session)
        started = time.perf_counter()
        report = assessment_service.assess_year(uow.session, FISCAL_YEAR, params, ACTOR)
        seconds = time.perf_counter() - started
    st.engine.dispose()
    return report.taxpayers, report.created, report.unchanged, seconds, peak_memory_mb()


def _baseline(st: AppState, tenant_id: int) -> tuple[int, float]:
    """The pure rules on the same cases, in memory: what the database costs on top."""
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        _v, params = tenancy_service.current_parameters(uow.session)
        year = assessment_service.load_year(uow.session, FISCAL_YEAR, params)
    cases = [year.case(m) for m in year.members]
    started = time.perf_counter()
    for case in cases:
        assess(case, year.params)
    return len(cases), time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:])
    with fresh_database("inhabitant tax") as db:
        if db is None:
            return
        st = AppState.from_settings(db.settings)
        tenant_id = load_demo(st, MEMBER)
        print(f"[inhabitant tax] generating {args.residents:,} residents of 射水市 …", flush=True)
        with UnitOfWork(st.session_factory, st.bus) as uow:
            population.generate(
                uow.session,
                st.ring,
                [MEMBER],
                args.residents,
                today=dt.date.today(),
                pools=loader.name_pools(),
            )
            uow.commit()
        records = _incomes(st, tenant_id)
        db.analyze()

        taxpayers, created, _u, seconds, peak = in_fresh_process(_assess, db.settings, tenant_id)
        again, _c, unchanged, again_s, again_peak = in_fresh_process(
            _assess, db.settings, tenant_id
        )
        rules_n, rules_s = _baseline(st, tenant_id)
        st.engine.dispose()

    rate = taxpayers / seconds
    print(f"[inhabitant tax] FY{FISCAL_YEAR}, {records:,} income records")
    print(
        f"  assessment:  {taxpayers:,} taxpayers ({created:,} written) in {seconds:6.1f} s = "
        f"{rate:8,.0f}/s  (target ≥ 5,000/s)  peak {peak:6.0f} MB (target ≤ 500 MB)"
    )
    print(
        f"  re-run:      {again:,} taxpayers ({unchanged:,} unchanged) in "
        f"{again_s:6.1f} s = {again / again_s:8,.0f}/s  peak {again_peak:6.0f} MB"
    )
    print(
        f"  baseline (rules only, in memory): {rules_n / rules_s:8,.0f}/s — "
        f"the assessment runs at {rate / (rules_n / rules_s):.2f}× the pure rules"
    )


if __name__ == "__main__":
    main()
