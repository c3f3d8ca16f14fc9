"""Tenant isolation: the three walls of docs/architecture.md, proved from the catalogue up.

* PostgreSQL (wall 3): every table outside ``GLOBAL_TABLES`` is found in ``pg_catalog`` (not in
  the models) and must carry ``tenant_id`` first in every key and index, ``ENABLE`` + ``FORCE``
  row-level security and a cheap policy; the application role really is bound by it.
* The ORM (wall 2): no tenant context → refused; a context → only that tenant's rows, whatever
  the statement asks for; a row of another tenant cannot be written.
* HTTP (wall 1 and the order of checks): every id-addressed endpoint answers 404 for another
  municipality's record and leaves it untouched; the operator never reaches personal data;
  401 → 403 → 404.

The route tables below are compared with the app's routes (included routers flattened), so a
new id-addressed endpoint or a new personal-data endpoint without an isolation test fails here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from core import audit
from core.errors import TenantContextMissing, TenantMismatch
from core.migrate import GLOBAL_TABLES, append_only_tables
from core.scoping import RLS_SETTING, TenantContext, TenantId, set_context
from core.uow import UnitOfWork
from tenancy.models import Staff
from tests.forms import isolation_cases as forms_isolation
from tests.helpers import IMIZU, NAMERIKAWA, bearer, operator_headers, staff_login_id
from tests.nhi import isolation_cases as nhi_isolation
from tests.resident_records import isolation_cases as resident_isolation
from tests.tax import isolation_cases as tax_isolation

API = "/api/v1"
# Tables in which 滑川市 must really have rows, so that "射水市 sees none of them" is not vacuous.
NAMERIKAWA_HAS_ROWS = (
    "api_tokens",
    "audit_entries",
    "staff",
    "tenant_data_keys",
    "tenant_parameter_versions",
    *forms_isolation.SEEDED_TABLES,
    *nhi_isolation.SEEDED_TABLES,
)
# Functions an RLS predicate may call: current_setting() is STABLE, evaluated once per query.
# NULLIF is not a function (PostgreSQL parses it into a NULLIFEXPR node); it is allowed in the
# text only, and the parsed tree below is checked for FUNCEXPR nodes separately.
ALLOWED_POLICY_FUNCTIONS = {"current_setting"}
SQL_CONSTRUCTS_WITH_PARENS = {"nullif"}


# --- helpers ----------------------------------------------------------------------------------


# Row-level security and pg_catalog exist on PostgreSQL only: these tests take only that half
# of the parametrised ``database`` fixture (no skipped SQLite twins).
postgres_only = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


def _app_role(database: Any) -> str:
    role = make_url(database.app_url).username
    assert role, "the application URL names no role"
    return role


@contextmanager
def _app_engine(database: Any) -> Iterator[Engine]:
    """The application role's own engine; NullPool, so every connect() is a fresh backend."""
    engine = create_engine(database.app_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _tables(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every ordinary or partitioned table of schema public, from pg_catalog."""
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "pg_get_userbyid(c.relowner) AS owner "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
    ).mappings()
    return {r["relname"]: dict(r) for r in rows}


def _tenant_scoped_tables(database: Any) -> list[str]:
    with database.owner_engine.connect() as conn:
        tables = sorted(set(_tables(conn)) - GLOBAL_TABLES)
    # The catalogue must hold the tables this file knows about, or the enumeration is broken.
    assert {"staff", "audit_entries", "api_tokens"} <= set(tables), tables
    return tables


def _set_tenant(conn: Connection, tenant_id: int | None) -> None:
    value = "" if tenant_id is None else str(tenant_id)
    conn.execute(text("SELECT set_config(:k, :v, true)"), {"k": RLS_SETTING, "v": value})


def _owner_counts(database: Any, table: str) -> dict[int, int]:
    """Rows per tenant as the owner (a superuser on the test server: RLS does not apply)."""
    with database.owner_engine.connect() as conn:
        rows = conn.execute(text(f'SELECT tenant_id, count(*) FROM "{table}" GROUP BY tenant_id'))
        return {int(tid): int(n) for tid, n in rows}


def _owner_max_seq(database: Any, tenant_id: int) -> int:
    with database.owner_engine.connect() as conn:
        value = conn.execute(
            text("SELECT max(seq) FROM audit_entries WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar()
    return int(value or 0)


def _audit_seq_exists(database: Any, tenant_id: int, seq: int) -> bool:
    with database.owner_engine.connect() as conn:
        row = conn.execute(
            text("SELECT 1 FROM audit_entries WHERE tenant_id = :t AND seq = :s"),
            {"t": tenant_id, "s": seq},
        ).first()
    return row is not None


_STAFF_INSERT = (
    "INSERT INTO staff (tenant_id, id, login_id, display_name, password_hash, roles, "
    "active, failed_logins, created_at, version) VALUES (:t, :id, :login, '侵入 試験', "
    "'x', CAST('[]' AS json), true, 0, now(), 1)"
)


def _staff_row(tenant_id: int, login_id: str) -> dict[str, Any]:
    return {"t": tenant_id, "id": uuid.uuid4(), "login": login_id}


def _attempt(
    conn: Connection, tenant_id: int, statement: str, params: dict[str, Any]
) -> DBAPIError | None:
    """Run one statement under ``tenant_id`` in its own transaction, always rolled back;
    the database's refusal, or None if it was allowed."""
    tx = conn.begin()
    try:
        _set_tenant(conn, tenant_id)
        conn.execute(text(statement), params)
    except DBAPIError as exc:
        return exc
    finally:
        tx.rollback()
    return None


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _staff_by_login(client: TestClient, state: Any, lg_code: str, role: str) -> dict[str, Any]:
    """A staff record as its own municipality's admin sees it through the API."""
    response = client.get(f"{API}/staff", headers=bearer(state, lg_code, "tenant_admin"))
    assert response.status_code == 200, response.text
    by_login: dict[str, dict[str, Any]] = {s["login_id"]: s for s in response.json()}
    return by_login[staff_login_id(lg_code, role)]


def _assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body, dict) and "code" in body, body
    if code is not None:
        assert body["code"] == code, body
    return body


_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _path_params(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)


def _all_routes(app: Any) -> list[Any]:
    """Every route of the app, with the routes of included routers flattened.

    FastAPI ≥ 0.16x keeps an included router as one entry of ``app.routes``;
    ``iter_route_contexts`` yields its routes with their effective path and dependencies.
    """
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    return list(app.routes) if iterate is None else list(iterate(app.routes))


def _is_api_route(route: Any) -> bool:
    return isinstance(getattr(route, "original_route", route), APIRoute)


def _route_methods(route: Any) -> set[str]:
    return set(getattr(route, "methods", None) or ()) - {"HEAD", "OPTIONS"}


def _id_addressed_routes(app: Any) -> set[tuple[str, str]]:
    """Every /api/v1 (method, path) whose path has a parameter other than lg_code."""
    found: set[tuple[str, str]] = set()
    for route in _all_routes(app):
        path = getattr(route, "path", None) or ""
        if not path.startswith(API + "/"):
            continue
        if not set(_path_params(path)) - {"lg_code"}:
            continue
        found.update((method, path) for method in _route_methods(route))
    return found


def _has_personal_data_marker(dependant: Any) -> bool:
    for dep in dependant.dependencies:
        if getattr(dep.call, "__personal_data__", False) is True:
            return True
        if _has_personal_data_marker(dep):
            return True
    return False


def _plausible_path(route: Any) -> str:
    """The route's path with every parameter replaced by a valid-looking value."""
    annotations = {p.name: p.field_info.annotation for p in route.dependant.path_params}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "lg_code":
            return IMIZU
        annotation = annotations.get(name)
        if annotation is uuid.UUID:
            return str(uuid.uuid4())
        if annotation is int:
            return "1"
        return "1"

    return _PATH_PARAM.sub(value, route.path)


# --- 1. PostgreSQL: the catalogue and the application role -------------------------------------


@pytest.mark.postgres
@postgres_only
def test_every_table_outside_global_tables_is_under_forced_rls(database, demo) -> None:
    assert database.is_pg
    with database.owner_engine.connect() as conn:
        tables = _tables(conn)
        scoped = sorted(set(tables) - GLOBAL_TABLES)
        assert {"staff", "audit_entries"} <= set(scoped), scoped
        columns = {
            (t, c)
            for t, c in conn.execute(
                text(
                    "SELECT c.relname, a.attname FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped"
                )
            )
        }
        policies: dict[str, list[dict[str, Any]]] = {}
        for row in conn.execute(
            text(
                "SELECT tablename, policyname, permissive, cmd, qual, with_check "
                "FROM pg_policies WHERE schemaname = 'public'"
            )
        ).mappings():
            policies.setdefault(row["tablename"], []).append(dict(row))
        trees = {
            (table, name): (qual, check)
            for table, name, qual, check in conn.execute(
                text(
                    "SELECT c.relname, p.polname, p.polqual::text, p.polwithcheck::text "
                    "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                )
            )
        }
        allowed_oids = {
            int(oid)
            for (oid,) in conn.execute(
                text("SELECT oid FROM pg_proc WHERE proname = ANY(:names)"),
                {"names": sorted(ALLOWED_POLICY_FUNCTIONS)},
            )
        }
        # A view runs with its owner's rights unless security_invoker: it would bypass RLS.
        views = conn.execute(
            text(
                "SELECT c.relname, c.relkind, c.reloptions FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')"
            )
        ).all()

    problems: list[str] = []
    for table in scoped:
        info = tables[table]
        if (table, "tenant_id") not in columns:
            problems.append(f"{table}: no tenant_id column")
        if not info["relrowsecurity"]:
            problems.append(f"{table}: row-level security not enabled")
        if not info["relforcerowsecurity"]:
            problems.append(f"{table}: row-level security not forced")
        table_policies = policies.get(table, [])
        if not any(p["cmd"] == "ALL" and p["permissive"] == "PERMISSIVE" for p in table_policies):
            problems.append(f"{table}: no permissive policy covering ALL commands")
        for p in table_policies:
            for kind in ("qual", "with_check"):
                expr = p[kind]
                if expr is None:
                    if kind == "qual":
                        problems.append(f"{table}.{p['policyname']}: no USING expression")
                    continue
                if "tenant_id" not in expr:
                    problems.append(f"{table}.{p['policyname']} {kind} ignores tenant_id: {expr}")
                if re.search(r"\bselect\b", expr, re.IGNORECASE):
                    problems.append(f"{table}.{p['policyname']} {kind} has a subquery: {expr}")
                called = {m.lower() for m in re.findall(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(", expr)}
                called -= SQL_CONSTRUCTS_WITH_PARENS
                if called != ALLOWED_POLICY_FUNCTIONS:
                    problems.append(f"{table}.{p['policyname']} {kind} calls {called}: {expr}")
            for kind, tree in zip(
                ("qual", "with_check"), trees[(table, p["policyname"])], strict=True
            ):
                if tree is None:
                    continue
                if "{SUBLINK" in tree:
                    problems.append(f"{table}.{p['policyname']} {kind}: subquery in parse tree")
                funcs = {int(f) for f in re.findall(r"\{FUNCEXPR :funcid (\d+)", tree)}
                if not funcs or funcs - allowed_oids:
                    problems.append(
                        f"{table}.{p['policyname']} {kind}: functions {funcs} in parse tree, "
                        f"only {ALLOWED_POLICY_FUNCTIONS} ({allowed_oids}) allowed"
                    )
    for name, kind, options in views:
        if kind == "m" or "security_invoker=true" not in (options or []):
            problems.append(f"view {name} would read tenant tables with its owner's rights")
    assert not problems, "\n".join(problems)


@pytest.mark.postgres
@postgres_only
def test_tenant_id_leads_every_key_and_index(database, demo) -> None:
    assert database.is_pg
    scoped = _tenant_scoped_tables(database)
    problems: list[str] = []
    with database.owner_engine.connect() as conn:
        for table in scoped:
            indexes = conn.execute(
                text(
                    "SELECT ci.relname AS name, i.indisprimary AS is_pk, a.attname AS first "
                    "FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid "
                    "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid "
                    "AND a.attnum = i.indkey[0] "
                    "WHERE i.indrelid = CAST(:t AS regclass)"
                ),
                {"t": f"public.{table}"},
            ).mappings()
            indexes = list(indexes)
            if not any(ix["is_pk"] for ix in indexes):
                problems.append(f"{table}: no primary key")
            problems.extend(
                f"{table}: index {ix['name']} starts with {ix['first']!r}"
                for ix in indexes
                if ix["first"] != "tenant_id"
            )
            constraints = conn.execute(
                text(
                    "SELECT con.conname AS name, con.contype AS kind, a.attname AS first, "
                    "rc.relname AS ref_table, ra.attname AS ref_first "
                    "FROM pg_constraint con "
                    "LEFT JOIN pg_attribute a ON a.attrelid = con.conrelid "
                    "AND a.attnum = con.conkey[1] "
                    "LEFT JOIN pg_class rc ON rc.oid = con.confrelid "
                    "LEFT JOIN pg_attribute ra ON ra.attrelid = con.confrelid "
                    "AND ra.attnum = con.confkey[1] "
                    "WHERE con.conrelid = CAST(:t AS regclass) AND con.contype IN ('p', 'f', 'u')"
                ),
                {"t": f"public.{table}"},
            ).mappings()
            kinds: set[str] = set()
            for con in constraints:
                kinds.add(con["kind"])
                if con["first"] != "tenant_id":
                    problems.append(f"{table}: constraint {con['name']} starts with {con['first']}")
                # Between two tenant-scoped tables the reference is (tenant_id, ...) too.
                if (
                    con["kind"] == "f"
                    and con["ref_table"] in scoped
                    and con["ref_first"] != "tenant_id"
                ):
                    problems.append(
                        f"{table}: {con['name']} references {con['ref_table']}."
                        f"{con['ref_first']} first"
                    )
            if not {"p", "f"} <= kinds:
                problems.append(f"{table}: missing primary or foreign key ({kinds})")
    assert not problems, "\n".join(problems)


@pytest.mark.postgres
@postgres_only
def test_app_role_reads_only_the_current_tenant_with_raw_sql(
    client: TestClient, database, state, demo
) -> None:
    assert database.is_pg
    imizu, namerikawa = demo[IMIZU], demo[NAMERIKAWA]
    bearer(state, NAMERIKAWA, "clerk")  # 滑川市 now certainly has an api_tokens row too
    forms_isolation.seed_namerikawa(client, state)  # and issued documents, releases …
    nhi_isolation.seed_namerikawa(client, state)  # and NHI qualifications and cover
    scoped = _tenant_scoped_tables(database)
    owner = {table: _owner_counts(database, table) for table in scoped}
    for table in NAMERIKAWA_HAS_ROWS:
        assert table in scoped
        assert owner[table].get(namerikawa, 0) > 0, f"滑川市 has no {table} rows: vacuous test"
    assert owner["staff"].get(imizu, 0) >= 7

    with _app_engine(database) as engine, engine.connect() as conn:
        # A brand-new backend: app.tenant_id has never been set (current_setting gives NULL).
        with conn.begin():
            assert conn.execute(text("SELECT current_user")).scalar() == _app_role(database)
            for table in scoped:
                n = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
                assert n == 0, f"{table}: {n} rows visible with no tenant set"

        with conn.begin():
            conn.execute(text("SELECT set_config('app.tenant_id', :v, true)"), {"v": str(imizu)})
            for table in scoped:
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
                foreign = {r["tenant_id"] for r in rows} - {imizu}
                assert not foreign, f"{table}: 射水市 sees rows of tenants {foreign}"
                # RLS hides nothing of the tenant's own: the same count the owner sees.
                assert len(rows) == owner[table].get(imizu, 0), table
                asked = conn.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE tenant_id = :t'),
                    {"t": namerikawa},
                ).scalar()
                assert asked == 0, f"{table}: 滑川市 rows readable by asking for them"
            assert (
                conn.execute(text("SELECT count(*) FROM staff")).scalar() == owner["staff"][imizu]
            )

        # The same backend after that transaction: the local setting is gone ('' now).
        with conn.begin():
            assert conn.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar() in (
                "",
                None,
            )
            for table in scoped:
                n = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
                assert n == 0, f"{table}: {n} rows visible after the tenant's transaction ended"

        # Explicitly empty, as core.scoping sets it when the context is cleared.
        with conn.begin():
            _set_tenant(conn, None)
            for table in scoped:
                assert conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() == 0


@pytest.mark.postgres
@postgres_only
def test_app_role_is_not_superuser_bypassrls_or_owner(database, demo) -> None:
    assert database.is_pg
    role = _app_role(database)
    scoped = _tenant_scoped_tables(database)
    with database.owner_engine.connect() as conn:
        row = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).one()
        assert row.rolsuper is False
        assert row.rolbypassrls is False
        tables = _tables(conn)
        owned = [t for t, info in tables.items() if info["owner"] == role]
        assert not owned, f"{role} owns {owned}"
        for table in scoped:
            acts_as_owner = conn.execute(
                text(
                    "SELECT pg_has_role(:r, relowner, 'MEMBER') FROM pg_class "
                    "WHERE oid = CAST(:t AS regclass)"
                ),
                {"r": role, "t": f"public.{table}"},
            ).scalar()
            assert acts_as_owner is False, f"{role} is a member of the owner of {table}"
            # TRUNCATE is not subject to row-level security: it would empty every tenant.
            may_truncate = conn.execute(
                text("SELECT has_table_privilege(:r, :t, 'TRUNCATE')"),
                {"r": role, "t": f"public.{table}"},
            ).scalar()
            assert may_truncate is False, f"{role} may TRUNCATE {table}"


@pytest.mark.postgres
@postgres_only
def test_app_role_cannot_write_another_tenants_rows(database, demo) -> None:
    assert database.is_pg
    imizu, namerikawa = demo[IMIZU], demo[NAMERIKAWA]
    probe = f"isolation.{uuid.uuid4().hex[:8]}"
    with _app_engine(database) as engine, engine.connect() as conn:
        # Control: the same INSERT for the tenant's own id is allowed (and rolled back).
        assert _attempt(conn, imizu, _STAFF_INSERT, _staff_row(imizu, probe)) is None

        refused = _attempt(conn, imizu, _STAFF_INSERT, _staff_row(namerikawa, probe))
        assert refused is not None, "a 滑川市 staff row was inserted under 射水市"
        assert _sqlstate(refused) == "42501"
        assert "row-level security" in str(refused.orig)

        # USING: 滑川市 rows are invisible to UPDATE and DELETE, so nothing happens.
        tx = conn.begin()
        _set_tenant(conn, imizu)
        changed = conn.execute(
            text("UPDATE staff SET display_name = '乗っ取り' WHERE tenant_id = :t"),
            {"t": namerikawa},
        ).rowcount
        removed = conn.execute(
            text("DELETE FROM staff WHERE tenant_id = :t"), {"t": namerikawa}
        ).rowcount
        tx.rollback()
        assert (changed, removed) == (0, 0)

        # WITH CHECK: an own row cannot be moved to another tenant.
        moved = _attempt(
            conn,
            imizu,
            "UPDATE staff SET tenant_id = :n WHERE login_id = :l",
            {"n": namerikawa, "l": staff_login_id(IMIZU, "clerk")},
        )
        assert moved is not None, "a 射水市 staff row was moved to 滑川市"
        assert _sqlstate(moved) == "42501"
        assert "row-level security" in str(moved.orig)

        # Append-only tables: no UPDATE and no DELETE at all, even of the tenant's own rows.
        assert "audit_entries" in append_only_tables()
        for table in sorted(append_only_tables()):
            # Control: the rows are there to be read.
            assert _attempt(conn, imizu, f"SELECT * FROM {table}", {}) is None
            for statement in (
                f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :t",
                f"DELETE FROM {table} WHERE tenant_id = :t",
            ):
                denied = _attempt(conn, imizu, statement, {"t": imizu})
                assert denied is not None, f"allowed: {statement}"
                assert _sqlstate(denied) == "42501", statement
                assert "permission denied" in str(denied.orig), statement

    assert _owner_counts(database, "staff").get(namerikawa, 0) > 0
    with database.owner_engine.connect() as conn:
        leaked = conn.execute(
            text("SELECT count(*) FROM staff WHERE login_id = :l"), {"l": probe}
        ).scalar()
        clerk_tenant = conn.execute(
            text("SELECT tenant_id FROM staff WHERE login_id = :l"),
            {"l": staff_login_id(IMIZU, "clerk")},
        ).scalar()
    assert leaked == 0
    assert clerk_tenant == imizu


# --- 2. The ORM (both databases) --------------------------------------------------------------


def _owner_staff_count(database: Any, tenant_id: int) -> int:
    with database.owner_engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM staff WHERE tenant_id = :t"), {"t": tenant_id}
            ).scalar_one()
        )


@pytest.mark.parametrize(
    "make_statement",
    [
        pytest.param(lambda: select(Staff), id="select-entity"),
        pytest.param(lambda: select(Staff.login_id), id="select-column"),
        pytest.param(lambda: select(func.count()).select_from(Staff), id="count-select-from"),
        pytest.param(lambda: select(func.count(Staff.id)), id="count-column"),
        pytest.param(
            lambda: update(Staff).where(Staff.login_id == "nobody").values(display_name="x"),
            id="orm-update",
        ),
        pytest.param(lambda: delete(Staff).where(Staff.login_id == "nobody"), id="orm-delete"),
    ],
)
def test_orm_query_without_tenant_context_is_refused(
    state, demo, make_statement: Callable[[], Any]
) -> None:
    session = state.session_factory()
    try:
        with pytest.raises(TenantContextMissing):
            session.execute(make_statement())
    finally:
        session.rollback()
        session.close()


def test_orm_reads_only_the_context_tenant(database, state, demo) -> None:
    imizu, namerikawa = demo[IMIZU], demo[NAMERIKAWA]
    expected = _owner_staff_count(database, imizu)
    assert expected >= 7
    assert _owner_staff_count(database, namerikawa) >= 7  # there is something to leak
    session = state.session_factory()
    try:
        set_context(session, TenantContext(TenantId(imizu)))
        rows = session.scalars(select(Staff)).all()
        assert len(rows) == expected
        assert {s.tenant_id for s in rows} == {imizu}
        assert session.scalar(select(func.count()).select_from(Staff)) == expected
        # Asking for another tenant explicitly still yields nothing.
        asked = select(Staff).where(Staff.tenant_id == namerikawa)
        assert session.scalars(asked).all() == []
        counted = select(func.count()).select_from(Staff).where(Staff.tenant_id == namerikawa)
        assert session.scalar(counted) == 0
        logins = session.scalars(select(Staff.login_id).where(Staff.tenant_id == namerikawa))
        assert logins.all() == []
        other = staff_login_id(NAMERIKAWA, "clerk")
        assert session.scalars(select(Staff).where(Staff.login_id == other)).all() == []
    finally:
        session.rollback()
        session.close()


def test_orm_refuses_to_write_another_tenants_row(database, state, demo) -> None:
    imizu, namerikawa = demo[IMIZU], demo[NAMERIKAWA]
    probe = f"isolation.{uuid.uuid4().hex[:8]}"
    session = state.session_factory()
    try:
        set_context(session, TenantContext(TenantId(imizu)))
        session.add(
            Staff(
                tenant_id=namerikawa,
                login_id=probe,
                display_name="侵入 試験",
                password_hash="x",
                roles=["clerk"],
            )
        )
        with pytest.raises(TenantMismatch):
            session.flush()
    finally:
        session.rollback()
        session.close()

    session = state.session_factory()
    try:
        set_context(session, TenantContext(TenantId(imizu)))
        own = session.scalars(
            select(Staff).where(Staff.login_id == staff_login_id(IMIZU, "clerk"))
        ).one()
        own.tenant_id = namerikawa
        with pytest.raises(TenantMismatch):
            session.flush()
    finally:
        session.rollback()
        session.close()

    with database.owner_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM staff WHERE login_id = :l"), {"l": probe}
            ).scalar()
            == 0
        )
        assert (
            conn.execute(
                text("SELECT tenant_id FROM staff WHERE login_id = :l"),
                {"l": staff_login_id(IMIZU, "clerk")},
            ).scalar()
            == imizu
        )


