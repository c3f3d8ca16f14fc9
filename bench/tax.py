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
import base64
import datetime as dt
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from typing import Any

from sqlalchemy import create_engine, text

from core import audit
from core.db import bulk_insert
from core.ids import new_id
from core.migrate import upgrade
from core.scoping import TenantContext, TenantId
from core.settings import Settings
from core.uow import UnitOfWork
from jichitai import demo
from jichitai.demo_data import loader
from jichitai.state import AppState
from resident_records import population
from resident_records.queries import residents_on
from tax import assessment_service
from tax.models import IncomeEntry, IncomeImport
from tax.rules.assessment import assess
from tenancy import repository as tenancy_repo
from tenancy import service as tenancy_service

PG_ADMIN = os.environ.get(
    "JICHITAI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
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


def _settings(app_url: str, owner_url: str, master_key: str, var: str) -> Settings:
    return Settings(
        database_url=app_url,
        migration_database_url=owner_url,
        var_dir=var,
        master_key=master_key,
    )


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


def _assess_in_child(settings: Settings, tenant_id: int, queue: Any) -> None:
    """One run in a fresh process: the figure and the peak memory are the run's own."""
    st = AppState.from_settings(settings)
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        _v, params = tenancy_service.current_parameters(uow.session)
        started = time.perf_counter()
        report = assessment_service.assess_year(uow.session, FISCAL_YEAR, params, ACTOR)
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    st.engine.dispose()
    queue.put((report.taxpayers, report.created, report.unchanged, seconds, peak_mb))


def _run(settings: Settings, tenant_id: int) -> tuple[int, int, int, float, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_assess_in_child, args=(settings, tenant_id, queue))
    child.start()
    result = queue.get()
    child.join()
    return result  # type: ignore[no-any-return]


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
    name = f"jichitai_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"[PostgreSQL] skipped: {type(exc).__name__}")
        return
    try:
        base = PG_ADMIN.rsplit("/", 1)[0]
        owner = f"{base}/{name}"
        upgrade(owner, "jichitai_app")
        settings = _settings(
            owner.replace("postgres@", "jichitai_app@", 1),
            owner,
            base64.b64encode(os.urandom(32)).decode(),
            tempfile.mkdtemp(),
        )
        st = AppState.from_settings(settings)
        with UnitOfWork(st.session_factory) as uow:
            demo.load(uow.session, st.ring)
            demo.load_machiaza(uow.session)
            uow.commit()
        with UnitOfWork(st.session_factory) as uow:
            member = tenancy_repo.municipality_by_code(uow.session, MEMBER)
            assert member is not None
            tenant_id = member.id
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
        owner_engine = create_engine(owner)
        with owner_engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        owner_engine.dispose()

        taxpayers, created, _u, seconds, peak = _run(settings, tenant_id)
        again_taxpayers, _c, unchanged, again_s, again_peak = _run(settings, tenant_id)
        rules_n, rules_s = _baseline(st, tenant_id)
        st.engine.dispose()

        rate = taxpayers / seconds
        print(f"[inhabitant tax] FY{FISCAL_YEAR}, {records:,} income records")
        print(
            f"  assessment:  {taxpayers:,} taxpayers ({created:,} written) in {seconds:6.1f} s = "
            f"{rate:8,.0f}/s  (target ≥ 5,000/s)  peak {peak:6.0f} MB (target ≤ 500 MB)"
        )
        print(
            f"  re-run:      {again_taxpayers:,} taxpayers ({unchanged:,} unchanged) in "
            f"{again_s:6.1f} s = {again_taxpayers / again_s:8,.0f}/s  peak {again_peak:6.0f} MB"
        )
        print(
            f"  baseline (rules only, in memory): {rules_n / rules_s:8,.0f}/s — "
            f"the assessment runs at {rate / (rules_n / rules_s):.2f}× the pure rules"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
