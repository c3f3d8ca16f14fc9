"""A million residents on PostgreSQL as the RLS-bound app role: generation, search, move-ins.

Creates a fresh database (as ``bench/audit_chain.py`` does), migrates, loads the demo tenants and
their 町字 masters, then prints:

* **generation** of N residents (default 1,000,000; ``--residents N`` or
  ``JICHITAI_BENCH_RESIDENTS``) over the nine members, one transaction per member and members
  side by side on every core, as ``jichitai demo --residents`` does
  (``jichitai.demo.generate_residents``), against a baseline measured in the same run: the same
  generator writing the same number of rows for one fresh member through SQLAlchemy Core
  executemany (the bulk path short of COPY), next to its COPY path on the same member size;
* **kana-prefix search**: p50/p95 of 200 random 2–3 kana prefixes through
  ``resident_records.repository.search`` in the largest member (target p95 ≤ 20 ms);
* **転入 per second**: 500 households through ``Register.move_in``, each its own unit of work and
  commit, with audit entries, events and outbox rows (target ≥ 200/s), after 20 untimed: a
  server process's first units of work compile and prepare its statements once, which a counter
  pays once a day, not per household (the first 20 run at about half the steady rate).

It prints figures and never asserts timings (the machine may be busy).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import statistics
import sys
import time
from typing import Any

from bench import fresh_database, load_demo
from core import audit
from core.japanese.checkdigits import lg_code_check_digit
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from jichitai import demo
from jichitai.demo_data import loader
from jichitai.state import AppState
from resident_records import population
from resident_records import repository as repo
from resident_records.service import Register
from tenancy import repository as tenancy_repo
from tenancy import service as tenancy_service

DEFAULT_RESIDENTS = 1_000_000
BASELINE_RESIDENTS = 20_000
SEARCHES = 200
MOVE_INS = 500
WARM_UP = 20  # untimed move-ins first: statements compiled and prepared once per process
LARGEST = "162116"  # 射水市
ACTOR = audit.Actor("staff", "bench")


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.residents", description=__doc__)
    parser.add_argument(
        "--residents",
        type=int,
        default=int(os.environ.get("JICHITAI_BENCH_RESIDENTS", DEFAULT_RESIDENTS)),
        help="residents to generate over the nine members (default 1,000,000)",
    )
    return parser.parse_args(argv)


def _member(st: AppState, body: str, name: str) -> str:
    """A fresh member with 射水市's 町字 under its own code, for the baseline runs."""
    code = body + str(lg_code_check_digit(body))
    with UnitOfWork(st.session_factory) as uow:
        tenancy_service.create_municipality(
            uow.session,
            st.ring,
            lg_code=code,
            name=name,
            prefecture="富山県",
            kind="村",
            actor=audit.Actor.system("bench"),
        )
        entries = [
            dataclasses.replace(m, code=f"{code}-{m.code.partition('-')[2]}")
            for m in loader.machiaza(LARGEST)
        ]
        population.load_machiaza_master(uow.session, code, entries)
        uow.commit()
    return code


def _generate(
    st: AppState, codes: list[str], residents: int, method: population.Method
) -> tuple[float, list[population.MemberReport]]:
    """Generate member by member, one commit each; wall seconds including the commits."""
    counts = population.allocate(codes, residents)
    reports: list[population.MemberReport] = []
    started = time.perf_counter()
    for code in codes:
        with UnitOfWork(st.session_factory, st.bus) as uow:
            report = population.generate(
                uow.session,
                st.ring,
                [code],
                counts[code],
                today=dt.date.today(),
                pools=loader.name_pools(),
                method=method,
            )
            uow.commit()
        reports += report.members
    return time.perf_counter() - started, reports


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:10,.0f} rows/s"