# --- 3. HTTP: every id-addressed endpoint (both databases) -------------------------------------


def _case_get_staff(client: TestClient, state: Any, database: Any, demo: dict[str, int]) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    own = _staff_by_login(client, state, IMIZU, "clerk")
    assert client.get(f"{API}/staff/{own['id']}", headers=admin).status_code == 200  # control
    target = _staff_by_login(client, state, NAMERIKAWA, "clerk")
    response = client.get(f"{API}/staff/{target['id']}", headers=admin)
    _assert_error(response, 404, "staff_not_found")
    assert target["login_id"] not in response.text
    assert target["display_name"] not in response.text


def _case_patch_staff(client: TestClient, state: Any, database: Any, demo: dict[str, int]) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    own = _staff_by_login(client, state, IMIZU, "welfare_officer")
    control = client.patch(
        f"{API}/staff/{own['id']}", json={"version": own["version"]}, headers=admin
    )
    assert control.status_code == 200, control.text  # the endpoint works for the own tenant
    before = _staff_by_login(client, state, NAMERIKAWA, "welfare_officer")
    response = client.patch(
        f"{API}/staff/{before['id']}",
        json={
            "version": before["version"],
            "display_name": "乗っ取り 試験",
            "roles": ["tenant_admin"],
            "active": False,
            "password": "taken-over-password-2026",
        },
        headers=admin,
    )
    _assert_error(response, 404, "staff_not_found")
    after = _staff_by_login(client, state, NAMERIKAWA, "welfare_officer")
    assert after == before


