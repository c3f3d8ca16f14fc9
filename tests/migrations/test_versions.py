"""The migrations that fill new columns from existing rows, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from core.migrate import alembic_config, upgrade
from core.settings import Settings
from core.uow import UnitOfWork
from jichitai import demo
from jichitai.demo_data import loader
from jichitai.state import AppState
from resident_records import population
from resident_records.models import SEARCH_INCLUDES, SEARCH_KEYS
from tests.conftest import APP_ROLE, PG_ADMIN_URL, Database

MEMBER = "162116"  # 射水市


@pytest.fixture
def fresh(database: Database, tmp_path) -> Iterator[tuple[str, Settings]]:
    """A database of its own (this test migrates down and up again), as the owner's URL and the
    app's settings."""
    if not database.is_pg:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
        upgrade(url)
        yield url, Settings(database_url=url, var_dir=tmp_path, master_key=_key())
        return
    name = f"jichitai_migration_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    owner = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    app = make_url(owner).set(username=APP_ROLE, password=None).render_as_string(False)
    try:
        upgrade(owner, APP_ROLE)
        yield (
            owner,
            Settings(
                database_url=app,
                migration_database_url=owner,
                var_dir=tmp_path,
                master_key=_key(),
                db_app_role=APP_ROLE,
            ),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _relationships(owner_url: str) -> list[tuple[str | None, str | None]]:
    """Each version's 続柄 column next to the 続柄 in its data (read as the owner, every tenant)."""
    engine = create_engine(owner_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET row_security = off"))
                in_data = "data ->> 'relationship'"
            else:
                in_data = "json_extract(data, '$.relationship')"
            rows = conn.execute(
                text(f"SELECT relationship, {in_data} FROM resident_record_versions")
            )
            return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()


def test_0008_fills_each_versions_relationship_from_its_data(fresh) -> None:
    """Versions written before 0008 get their 続柄 column from their data; the register's
    writers (here the generator) fill it from then on."""
    owner_url, settings = fresh
    st = AppState.from_settings(settings)
    try:
        with UnitOfWork(st.session_factory) as uow:
            demo.load(uow.session, st.ring)
            demo.load_machiaza(uow.session)
            uow.commit()
        with UnitOfWork(st.session_factory, st.bus) as uow:
            population.generate(
                uow.session, st.ring, [MEMBER], 60, today=dt.date.today(), pools=loader.name_pools()
            )
            uow.commit()
    finally:
        st.engine.dispose()
    written = _relationships(owner_url)
    assert len(written) >= 60
    assert all(column == in_data and column for column, in_data in written)

    # Back to the schema before 0008 (the column goes), then up again: the column is refilled.
    command.downgrade(alembic_config(owner_url), "0007")
    with pytest.raises(OperationalError if owner_url.startswith("sqlite") else ProgrammingError):
        _relationships(owner_url)
    upgrade(owner_url, APP_ROLE)
    assert sorted(_relationships(owner_url), key=str) == sorted(written, key=str)


def test_0009_the_name_searches_indexes_carry_the_residence_columns(database: Database) -> None:
    """PostgreSQL: each prefix-searched key's index INCLUDEs status and the residence dates (the
    capped count is index-only); SQLite, which has no INCLUDE, keeps a plain index on the key."""
    with database.owner_engine.connect() as conn:
        for key in SEARCH_KEYS:
            name = f"ix_resident_current_tenant_id_{key}"
            if database.is_pg:
                definition = conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}
                ).scalar_one()
                assert definition.endswith(
                    f"(tenant_id, {key}) INCLUDE ({', '.join(SEARCH_INCLUDES)})"
                ), definition
            else:
                columns = [r[2] for r in conn.execute(text(f"PRAGMA index_info('{name}')"))]
                assert columns == ["tenant_id", key]
