"""Database kernel: one declarative ``Base``, engines for SQLite and PostgreSQL, sessions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.errors import TenantMismatch

if TYPE_CHECKING:
    import psycopg

# One naming convention so that migrations name constraints the same way on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite stores no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module, so that ``_sqlite_begin`` decides how a
    # transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the counter read while a batch writes; FULL, because NORMAL may lose the last
    # commits on power loss and a lost 転入 is not acceptable.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: a read-then-write transaction (the audit chain's
    # "read the head, append the next entry") can then never fail half-way with SQLITE_BUSY.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``: SQLite (file, WAL) or PostgreSQL through psycopg 3."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def run_lock(session: Session, namespace: int, key: int) -> Iterator[bool]:
    """Keep two runs of one batch apart; yields whether this run holds the lock.

    A PostgreSQL session-level advisory lock, on a connection of its own: the batch commits
    chunk by chunk, and the session hands its connection back to the pool at every commit,
    which would drop a lock taken there. SQLite serialises writers itself: always held."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "postgresql":
        yield True
        return
    args = {"ns": namespace, "k": key}
    with engine.connect() as lock:
        got = bool(lock.execute(text("SELECT pg_try_advisory_lock(:ns, :k)"), args).scalar())
        lock.commit()
        try:
            yield got
        finally:
            if got:
                lock.execute(text("SELECT pg_advisory_unlock(:ns, :k)"), args)
                lock.commit()


def bulk_insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """INSERT many rows in the session's transaction; on PostgreSQL through COPY.

    PostgreSQL refuses ``COPY FROM`` into a table under row-level security, so the rows are
    copied into a staging table (``LIKE`` the target: no policy, no index) and moved with one
    ``INSERT … SELECT``, which the RLS policy's WITH CHECK still sees row by row. An
    executemany sends one statement per row: for tens of thousands of rows COPY is several
    times faster. Elsewhere (SQLite) it is an executemany.
    """
    if not rows:
        return
    table = cast(Table, model.__table__)
    if "tenant_id" in table.columns:
        # The ORM's write check does not see Core inserts: the same wall, here.
        from core.scoping import require_context

        tenant = require_context(session).tenant_id
        if any(row["tenant_id"] != tenant for row in rows):
            raise TenantMismatch(f"a row of another tenant in a bulk insert into {table.name}")
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    # COPY bypasses SQLAlchemy's Python-side defaults (ids, timestamps): fill them in as an
    # INSERT would, one value per row.
    defaults = [c for c in table.columns if c.name not in rows[0] and c.default is not None]
    if defaults:
        for row in rows:
            for c in defaults:
                d = c.default
                row[c.name] = d.arg(None) if d.is_callable else d.arg  # type: ignore[union-attr]
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    names = ", ".join(columns)
    stage = f"pg_temp.bulk_{table.name}"
    # The psycopg connection of the session's transaction: same transaction, same tenant.
    dbapi = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    with dbapi.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DROP")
        with cur.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [json.dumps(row[c]) if c in json_columns else row[c] for c in columns]
                )
        cur.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage}")  # noqa: S608
        cur.execute(f"TRUNCATE {stage}")


def flush_inserts_pipelined(session: Session) -> None:
    """Flush pending INSERTs to PostgreSQL in one round trip (psycopg pipeline mode).

    A use case adds rows to several tables (the version, the projection, the event, the audit
    entry, the outbox message); sent one statement at a time each waits for the last. Only a
    flush of new rows is pipelined: an UPDATE or DELETE is checked by its row count, which
    pipeline mode reports only after the sync. Elsewhere this is a plain flush.
    """
    if not session.new or session.dirty or session.deleted:
        session.flush()
        return
    dbapi = session.connection().connection.dbapi_connection
    pipeline = getattr(dbapi, "pipeline", None)  # psycopg 3; sqlite3 has none
    if pipeline is None:
        session.flush()
        return
    import psycopg  # only reached on psycopg connections

    base_error = psycopg.Error
    try:
        with pipeline():
            session.flush()
    except base_error as exc:
        # Errors surface at the sync, past SQLAlchemy's statement wrapper: wrap them as it
        # would (a unique violation is an IntegrityError on every database).
        raise DBAPIError.instance(None, None, exc, base_error) from exc
