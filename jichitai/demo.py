"""Demo data: the Toyama group of nine members, their agreement, and staff of every role.

``jichitai demo --residents N`` is the one generator of synthetic data that tests and benchmarks
use: :func:`load_machiaza` loads every member's 町字 master and
``resident_records.population.generate`` adds the residents, from the pools in ``demo_data``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import queue
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from core import audit
from core.crypto import MasterKeyRing
from core.scoping import TenantContext, TenantId, tenant_scope
from jichitai.demo_data import loader
from resident_records import population
from tenancy import repository as repo
from tenancy import service
from tenancy.models import Municipality, Role
from tenancy.parameters import TenantParameters

if TYPE_CHECKING:
    from core.settings import Settings
    from jichitai.state import AppState

GROUP_NAME = "富山県情報システム共同利用推進協議会"
AGREEMENT_NAME = "富山県情報システム共同利用推進協議会 災害時相互支援協定"
PREFECTURE = "富山県"
# (lg_code, name, kind, login prefix)
MEMBERS: list[tuple[str, str, str, str]] = [
    ("162116", "射水市", "市", "imizu"),
    ("162060", "滑川市", "市", "namerikawa"),
    ("163422", "入善町", "町", "nyuzen"),
    ("163228", "上市町", "町", "kamiichi"),
    ("163431", "朝日町", "町", "asahi"),
    ("163210", "舟橋村", "村", "funahashi"),
    ("162078", "黒部市", "市", "kurobe"),
    ("162043", "魚津市", "市", "uozu"),
    ("163236", "立山町", "町", "tateyama"),
]
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (published demo credential, demo data only)
OPERATOR_LOGIN = "operator"
ROLE_NAMES_JA = {
    Role.CLERK: "窓口 太郎",
    Role.SUPERVISOR: "責任 花子",
    Role.TAX_OFFICER: "税務 一郎",
    Role.NHI_OFFICER: "国保 次郎",
    Role.PENSION_OFFICER: "年金 三郎",
    Role.WELFARE_OFFICER: "福祉 四郎",
    Role.TENANT_ADMIN: "管理 五郎",
}


@dataclass(frozen=True)
class DemoLogin:
    lg_code: str
    municipality: str
    login_id: str
    role: str


def login_id(prefix: str, role: Role) -> str:
    return f"{prefix}.{role.value}"


def load(session: Session, ring: MasterKeyRing, *, start: dt.date | None = None) -> list[DemoLogin]:
    """Create (or complete) the demo deployment; running it twice changes nothing."""
    start = start or dt.date(2019, 4, 1)
    actor = audit.Actor.system("demo")
    if repo.operator_by_login(session, OPERATOR_LOGIN) is None:
        service.create_operator(session, OPERATOR_LOGIN, "運用 管理者", DEMO_PASSWORD)
    group = service.ensure_group(session, GROUP_NAME)
    members: list[Municipality] = []
    logins = [DemoLogin("", "データセンター", OPERATOR_LOGIN, "operator")]
    for code, name, kind, prefix in MEMBERS:
        m = repo.municipality_by_code(session, code) or service.create_municipality(
            session, ring, lg_code=code, name=name, prefecture=PREFECTURE, kind=kind, actor=actor
        )
        service.add_group_member(session, group, m, start, actor)
        members.append(m)
        with tenant_scope(session, TenantContext(TenantId(m.id))):
            for role in Role:
                lid = login_id(prefix, role)
                if repo.staff_by_login(session, lid) is None:
                    service.create_staff(
                        session,
                        login_id=lid,
                        display_name=f"{ROLE_NAMES_JA[role]}（{name}）",
                        password=DEMO_PASSWORD,
                        roles=[role.value],
                        actor=actor,
                    )
                logins.append(DemoLogin(code, name, lid, role.value))
            _demo_mayor(session, name, actor)
    if not repo.agreement_partners(session, members[0].id):
        service.conclude_agreement(session, group, AGREEMENT_NAME, members, start, actor)
    return logins


def load_machiaza(session: Session) -> dict[str, int]:
    """Load every member's 町字 master from the demo data; returns how many were added each."""
    return {
        code: population.load_machiaza_master(session, code, loader.machiaza(code))
        for code, _name, _kind, _prefix in MEMBERS
    }