def _case_revoke_token(client: TestClient, state: Any, database: Any, demo: dict[str, int]) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    other_admin = bearer(state, NAMERIKAWA, "tenant_admin")
    issued = client.post(
        f"{API}/tokens", json={"name": "分離試験", "role": "clerk"}, headers=other_admin
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()
    response = client.delete(f"{API}/tokens/{token['id']}", headers=admin)
    _assert_error(response, 404, "token_not_found")
    listed = client.get(f"{API}/tokens", headers=other_admin)
    assert listed.status_code == 200
    mine = [t for t in listed.json() if t["id"] == token["id"]]
    assert len(mine) == 1 and mine[0]["revoked_at"] is None
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert me.status_code == 200 and me.json()["lg_code"] == NAMERIKAWA
    # Control: 射水市 can revoke its own token through the same endpoint.
    own = client.post(f"{API}/tokens", json={"name": "分離試験", "role": "clerk"}, headers=admin)
    assert own.status_code == 201, own.text
    revoked = client.delete(f"{API}/tokens/{own.json()['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None


def _case_get_audit(client: TestClient, state: Any, database: Any, demo: dict[str, int]) -> None:
    imizu, namerikawa = demo[IMIZU], demo[NAMERIKAWA]
    # Make 滑川市's chain longer than 射水市's, so that its newest seq exists there only.
    missing = _owner_max_seq(database, imizu) + 5 - _owner_max_seq(database, namerikawa)
    with UnitOfWork(state.session_factory) as uow:
        set_context(uow.session, TenantContext(TenantId(namerikawa)))
        for _ in range(max(missing, 1)):
            audit.record(uow.session, actor=audit.Actor.system("tests"), action="test.isolation")
        uow.commit()
    seq = _owner_max_seq(database, namerikawa)
    assert _audit_seq_exists(database, namerikawa, seq)
    assert not _audit_seq_exists(database, imizu, seq)

    supervisor = bearer(state, IMIZU, "supervisor")
    _assert_error(client.get(f"{API}/audit/{seq}", headers=supervisor), 404, "not_found")
    # Controls: 滑川市 reads the entry; 射水市 reads its own first entry.
    theirs = client.get(f"{API}/audit/{seq}", headers=bearer(state, NAMERIKAWA, "supervisor"))
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["seq"] == seq and theirs.json()["action"] == "test.isolation"
    own = client.get(f"{API}/audit/1", headers=supervisor)
    assert own.status_code == 200 and own.json()["seq"] == 1


ID_ROUTE_CASES: dict[tuple[str, str], Callable[..., None]] = {
    ("GET", f"{API}/staff/{{staff_id}}"): _case_get_staff,
    ("PATCH", f"{API}/staff/{{staff_id}}"): _case_patch_staff,
    ("DELETE", f"{API}/tokens/{{token_id}}"): _case_revoke_token,
    ("GET", f"{API}/audit/{{seq}}"): _case_get_audit,
}
ID_ROUTE_CASES.update(resident_isolation.CASES)
ID_ROUTE_CASES.update(forms_isolation.CASES)
ID_ROUTE_CASES.update(nhi_isolation.CASES)
ID_ROUTE_CASES.update(tax_isolation.CASES)
# A body that passes validation, for the methods that need one (401/403 must come first anyway).
ID_ROUTE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", f"{API}/staff/{{staff_id}}"): {"version": 1},
    **resident_isolation.BODIES,
    **forms_isolation.BODIES,
    **tax_isolation.BODIES,
}
# A role of the caller's own municipality that may not use the route: clerk unless stated.
ID_ROUTE_UNPRIVILEGED: dict[tuple[str, str], str] = {
    **resident_isolation.UNPRIVILEGED,
    **forms_isolation.UNPRIVILEGED,
    **tax_isolation.UNPRIVILEGED,
}


def test_every_id_addressed_route_has_an_isolation_case(app) -> None:
    routes = _id_addressed_routes(app)
    assert routes, "no id-addressed route found: the enumeration is broken"
    assert routes == set(ID_ROUTE_CASES), (
        f"untested: {sorted(routes - set(ID_ROUTE_CASES))}; "
        f"gone: {sorted(set(ID_ROUTE_CASES) - routes)}"
    )


@pytest.mark.parametrize("route", sorted(ID_ROUTE_CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_another_tenants_record_is_404_and_untouched(
    client: TestClient, state, database, demo, route: tuple[str, str]
) -> None:
    ID_ROUTE_CASES[route](client, state, database, demo)


def _sample_value(match: re.Match[str]) -> str:
    """A well-formed id of a record that exists nowhere (auth must be decided before lookup)."""
    name = match.group(1)
    if name == "lg_code":
        return IMIZU
    if name == "serial":
        return forms_isolation.UNKNOWN_SERIAL  # the route's pattern: <団体コード>-<年>-<7桁>
    return "999999999" if name == "seq" else str(uuid.uuid4())


@pytest.mark.parametrize("route", sorted(ID_ROUTE_CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_id_addressed_routes_check_credentials_then_role(
    client: TestClient, state, demo, route: tuple[str, str]
) -> None:
    method, path = route
    url = _PATH_PARAM.sub(_sample_value, path)
    body = ID_ROUTE_BODIES.get(route)
    _assert_error(client.request(method, url, json=body), 401)
    role = ID_ROUTE_UNPRIVILEGED.get(route, "clerk")
    unprivileged = bearer(state, IMIZU, role)
    _assert_error(client.request(method, url, json=body, headers=unprivileged), 403, "forbidden")


# --- 4. The operator never reaches personal data (both databases) ------------------------------


def _personal_data_routes(app: Any) -> list[Any]:
    return [
        r for r in _all_routes(app) if _is_api_route(r) and _has_personal_data_marker(r.dependant)
    ]


def test_operator_is_refused_every_personal_data_route(client: TestClient, app) -> None:
    routes = _personal_data_routes(app)
    assert routes, "no route carries the personal-data marker: the walk is broken"
    assert any(r.path == f"{API}/audit" for r in routes)
    headers = operator_headers(client)
    # Control: the operator is signed in (operator routes answer), so 403 is about the data.
    assert client.get(f"{API}/municipalities", headers=headers).status_code == 200
    checked = 0
    for route in routes:
        url = _plausible_path(route)
        for method in sorted(_route_methods(route)):
            body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
            response = client.request(method, url, headers=headers, json=body)
            _assert_error(response, 403, "operator_no_personal_data")
            checked += 1
    assert checked >= len(routes)


# --- 5. 401 → 403 → 404 (both databases) -----------------------------------------------------


def test_auth_is_checked_before_role_and_role_before_record(
    client: TestClient, state, demo
) -> None:
    target = _staff_by_login(client, state, NAMERIKAWA, "supervisor")
    url = f"{API}/staff/{target['id']}"
    _assert_error(client.get(url), 401, "unauthenticated")
    _assert_error(client.get(url, headers=bearer(state, IMIZU, "clerk")), 403, "forbidden")
    _assert_error(
        client.get(url, headers=bearer(state, IMIZU, "tenant_admin")), 404, "staff_not_found"
    )
    # And the record is there for its own municipality.
    own = client.get(url, headers=bearer(state, NAMERIKAWA, "tenant_admin"))
    assert own.status_code == 200 and own.json()["id"] == target["id"]
