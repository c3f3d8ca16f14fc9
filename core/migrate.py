"""Schema migrations (Alembic) and the application role's rights on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from core.db import is_sqlite, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Deployment-wide tables: no tenant_id of their own to filter on, or (web_sessions) looked up
# before any tenant is known. Every other table must be tenant-scoped with RLS; a test enforces it.
GLOBAL_TABLES = frozenset(
    {
        "alembic_version",
        "municipalities",
        "municipal_groups",
        "municipal_group_members",
        "mutual_aid_agreements",
        "mutual_aid_parties",
        "continuity_declarations",
        "operator_accounts",
        "web_sessions",
    }
)


def append_only_tables() -> frozenset[str]:
    """Tables whose models carry ``info={"append_only": True}``: history never to be rewritten.

    The application role may insert and read them, never update or delete (REVOKE on
    PostgreSQL, triggers on SQLite)."""
    from core.db import Base

    return frozenset(t.name for t in Base.metadata.tables.values() if t.info.get("append_only"))


RLS_POLICY = "tenant_isolation"
# Compared directly with current_setting(): no function call per row and no subquery, which
# would cost 30–45× (see docs/architecture.md). NULLIF makes "no tenant set" match no row.
RLS_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer"


def enable_rls_sql(table: str) -> list[str]:
    """Statements that put ``table`` behind row-level security (PostgreSQL)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {RLS_POLICY} ON {table} USING ({RLS_PREDICATE}) "
        f"WITH CHECK ({RLS_PREDICATE})",
    ]


def append_only_trigger_sql(table: str) -> list[str]:
    """SQLite has no GRANT: triggers refuse UPDATE and DELETE on an append-only table."""
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, app_role: str | None = None, revision: str = "head") -> None:
    """Run the migrations as the owner, then grant the application role its rights."""
    command.upgrade(alembic_config(url), revision)
    if not is_sqlite(url) and app_role:
        engine = make_engine(url)
        try:
            grant_app_role(engine, app_role)
        finally:
            engine.dispose()


def grant_app_role(engine: Engine, role: str) -> None:
    """Create the non-owner application role if missing and grant it DML on every table.

    The role has neither SUPERUSER nor BYPASSRLS, so row-level security binds it.
    """
    if not role.replace("_", "").isalnum():
        raise ValueError("the application role name must be alphanumeric")
    with engine.begin() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if exists is None:
            conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB"))
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        )
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        conn.execute(text(f"REVOKE ALL ON alembic_version FROM {role}"))
        for table in sorted(append_only_tables()):
            conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
