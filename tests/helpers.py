"""Helpers shared by the tests: demo logins, API tokens, fresh tenants."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from core import audit
from core.japanese.checkdigits import lg_code_check_digit
from core.scoping import TenantContext, TenantId, tenant_scope
from core.uow import UnitOfWork
from jichitai import demo as demo_data
from jichitai.state import AppState
from tenancy import repository as repo
from tenancy import service
from tenancy.auth import issue_token

IMIZU, NAMERIKAWA = "162116", "162060"
_PREFIX = {code: prefix for code, _n, _k, prefix in demo_data.MEMBERS}


def altered(text: str) -> str:
    """`text` with its first character changed, so a forged value never equals the real one.

    "0" and "1" are valid in both hex digests and base64url signatures.
    """
    return ("0" if text[0] != "0" else "1") + text[1:]


def staff_login_id(lg_code: str, role: str) -> str:
    return f"{_PREFIX[lg_code]}.{role}"


def web_login(client: TestClient, lg_code: str, role: str) -> str:
    """Log a demo staff member in through the real login form; returns the CSRF token."""
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    login_id = "operator" if role == "operator" else staff_login_id(lg_code, role)
    response = client.post(
        "/login",
        data={
            "lg_code": "" if role == "operator" else lg_code,
            "login_id": login_id,
            "password": demo_data.DEMO_PASSWORD,
            "csrf_token": csrf.group(1),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/" if role != "operator" else "/operator/tenants")
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert token is not None
    return token.group(1)


def bearer(state: AppState, lg_code: str, role: str) -> dict[str, str]:
    """An API token of ``lg_code`` with ``role``, as an Authorization header."""
    with UnitOfWork(state.session_factory) as uow:
        m = service.require_municipality(uow.session, lg_code)
        with tenant_scope(uow.session, TenantContext(TenantId(m.id))):
            _tok, plain = issue_token(
                uow.session, m, name=f"test-{role}", role=role, created_by="tests"
            )
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def operator_headers(client: TestClient) -> dict[str, str]:
    csrf = web_login(client, "", "operator")
    return {"X-CSRF-Token": csrf}


def new_tenant(state: AppState, name: str = "試験村") -> int:
    """Create a brand-new tenant (its own audit chain) and return its id."""
    with UnitOfWork(state.session_factory) as uow:
        for _ in range(200):
            body = f"47{uuid.uuid4().int % 1000:03d}"
            code = body + str(lg_code_check_digit(body))
            if repo.municipality_by_code(uow.session, code) is None:
                break
        m = service.create_municipality(
            uow.session,
            state.ring,
            lg_code=code,
            name=name,
            prefecture="沖縄県",
            kind="村",
            actor=audit.Actor.system("tests"),
        )
        uow.commit()
        return m.id


def add_machiaza(state: AppState, lg_code: str, rows: list[tuple[str, str, str]]) -> None:
    """Give a municipality some 町字 (code, name, kana) unless it has them already."""
    from resident_records import repository as rr_repo
    from resident_records.models import Machiaza

    with UnitOfWork(state.session_factory) as uow:
        m = service.require_municipality(uow.session, lg_code)
        with tenant_scope(uow.session, TenantContext(TenantId(m.id))):
            for code, name, kana in rows:
                if rr_repo.machiaza(uow.session, code) is None:
                    uow.session.add(Machiaza(code=code, name=name, kana=kana))
        uow.commit()


def cli_environment(tmp_path: Path, monkeypatch: Any) -> dict[str, str]:
    """Point the ``jichitai`` command at a fresh SQLite deployment under ``tmp_path``.

    The caller clears ``core.settings.get_settings``'s cache again when done."""
    from core.settings import get_settings

    values = {
        "JICHITAI_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "JICHITAI_VAR_DIR": str(tmp_path / "var"),
        "JICHITAI_MASTER_KEY": "",
        "JICHITAI_MIGRATION_DATABASE_URL": "",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return values
