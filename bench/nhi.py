"""The annual NHI assessment of ~100,000 households on PostgreSQL (issue 7).

Creates a fresh database, migrates, loads the demo members, generates the register of one member
(射水市; ``--households N`` NHI households wanted, default 100,000: about 2.4 residents per
household and about three households in ten with an insured member, so ``N × 8`` residents are
generated unless ``--residents`` says otherwise — the figures printed are the real counts),
stores a year of income records for its adults (as ``bench.tax`` does), brings the residents of
1 March 2026 into NHI with ``nhi.service.enrol_population`` (a quarter of the households under 65,
nine in ten of those 65–74; generated populations fire no events, so nobody is insured
otherwise), sets the city's FY2026 rates of nhi.md as the tenant parameter, then prints:

* **assessment**: ``nhi.assessment_service.assess_year`` for FY2026 as ``jichitai nhi assess``
  runs it (the premium rules in one worker process per core), in a fresh process — households
  per second including every read (qualifications, the register on 1 April, income records,
  earlier assessments) and write (assessments, their members, the run's cursor, audit), and
  that process's peak memory, the workers' not included (target ≥ 5,000/s);
* the **re-run** (idempotent: nothing changes, nothing is written) per second;
* **転入 at the counter after the run**: households moving in through ``Register.move_in``,
  one unit of work and commit each; an insured household's premium is assessed in the same
  transaction (更正: ``nhi.assessment_handlers``) — next to as many move-ins into the same
  register before the run, when there is no premium yet to correct (the price of the
  reassessment);
* the **baseline** measured in the same run: the pure premium rules alone
  (``nhi.rules.premium.assess`` on the same households, in memory, no database) per second —
  the ratio is the price of the database.

It prints figures and never asserts timings (the machine may be busy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from typing import Any

from bench import fresh_database, in_fresh_process, load_demo, peak_memory_mb
from bench.tax import _incomes
from core import audit
from core.scoping import TenantContext, TenantId
from core.settings import Settings
from core.uow import UnitOfWork
from jichitai.demo_data import loader
from jichitai.state import AppState
from nhi import assessment_service, assessment_worker
from nhi.rules.premium import assess
from nhi.rules.rates import NhiRates
from nhi.service import enrol_population
from resident_records import population
from resident_records.service import Register
from tenancy import service as tenancy_service

DEFAULT_HOUSEHOLDS = 100_000
RESIDENTS_PER_HOUSEHOLD = 8  # 2.4 per register household, ~30 % of households in NHI
FISCAL_YEAR = 2026
ENROLLED_ON = dt.date(2026, 3, 1)
MEMBER = "162116"  # 射水市
MOVE_INS = 200
ACTOR = audit.Actor("staff", "bench")
# nhi.md "Test data" (one real city's FY2025 rates) and one city's FY2026 child-support proposal.
RATES: dict[str, Any] = {
    "medical": {"income_rate": "8.3", "per_capita": 30200, "per_household": 26400},
    "elderly_support": {"income_rate": "1.7", "per_capita": 6300, "per_household": 5400},
    "long_term_care": {"income_rate": "2.2", "per_capita": 9400, "per_household": 6000},
    "child_support": {
        "income_rate": "0.3",
        "per_capita": 1800,
        "adult_per_capita": 100,
        "per_household": 0,
        "cap": 30000,
    },
}


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.nhi", description=__doc__)
    parser.add_argument(
        "--households",
        type=int,
        default=int(os.environ.get("JICHITAI_BENCH_NHI_HOUSEHOLDS", DEFAULT_HOUSEHOLDS)),
        help="NHI households wanted (default 100,000)",
    )
    parser.add_argument(
        "--residents", type=int, default=None, help="residents to generate (default households × 8)"
    )
    return parser.parse_args(argv)


def _enrol(st: AppState, tenant_id: int) -> int:
    """NHI qualifications for the realistic mix, and the FY2026 rates, in one transaction."""
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        enrolled = enrol_population(uow.session, ENROLLED_ON)
        version, params = tenancy_service.current_parameters(uow.session)
        tenancy_service.update_parameters(
            uow.session,
            params.model_dump(mode="json") | {"nhi": RATES},
            expected_version=version,
            actor=ACTOR,
            reason="国民健康保険税条例（ベンチマーク）",
        )
        uow.commit()
    return enrolled


def _assess(settings: Settings, tenant_id: int) -> tuple[int, int, int, float, float]:
    """One run, as ``jichitai nhi assess`` does it (called in a fresh process)."""
    st = AppState.from_settings(settings)
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        _v, params = tenancy_service.current_parameters(uow.session)
        started = time.perf_counter()
        report = assessment_service.assess_year(uow.session, FISCAL_YEAR, params, ACTOR)
        seconds = time.perf_counter() - started
    st.engine.dispose()
    return report.households, report.created, report.unchanged, seconds, peak_memory_mb()


def _baseline(st: AppState, tenant_id: int) -> tuple[int, int, float]:
    """The pure premium rules on the same households, in memory: what the database costs."""
    rates = NhiRates.model_validate(RATES)
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        year = assessment_service.load_year(uow.session, FISCAL_YEAR, rates)
    households = [
        assessment_worker.household_of(FISCAL_YEAR, json.loads(year.prepare(h).facts))
        for h in year.households.values()
    ]
    members = sum(len(h.members) for h in households)
    started = time.perf_counter()
    for household in households:
        assess(household, rates, year.params, year.tax)
    return len(households), members, time.perf_counter() - started


def _move_ins_per_second(st: AppState, tenant_id: int, seed: int) -> float:
    """Households moving in through the service layer, one unit of work and commit each."""
    commands = population.move_in_commands(
        MEMBER,
        MOVE_INS + 10,
        machiaza=loader.machiaza(MEMBER),
        home="富山県射水市",
        pools=loader.name_pools(),
        today=dt.date.today(),
        seed=seed,
    )
    started = 0.0
    for n, command in enumerate(commands):
        if n == 10:  # after a warm-up: the first unit of work reads keys and parameters
            started = time.perf_counter()
        with UnitOfWork(st.session_factory, st.bus) as uow:
            uow.set_tenant(TenantContext(TenantId(tenant_id)))
            Register(uow, ACTOR, st.ring).move_in(command)
            uow.commit()
    return MOVE_INS / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:])
    residents = args.residents or args.households * RESIDENTS_PER_HOUSEHOLD
    with fresh_database("nhi") as db:
        if db is None:
            return
        st = AppState.from_settings(db.settings)
        tenant_id = load_demo(st, MEMBER)
        print(f"[nhi] generating {residents:,} residents of 射水市 …", flush=True)
        started = time.perf_counter()
        with UnitOfWork(st.session_factory, st.bus) as uow:
            population.generate(
                uow.session,
                st.ring,
                [MEMBER],
                residents,
                today=dt.date.today(),
                pools=loader.name_pools(),
            )
            uow.commit()
        records = _incomes(st, tenant_id)
        enrolled = _enrol(st, tenant_id)
        db.analyze()
        print(
            f"[nhi] loaded in {time.perf_counter() - started:.0f} s: {records:,} income records, "
            f"{enrolled:,} insured persons",
            flush=True,
        )

        unassessed = _move_ins_per_second(st, tenant_id, seed=76)
        households, created, _u, seconds, peak = in_fresh_process(_assess, db.settings, tenant_id)
        again, _c, unchanged, again_s, again_peak = in_fresh_process(
            _assess, db.settings, tenant_id
        )
        assessed = _move_ins_per_second(st, tenant_id, seed=77)
        rules_n, rules_members, rules_s = _baseline(st, tenant_id)
        st.engine.dispose()

    rate = households / seconds
    print(f"[nhi] FY{FISCAL_YEAR}, {enrolled:,} insured, {rules_members:,} household members")
    print(
        f"  assessment:  {households:,} households ({created:,} written) in {seconds:6.1f} s "
        f"= {rate:8,.0f}/s  (target ≥ 5,000/s)  peak {peak:6.0f} MB"
    )
    print(
        f"  re-run:      {again:,} households ({unchanged:,} unchanged) in "
        f"{again_s:6.1f} s = {again / again_s:8,.0f}/s  peak {again_peak:6.0f} MB"
    )
    print(
        f"  転入 after the run: {assessed:8,.0f} households/s (each insured one assessed in its "
        f"transaction); before the run: {unassessed:,.0f}/s "
        f"({assessed / unassessed:.2f}×)"
    )
    print(
        f"  baseline (premium rules only, in memory): {rules_n / rules_s:8,.0f}/s — "
        f"the assessment runs at {rate / (rules_n / rules_s):.2f}× the pure rules"
    )


if __name__ == "__main__":
    main()
