"""Demo data: the Toyama group of nine members, their agreement, and staff of every role.

``jichitai demo --residents N`` is the one generator of synthetic data that tests and benchmarks
use: :func:`load_machiaza` loads every member's 町字 master and
``resident_records.population.generate`` adds the residents, from the pools in ``demo_data``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