def bench_generation(st: AppState, residents: int) -> None:
    core_s, (core,) = _generate(st, [_member(st, "46801", "基準村")], BASELINE_RESIDENTS, "core")
    copy_s, (small,) = _generate(st, [_member(st, "46802", "比較村")], BASELINE_RESIDENTS, "copy")
    codes = [code for code, *_ in demo.MEMBERS]
    started = time.perf_counter()
    reports = demo.generate_residents(
        st, population.allocate(codes, residents), seed=2026, today=dt.date.today(), method="copy"
    )
    seconds = time.perf_counter() - started
    persons = sum(r.persons for r in reports)
    rows = sum(r.rows for r in reports)
    print(f"[generation] {persons:,} residents, {rows:,} rows in 5 tables, nine members")
    print(
        f"  baseline: Core executemany, {core.persons:,} residents ({core.rows:,} rows): "
        f"{core_s:7.1f} s {_rate(core.rows, core_s)}"
    )
    print(
        f"  COPY path, same {small.persons:,} residents ({small.rows:,} rows):     "
        f"{copy_s:7.1f} s {_rate(small.rows, copy_s)}   "
        f"{(small.rows / copy_s) / (core.rows / core_s):.1f}× the baseline"
    )
    print(
        f"  COPY path, {persons:,} residents, members side by side:   "
        f"{seconds:7.1f} s {_rate(rows, seconds)}   "
        f"{(rows / seconds) / (core.rows / core_s):.1f}× the baseline   (target ≤ 180 s)"
    )
    print(
        f"  {sum(r.households for r in reports):,} households, "
        f"{sum(r.removed for r in reports):,} removed (除票), "
        f"{sum(r.foreign for r in reports):,} foreign residents"
    )
    for r in reports:  # each member's own time; the members overlap
        print(f"    {r.lg_code} {r.name:<4} {r.persons:>9,} residents {r.seconds:7.1f} s")


def _encryption_cost(st: AppState, tenant_id: int) -> None:
    from core.crypto import TenantKeys
    from resident_records.models import MY_NUMBER_CONTEXT

    n = 100_000
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        keys = TenantKeys(uow.session, st.ring)
        keys.encrypt("0", context=MY_NUMBER_CONTEXT)
        started = time.perf_counter()
        for _ in range(n):
            keys.encrypt("123456789018", context=MY_NUMBER_CONTEXT)
        encrypt = (time.perf_counter() - started) / n
        started = time.perf_counter()
        for _ in range(n):
            keys.blind_index("123456789018", context=MY_NUMBER_CONTEXT)
        index = (time.perf_counter() - started) / n
    print(
        f"  個人番号 per person: encrypt {encrypt * 1e6:.1f} µs + blind index {index * 1e6:.1f} µs"
        f" (≈ {(encrypt + index) * 1e6:.0f} s of one core per million residents)"
    )


def _prefixes(rng: random.Random, readings: list[str]) -> list[str]:
    out: list[str] = []
    while len(out) < SEARCHES:
        reading = rng.choice(readings)
        size = rng.choice((2, 3))
        if len(reading) >= size:
            out.append(reading[:size])
    return out


def bench_search(st: AppState, tenant_id: int) -> None:
    pools = loader.name_pools()
    family = [f.kana for f in pools.family_names]
    given = [g.kana for g in pools.given_names_male + pools.given_names_female]
    # The counter types the reading of the family name first (kana); the given name's reading
    # alone is a separate, rarer search (given_kana).
    for label, field, readings in (("氏の読み", "kana", family), ("名の読み", "given_kana", given)):
        timings: list[float] = []
        totals: list[int] = []
        for prefix in _prefixes(random.Random(2026), readings):
            with UnitOfWork(st.session_factory) as uow:
                uow.set_tenant(TenantContext(TenantId(tenant_id)))
                uow.session.connection()  # begin (and set app.tenant_id) outside the timing
                started = time.perf_counter()
                query = (
                    repo.SearchQuery(kana=prefix)
                    if field == "kana"
                    else repo.SearchQuery(given_kana=prefix)
                )
                _rows, total = repo.search(uow.session, query, limit=20, offset=0)
                timings.append(time.perf_counter() - started)
                totals.append(total)
        q = statistics.quantiles(timings, n=100)
        print(
            f"[kana search: {label}] {SEARCHES} random 2–3 kana prefixes ({field}) in 射水市, "
            "page of 20 + count (capped at 1,001)"
        )
        print(
            f"  p50 {q[49] * 1000:6.1f} ms   p95 {q[94] * 1000:6.1f} ms"
            f"   max {max(timings) * 1000:6.1f} ms"
            f"   (target p95 ≤ 20 ms; median {statistics.median(totals):,.0f} matches,"
            f" {sum(t > repo.SEARCH_COUNT_CAP for t in totals)} searches over the cap)"
        )


