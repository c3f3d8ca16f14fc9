"""Counter screens: server time per page with a million residents on PostgreSQL.

Loads the demo deployment and N residents (default 1,000,000; ``--residents N`` or
``JICHITAI_BENCH_RESIDENTS``) through the bulk generator, signs a clerk of the largest member in
through the real login form, then times each main page through the ASGI app in-process (the full
server path: middleware, session, CSRF, queries under row-level security, audit, templates) —
p50 and p95 over repeated requests, against the target of 100 ms per page. The baseline measured
in the same run is ``/healthz`` (the same stack with one trivial query).

Figures only; nothing is asserted (the machine may be busy).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from bench import fresh_database, load_demo
from bench import residents as rbench
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from jichitai import demo
from jichitai.app import create_app
from jichitai.state import AppState
from resident_records.models import ResidentCurrent

RUNS = 40
KANA = ["タカ", "ヤマ", "サト", "イト", "ナカ", "コバ", "ワタ", "スズ", "マツ", "ハヤ"]


def _login(client: TestClient) -> str:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    client.post(
        "/login",
        data={
            "lg_code": rbench.LARGEST,
            "login_id": "imizu.clerk",
            "password": demo.DEMO_PASSWORD,
            "csrf_token": token.group(1),
        },
    )
    home = client.get("/").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home)
    assert csrf is not None
    return csrf.group(1)


def _time(
    client: TestClient, urls: list[str], headers: dict[str, str] | None = None
) -> list[float]:
    client.get(urls[0], headers=headers)  # warm-up
    out = []
    for i in range(RUNS):
        started = time.perf_counter()
        response = client.get(urls[i % len(urls)], headers=headers)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (urls[i % len(urls)], response.status_code)
    return out


def _row(label: str, values: list[float]) -> None:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"  {label:28} p50 {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__)
    parser.add_argument(
        "--residents",
        type=int,
        default=int(os.environ.get("JICHITAI_BENCH_RESIDENTS", rbench.DEFAULT_RESIDENTS)),
    )
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    with fresh_database("web") as db:
        if db is None:
            return
        st = AppState.from_settings(db.settings)
        tenant_id = load_demo(st, rbench.LARGEST)
        codes = [code for code, *_rest in demo.MEMBERS]
        seconds, _reports = rbench._generate(st, codes, args.residents, "auto")
        db.analyze()
        print(f"[web] {args.residents:,} residents loaded in {seconds:.0f} s")
        with UnitOfWork(st.session_factory) as uow:
            uow.set_tenant(TenantContext(TenantId(tenant_id)))
            sample = list(
                uow.session.execute(
                    select(ResidentCurrent.person_id, ResidentCurrent.household_id)
                    .where(ResidentCurrent.status == "resident")
                    .limit(2000)
                )
            )
        rng = random.Random(7)
        picks = rng.sample(sample, min(RUNS, len(sample)))
        client = TestClient(create_app(st.settings, st))
        _login(client)
        print(f"[web] server time per page, {RUNS} requests each (target ≤ 100 ms)")
        _row("/healthz (baseline)", _time(client, ["/healthz"]))
        _row("ホーム /", _time(client, ["/"]))
        _row(
            "住民検索 (as you type)",
            _time(client, [f"/residents?q={k}" for k in KANA], headers={"HX-Request": "true"}),
        )
        _row("住民票 /residents/{id}", _time(client, [f"/residents/{p}" for p, _h in picks]))
        _row("世帯 /households/{id}", _time(client, [f"/households/{h}" for _p, h in picks]))
        _row("転入届 form", _time(client, ["/residents-move-in"]))
        _row("証明書 form", _time(client, [f"/certificates/new?person_id={p}" for p, _h in picks]))
        st.engine.dispose()


if __name__ == "__main__":
    main()