def _demo_mayor(session: Session, name: str, actor: audit.Actor) -> None:
    """A made-up mayor's name, so the demo's certificates look like real ones (once)."""
    version, params = service.current_parameters(session)
    if params.mayor_name != TenantParameters().mayor_name:
        return
    values = params.model_dump(mode="json") | {"mayor_name": f"見本　{name[:-1]}"}
    service.update_parameters(
        session, values, expected_version=version, actor=actor, reason="デモ用の首長名"
    )


# --- residents -----------------------------------------------------------------------------------

# From this many residents on, PostgreSQL members are generated side by side: a process takes
# seconds to start, and one member's generation is Python work that keeps one core busy while
# the database works on part of the other.
PARALLEL_FROM = 100_000
Progress = Callable[[str, int], None]


def generate_residents(
    state: AppState,
    counts: Mapping[str, int],
    *,
    seed: int,
    today: dt.date,
    progress: Progress | None = None,
    workers: int | None = None,
    method: population.Method = "auto",
) -> list[population.MemberReport]:
    """The demo population of each member of ``counts``, one transaction per member (an
    interrupted run keeps the members already done; running again completes the rest without
    duplicating anyone); the reports in ``counts``' order.

    On PostgreSQL, from :data:`PARALLEL_FROM` residents on (or when ``workers`` says so), the
    members are shared among processes, one per core, the largest first so that they finish
    together. A member's residents depend only on the seed and its code: the same people
    whichever process generates them, and in whatever order. SQLite takes one writer: one
    member after the other."""
    codes = list(counts)
    postgres = state.engine.dialect.name == "postgresql"
    if workers is None:
        workers = (os.cpu_count() or 1) if sum(counts.values()) >= PARALLEL_FROM else 1
    workers = min(workers, len(codes)) if postgres else 1
    if workers <= 1:
        return [
            _generate_member(state, code, counts[code], seed, today, progress, method)
            for code in codes
        ]
    context = multiprocessing.get_context("spawn")  # never a fork of a process with connections
    progress_queue: Any = context.Queue()
    reports: dict[str, population.MemberReport] = {}
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(progress_queue,),
    ) as pool:
        futures = {
            pool.submit(
                _generate_in_worker, state.settings, code, counts[code], seed, today, method
            ): code
            for code in sorted(codes, key=lambda c: -counts[c])
        }
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _report_progress(progress_queue, progress)
            for future in finished:
                reports[futures[future]] = future.result()
        _report_progress(progress_queue, progress)
    return [reports[code] for code in codes]


def _generate_member(
    state: AppState,
    code: str,
    count: int,
    seed: int,
    today: dt.date,
    progress: Progress | None,
    method: population.Method,
) -> population.MemberReport:
    from core.uow import UnitOfWork

    with UnitOfWork(state.session_factory, state.bus) as uow:
        report = population.generate(
            uow.session,
            state.ring,
            [code],
            count,
            seed=seed,
            today=today,
            pools=loader.name_pools(),
            progress=progress,
            method=method,
        )
        uow.commit()
    return report.members[0]


_progress_queue: Any = None


def _init_worker(progress_queue: Any) -> None:
    global _progress_queue
    _progress_queue = progress_queue


def _generate_in_worker(
    settings: Settings,
    code: str,
    count: int,
    seed: int,
    today: dt.date,
    method: population.Method,
) -> population.MemberReport:
    """In a worker process: one member, on connections of the process's own."""
    from jichitai.state import AppState

    state = AppState.from_settings(settings)
    try:
        return _generate_member(
            state, code, count, seed, today, lambda c, n: _progress_queue.put((c, n)), method
        )
    finally:
        state.engine.dispose()


def _report_progress(progress_queue: Any, progress: Progress | None) -> None:
    while True:
        try:
            code, persons = progress_queue.get_nowait()
        except queue.Empty:
            return
        if progress is not None:
            progress(code, persons)