def bench_move_ins(st: AppState, tenant_id: int) -> None:
    commands = population.move_in_commands(
        LARGEST,
        WARM_UP + MOVE_INS,
        machiaza=loader.machiaza(LARGEST),
        home="富山県射水市",
        pools=loader.name_pools(),
        today=dt.date.today(),
    )
    persons = sum(len(c.persons) for c in commands[WARM_UP:])
    started = 0.0
    for n, command in enumerate(commands):
        if n == WARM_UP:
            started = time.perf_counter()
        with UnitOfWork(st.session_factory, st.bus) as uow:
            uow.set_tenant(TenantContext(TenantId(tenant_id)))
            Register(uow, ACTOR, st.ring).move_in(command)
            uow.commit()
    seconds = time.perf_counter() - started
    print(
        f"[転入] {MOVE_INS} households ({persons} persons) through Register.move_in, "
        f"one unit of work and commit each (audit, events, outbox), after {WARM_UP} untimed"
    )
    print(
        f"  {MOVE_INS / seconds:8.0f} households/s   {seconds / MOVE_INS * 1000:.1f} ms each"
        "   (target ≥ 200/s)"
    )


def bench_move_ins_concurrent(st: AppState, threads: int) -> None:
    """The same use case as a server process runs it: several requests at once, here spread
    over the nine members (within one member, the counters and the audit chain serialise)."""
    from concurrent.futures import ThreadPoolExecutor

    with UnitOfWork(st.session_factory) as uow:
        members = {m.lg_code: m.id for m in tenancy_repo.municipalities(uow.session)}
    per_member = MOVE_INS // len(demo.MEMBERS) + 1
    work: list[tuple[int, Any]] = []
    for code, name, _kind, _prefix in demo.MEMBERS:
        commands = population.move_in_commands(
            code,
            per_member,
            machiaza=loader.machiaza(code),
            home=f"富山県{name}",
            pools=loader.name_pools(),
            today=dt.date.today(),
            seed=4242,
        )
        work += [(members[code], c) for c in commands]
    random.Random(5).shuffle(work)

    def one(item: tuple[int, Any]) -> None:
        tenant_id, command = item
        with UnitOfWork(st.session_factory, st.bus) as uow:
            uow.set_tenant(TenantContext(TenantId(tenant_id)))
            Register(uow, ACTOR, st.ring).move_in(command)
            uow.commit()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, work))
    seconds = time.perf_counter() - started
    print(
        f"[転入, concurrent] {len(work)} households over the nine members, {threads} threads in "
        "one process, one unit of work and commit each"
    )
    print(f"  {len(work) / seconds:8.0f} households/s   (target ≥ 200/s)")


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:])
    with fresh_database("residents") as db:
        if db is None:
            return
        st = AppState.from_settings(db.settings)
        tenant_id = load_demo(st, LARGEST)
        bench_generation(st, args.residents)
        _encryption_cost(st, tenant_id)
        seconds = db.analyze()
        print(f"  (VACUUM ANALYZE and CHECKPOINT as the owner after the load: {seconds:.1f} s)")
        bench_search(st, tenant_id)
        bench_move_ins(st, tenant_id)
        bench_move_ins_concurrent(st, threads=4)
        st.engine.dispose()


if __name__ == "__main__":
    main()
