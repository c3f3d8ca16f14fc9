"""Benchmarks: each prints its figures against a baseline measured in the same run.

The plumbing the PostgreSQL benchmarks share: a throw-away database migrated as production is
(the app connecting as the RLS-bound role), the demo members loaded into it, and a measured run
in a fresh process whose own peak memory is reported.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text

from core.migrate import upgrade
from core.settings import Settings
from core.uow import UnitOfWork
from jichitai import demo
from jichitai.state import AppState
from tenancy import repository as tenancy_repo

PG_ADMIN = os.environ.get(
    "JICHITAI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
APP_ROLE = "jichitai_app"


@dataclass(frozen=True)
class BenchDatabase:
    owner_url: str
    settings: Settings  # the app's: connects as the RLS-bound role

    def analyze(self) -> float:
        """The database as it stands a few minutes after a bulk load; returns the seconds taken.

        VACUUM ANALYZE as the owner (the app role may not VACUUM tables it does not own), as
        autovacuum does with insert-only tables since PostgreSQL 13: statistics, hint bits and
        the visibility map index-only scans rely on. Then a CHECKPOINT, as the checkpointer
        makes within ``checkpoint_timeout``: the load's gigabytes of dirty pages are written
        before the measurements, not while a counter's COMMIT waits on the disk behind them
        (the same 500 move-ins took 4.6 to 6.1 ms each without it)."""
        started = time.perf_counter()
        engine = create_engine(self.owner_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
        engine.dispose()
        return time.perf_counter() - started


@contextmanager
def fresh_database(label: str) -> Iterator[BenchDatabase | None]:
    """A new, migrated PostgreSQL database, dropped afterwards; None (after saying so) when
    PostgreSQL cannot be reached."""
    name = f"jichitai_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"[{label}] skipped, PostgreSQL unreachable: {type(exc).__name__}")
        admin.dispose()
        yield None
        return
    try:
        owner = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
        upgrade(owner, APP_ROLE)
        yield BenchDatabase(
            owner,
            Settings(
                database_url=owner.replace("postgres@", f"{APP_ROLE}@", 1),
                migration_database_url=owner,
                var_dir=tempfile.mkdtemp(),
                master_key=base64.b64encode(os.urandom(32)).decode(),
            ),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_demo(st: AppState, member: str) -> int:
    """The nine demo members with their 町字 masters; returns ``member``'s tenant id."""
    with UnitOfWork(st.session_factory) as uow:
        demo.load(uow.session, st.ring)
        demo.load_machiaza(uow.session)
        uow.commit()
    with UnitOfWork(st.session_factory) as uow:
        found = tenancy_repo.municipality_by_code(uow.session, member)
        assert found is not None
        return found.id


def peak_memory_mb() -> float:
    """This process's own peak resident memory. Linux keeps ``ru_maxrss`` across the exec of a
    spawned child, so it would report the parent's memory; VmHWM belongs to the address space
    the exec created."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(target: Callable[..., Any], args: tuple[Any, ...], queue: Any) -> None:
    queue.put(target(*args))


def in_fresh_process(target: Callable[..., Any], *args: Any) -> Any:
    """``target(*args)`` in a spawned process (its figures and memory its own); its result."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(target, args, queue))
    child.start()
    result = queue.get()
    child.join()
    return result
