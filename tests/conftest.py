"""Test fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

The schema is built by the migrations, as in production. On PostgreSQL the tests migrate as the
owner (``postgres``) and the app connects as the non-owner role ``jichitai_app``, so row-level
security is really in force. Under ``CI=true`` an unreachable PostgreSQL fails the run; elsewhere
the PostgreSQL half is skipped with a reason.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from core.migrate import upgrade
from core.settings import Settings
from core.uow import UnitOfWork
from jichitai import demo as demo_data
from jichitai.app import create_app
from jichitai.state import AppState
from tenancy import repository as repo

PG_ADMIN_URL = os.environ.get(
    "JICHITAI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
APP_ROLE = "jichitai_app"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@dataclass
class Database:
    kind: str  # sqlite / postgresql
    app_url: str
    owner_url: str
    owner_engine: Engine

    @property
    def is_pg(self) -> bool:
        return self.kind == "postgresql"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = create_engine(url)
        yield Database("sqlite", url, url, engine)
        engine.dispose()
        return
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"jichitai_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    owner_url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    app_url = (
        make_url(PG_ADMIN_URL)
        .set(database=name, username=APP_ROLE, password=None)
        .render_as_string(hide_password=False)
    )
    upgrade(owner_url, APP_ROLE)
    owner = create_engine(owner_url)
    try:
        yield Database("postgresql", app_url, owner_url, owner)
    finally:
        owner.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp(f"var-{database.kind}")
    return Settings(
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        var_dir=var,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        db_app_role=APP_ROLE,
    )


@pytest.fixture(scope="session")
def state(settings: Settings) -> Iterator[AppState]:
    st = AppState.from_settings(settings)
    yield st
    st.engine.dispose()


@pytest.fixture(scope="session")
def demo(state: AppState) -> dict[str, Any]:
    """The demo deployment (nine Toyama members, staff of every role), loaded once per DB."""
    with UnitOfWork(state.session_factory, state.bus) as uow:
        demo_data.load(uow.session, state.ring)
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        return {m.lg_code: m.id for m in repo.municipalities(uow.session)}


@pytest.fixture(scope="session")
def app(state: AppState, settings: Settings, demo: dict[str, Any]) -> Any:
    return create_app(settings, state)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
