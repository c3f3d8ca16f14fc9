"""Audit chain cost: appends through ``core.audit.record`` against the same rows added through
the ORM with no chain (baseline, same run), and verification speed — on SQLite and, when
reachable, PostgreSQL.

The architecture notes expect the chain to cost ≈ 20–30 % on inserts and to verify ≈ 400k rows/s.
"""

from __future__ import annotations

import base64
import os
import statistics
import tempfile
import time
import uuid

from sqlalchemy import create_engine, text

from core import audit
from core.audit import AuditEntry
from core.db import utcnow
from core.japanese.checkdigits import lg_code_check_digit
from core.migrate import upgrade
from core.scoping import TenantContext, TenantId
from core.settings import Settings
from core.uow import UnitOfWork
from jichitai.state import AppState
from tenancy import service

ROWS = 2000
PG_ADMIN = os.environ.get(
    "JICHITAI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _state(url: str, owner: str) -> AppState:
    upgrade(owner, "jichitai_app")
    return AppState.from_settings(
        Settings(
            database_url=url,
            migration_database_url=owner,
            var_dir=tempfile.mkdtemp(),
            master_key=base64.b64encode(os.urandom(32)).decode(),
        )
    )


def _tenant(st: AppState, code: str) -> int:
    with UnitOfWork(st.session_factory) as uow:
        m = service.create_municipality(
            uow.session,
            st.ring,
            lg_code=code,
            name="計測村",
            prefecture="富山県",
            kind="村",
            actor=audit.Actor.system("bench"),
        )
        uow.commit()
        return m.id


def _plain(st: AppState, tid: int, start: int) -> float:
    """Baseline: the same rows added through the ORM, with no chain (no head, no hashing)."""
    t0 = time.perf_counter()
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.session.add_all(
            AuditEntry(
                tenant_id=tid,
                seq=start + i,
                occurred_at=utcnow(),
                actor_kind="system",
                actor_id="bench",
                action="bench.plain",
                details={"i": i},
                prev_hash="0" * 64,
                entry_hash="0" * 64,
            )
            for i in range(ROWS)
        )
        uow.commit()
    return time.perf_counter() - t0


def _chained(st: AppState, tid: int) -> float:
    t0 = time.perf_counter()
    with UnitOfWork(st.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        actor = audit.Actor.system("bench")
        for i in range(ROWS):
            audit.record(uow.session, actor=actor, action="bench.chained", details={"i": i})
        uow.commit()
    return time.perf_counter() - t0


def _verify(st: AppState, tid: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    with UnitOfWork(st.session_factory) as uow:
        (result,) = audit.verify_tenants(uow.session, [tid])
    assert result.ok
    return time.perf_counter() - t0, result.entries


def run(label: str, st: AppState) -> None:
    plain_t, chained_t, verify_rates = [], [], []
    for rep in range(3):
        tid_plain = _tenant(st, _code(f"4718{rep}"))
        tid_chain = _tenant(st, _code(f"4719{rep}"))
        plain_t.append(_plain(st, tid_plain, start=1000))
        chained_t.append(_chained(st, tid_chain))
        secs, n = _verify(st, tid_chain)
        verify_rates.append(n / secs)
    p, c = statistics.median(plain_t), statistics.median(chained_t)
    print(f"[{label}] {ROWS} audit rows, median of 3")
    print(f"  plain insert (baseline): {ROWS / p:10.0f} rows/s")
    print(f"  hash-chained append:     {ROWS / c:10.0f} rows/s   ratio {c / p:.2f}× the baseline")
    print(f"  verification:            {statistics.median(verify_rates):10.0f} rows/s")


def _code(body: str) -> str:
    return body + str(lg_code_check_digit(body))


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/bench.db"
        run("SQLite", _state(url, url))
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
        app_url = owner.replace("postgres@", "jichitai_app@", 1)
        st = _state(app_url, owner)
        run("PostgreSQL (as the RLS-bound app role)", st)
        st.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
