"""Database kernel: one declarative ``Base``, engines for SQLite and PostgreSQL, sessions."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache, lru_cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Row,
    Select,
    Subquery,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    ORMExecuteState,
    Session,
    SessionTransaction,
    sessionmaker,
)
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.types import TypeDecorator

from core.errors import TenantMismatch

if TYPE_CHECKING:
    import psycopg

_Ts = TypeVarTuple("_Ts")
_S = TypeVar("_S")
_M = TypeVar("_M", bound="Base")

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


def among(
    session: Session, column: Any, values: Iterable[Any] | Select[Any]
) -> ColumnElement[bool]:
    """``column IN values`` for a long list of values (ids read in bulk by other areas), or
    ``column IN (SELECT …)`` when ``values`` is a statement (the ids never leave the database).

    On PostgreSQL a list is one array parameter (``= ANY(:values)``): an IN list of 5,000 ids is
    5,000 bind parameters, which the driver splices into the statement text and the server parses
    again — ≈ 40 ms a statement before any row is read. SQLite has no arrays: an IN list there.
    """
    if isinstance(values, Select):
        return cast("ColumnElement[bool]", column.in_(values))
    return _in_list(session, column, {"key": None, "value": list(values), "unique": True})


def among_param(session: Session, column: Any, name: str) -> ColumnElement[bool]:
    """``column IN :name`` as :func:`among` writes it, the list given at execution: for a
    statement built once and run many times with other ids (``bindparam`` semantics)."""
    return _in_list(session, column, {"key": name})


def _in_list(session: Session, column: Any, param: dict[str, Any]) -> ColumnElement[bool]:
    # One array parameter on PostgreSQL, an expanding IN list on SQLite (which has no arrays).
    if session.get_bind().dialect.name == "postgresql":
        return cast(
            "ColumnElement[bool]", column == any_(bindparam(**param, type_=ARRAY(column.type)))
        )
    return cast("ColumnElement[bool]", column.in_(bindparam(**param, expanding=True)))


def newest_per(
    session: Session,
    query: Select[Any],
    columns: Sequence[Any],
    key: Sequence[Any],
    newest_first: Sequence[Any],
) -> Subquery:
    """``columns`` of the first row of each ``key`` in ``newest_first`` order among ``query``'s
    rows (a person's version in force, an employer's latest report), as a subquery.

    PostgreSQL: ``DISTINCT ON``, which computes the columns before it sorts; a window function
    there carries every column of the rows through the sort (for the register, each version's
    whole JSON document: ten times the bytes, spilled to disk). SQLite has no ``DISTINCT ON``:
    ``row_number()`` over the key, first of each."""
    if session.get_bind().dialect.name == "postgresql":
        return (
            query.with_only_columns(*columns)
            .ext(distinct_on(*key))
            .order_by(*key, *newest_first)
            .subquery()
        )
    ranked = query.with_only_columns(
        *columns,
        func.row_number().over(partition_by=list(key), order_by=list(newest_first)).label("rn"),
    ).subquery()
    return select(*(c for c in ranked.c if c.key != "rn")).where(ranked.c.rn == 1).subquery()


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
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _ping_on_checkout)
    event.listen(engine, "checkin", _mark_returned)
    return engine


# A connection handed back to the pool less than this many seconds ago is not pinged again.
PING_AFTER_IDLE = 0.5
_RETURNED_AT = "jichitai.returned_at"


def _mark_returned(dbapi_connection: Any, record: Any) -> None:
    # The pool's reset (a rollback) has just succeeded on it: it was alive at this moment.
    if dbapi_connection is not None:
        record.info[_RETURNED_AT] = time.monotonic()


def _ping_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling, as ``pool_pre_ping`` does it, in one round trip.

    psycopg opens the transaction with a BEGIN of its own before the ping; in pipeline mode
    the two go together instead of waiting one for the other. A dead connection is replaced by
    the pool, which retries the checkout. A connection back in the pool for less than
    ``PING_AFTER_IDLE`` is handed out unpinged, as HikariCP does (``aliveBypassWindowMs``,
    500 ms): at a busy counter one unit of work follows another on the same connection, and the
    ping was a round trip of every notification (its BEGIN then goes with the tenant's
    setting, ``core.scoping``)."""
    returned = record.info.get(_RETURNED_AT)
    if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE:
        return
    import psycopg  # only reached on psycopg connections

    try:
        with dbapi_connection.pipeline(), dbapi_connection.cursor() as cur:
            cur.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        raise DisconnectionError() from exc


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


def _check_tenant(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    # The ORM's write check (core.scoping) does not see Core inserts: the same wall, here.
    if "tenant_id" not in table.columns:
        return
    from core.scoping import require_context

    tenant = require_context(session).tenant_id
    if any(row["tenant_id"] != tenant for row in rows):
        raise TenantMismatch(f"a row of another tenant in an insert into {table.name}")


def _json(value: Any) -> str:
    return value if isinstance(value, JsonText) else json.dumps(value)


class JsonText(str):
    """A JSON column's value already serialised (the caller needed the text anyway, e.g. to hash
    it): ``bulk_insert`` writes it as it is instead of serialising the object again."""

    __slots__ = ()


COPY_FROM_ROWS = 100


def bulk_insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """INSERT many rows in the session's transaction; on PostgreSQL through COPY.

    PostgreSQL refuses ``COPY FROM`` into a table under row-level security, so the rows are
    copied into a staging table (``LIKE`` the target: no policy, no index) and moved with one
    ``INSERT … SELECT``, which the RLS policy's WITH CHECK still sees row by row. An
    executemany sends one statement per row: for tens of thousands of rows COPY is several
    times faster. Elsewhere (SQLite), and for fewer than ``COPY_FROM_ROWS`` rows (a correction
    of one household at the counter), it is an executemany: the staging table's four round
    trips cost more than the rows.
    """
    if not rows:
        return
    table = cast(Table, model.__table__)
    _check_tenant(session, table, rows)
    conn = session.connection()
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM_ROWS:
        # The JSON type serialises what it is given: hand it the object, not its text.
        conn.execute(
            table.insert(),
            [
                {
                    c: json.loads(v) if c in json_columns and isinstance(v, JsonText) else v
                    for c, v in row.items()
                }
                for row in rows
            ],
        )
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
    # Each row's values in column order in one C call; only the JSON columns need a hand.
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    json_at = [i for i, c in enumerate(columns) if c in json_columns]

    def write(copy: psycopg.Copy) -> None:
        for row in rows:
            out = values(row)
            if json_at:
                out = list(out)
                for i in json_at:
                    out[i] = _json(out[i])
            copy.write_row(out)

    _copy_in(conn, table, columns, write)


def copy_text_insert(
    session: Session, model: type[Any], columns: Sequence[str], texts: Iterable[str]
) -> None:
    """PostgreSQL: INSERT rows given as COPY text (``core.copytext``: lines of these
    ``columns``) in the session's transaction, through the staging table of ``bulk_insert``.

    For rows formatted in another process (the NHI assessment's workers): this process only
    passes the text on. Every row's ``tenant_id`` is checked by the RLS policy's WITH CHECK as
    the rows are moved in, so a row of another tenant fails the whole insert.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        raise RuntimeError("COPY text is PostgreSQL's: use bulk_insert elsewhere")

    def write(copy: psycopg.Copy) -> None:
        for part in texts:
            copy.write(part)

    _copy_in(conn, cast(Table, model.__table__), columns, write)


def _copy_in(
    conn: Connection, table: Table, columns: Sequence[str], write: Callable[[psycopg.Copy], None]
) -> None:
    # PostgreSQL refuses COPY FROM into a table under row-level security: into a staging table
    # (LIKE the target: no policy, no index), then one INSERT … SELECT under the policy.
    names = ", ".join(columns)
    stage = f"pg_temp.bulk_{table.name}"
    # The psycopg connection of the session's transaction: same transaction, same tenant.
    dbapi = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    with dbapi.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DROP")
        with cur.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            write(copy)
        cur.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage}")  # noqa: S608
        cur.execute(f"TRUNCATE {stage}")


_PENDING_KEY = "jichitai.pending_rows"


def new_row(model: type[_M], **values: Any) -> _M:
    """A new instance of ``model`` holding ``values``, to be queued with :func:`add_new`.

    The declarative constructor sets each value through the ORM's instrumentation (a change
    event and history per attribute, ≈ 2 µs each); a row that is only ever inserted needs none
    of it, and a notification builds a dozen such rows of ten to twenty columns. The instance is
    made as the ORM makes one it loads — through the class's manager, the values then put in its
    dictionary — so it reads, inspects and queues like any other. Only column attributes may be
    given (a relationship set this way would skip its bookkeeping)."""
    unknown = values.keys() - _column_keys(model)
    if unknown:
        raise TypeError(f"{model.__name__}: not a column attribute: {', '.join(sorted(unknown))}")
    obj = manager_of_class(model).new_instance()
    obj.__dict__.update(values)
    return obj


@cache
def _column_keys(model: type[Base]) -> frozenset[str]:
    return frozenset(inspect(model).column_attrs.keys())


@cache
def _queued_columns(table: Table) -> tuple[tuple[str, Any], ...]:
    # Each column's key and the default an ORM flush would apply (None when it has none).
    return tuple((c.key, c.default) for c in table.columns)


def add_new(session: Session, *objects: Base) -> None:
    """Queue new rows to be INSERTed with Core, not through the ORM's unit of work.

    Rows that are only ever inserted (history, events, audit, outbox) need none of the ORM's
    change tracking; building them as instances keeps one set of columns and defaults, and
    sending them as one executemany per table costs a fraction of an ORM flush (and
    :func:`new_row` builds such an instance without the ORM's attribute events). The instances
    stay transient (values, not tracked): change none after queueing it. Every row is stamped
    with the tenant context and checked as the ORM hook and ``bulk_insert`` check theirs.

    Queued rows go out before any ORM flush (ORM rows may point at them), before any ORM
    statement while autoflush is on (so reads see them, as they see flushed objects), before
    the tenant context changes and at commit (in ``flush_inserts_pipelined``'s one round trip);
    a rollback drops them.
    """
    # Begin the transaction now: its end (commit or rollback) is what clears the queue. (Once:
    # session.connection() costs more than queueing a row, and a notification queues dozens.)
    if not session.in_transaction():
        session.connection()
    pending: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_PENDING_KEY, {})
    tenant: int | None = None
    for obj in objects:
        table = cast(Table, type(obj).__table__)
        # The instance's own dictionary: what it was given, and (written straight in, as the
        # instance stays transient) the tenant and defaults it gets here.
        values = inspect(obj).dict
        row: dict[str, Any] = {}
        for key, default in _queued_columns(table):
            if key in values:
                row[key] = values[key]
            elif key == "tenant_id":
                if tenant is None:
                    from core.scoping import require_context

                    tenant = require_context(session).tenant_id
                row[key] = values[key] = tenant
            elif default is not None:
                # The default an ORM flush would apply, kept on the instance as a flush would.
                row[key] = values[key] = default.arg(None) if default.is_callable else default.arg
            else:
                row[key] = None
        _check_tenant(session, table, [row])
        pending.setdefault(table, []).append(row)


def pending_rows(session: Session, model: type[Any]) -> list[dict[str, Any]]:
    """Rows of ``model`` queued by :func:`add_new` and not yet sent."""
    pending: dict[Table, list[dict[str, Any]]] = session.info.get(_PENDING_KEY) or {}
    return pending.get(cast(Table, model.__table__), [])


def write_pending(session: Session) -> None:
    """Send the rows queued by :func:`add_new`: one executemany per table, parents first."""
    pending: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    conn = session.connection()
    order = _insert_order(len(Base.metadata.tables))
    tables = sorted(pending, key=order.__getitem__)
    if conn.dialect.name != "postgresql":
        for table in tables:
            conn.execute(table.insert(), pending[table])
        return
    import psycopg  # only reached on psycopg connections

    # Straight to the driver: a queued row has every column (add_new), so each table's INSERT
    # is compiled once; SQLAlchemy's execute around it cost ≈ 150 µs a statement, a quarter of
    # a notification's own time. The values pass through the same bind processors (JSON, the
    # custom types) as an execute would give them.
    dbapi = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    with dbapi.cursor() as cur:
        for table in tables:
            sql, processors = _insert_of(table, conn.dialect)
            rows = [
                {k: row[k] if p is None else p(row[k]) for k, p in processors}
                for row in pending[table]
            ]
            try:
                cur.executemany(sql, rows)
            except psycopg.Error as exc:
                # As SQLAlchemy wraps it (a unique violation is an IntegrityError); the values
                # are personal data: never in the message.
                raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


_Processors = list[tuple[str, Callable[[Any], Any] | None]]
_inserts: dict[tuple[Table, str], tuple[str, _Processors]] = {}


def _insert_of(table: Table, dialect: Dialect) -> tuple[str, _Processors]:
    """A table's INSERT of every column, as the dialect's SQL text, and each column's bind
    processor (the dialect's implementation of its type)."""
    key = (table, dialect.name)
    found = _inserts.get(key)
    if found is None:
        columns = list(table.columns)
        compiled = table.insert().compile(dialect=dialect, column_keys=[c.key for c in columns])
        if set(compiled.binds) != {c.key for c in columns}:
            raise RuntimeError(f"{table.name}: bind names differ from the column keys")
        processors: _Processors = [
            (c.key, cast(Any, c.type.dialect_impl(dialect).bind_processor(dialect)))
            for c in columns
        ]
        found = _inserts[key] = (compiled.string, processors)
    return found


def core_rows(
    session: Session, stmt: Select[*_Ts], params: Mapping[str, Any] | None = None
) -> Sequence[Row[*_Ts]]:
    """The rows of a column SELECT read without the ORM's per-row processing (≈ 5 µs a row):
    for the bulk reads of the annual batches, hundreds of thousands of rows.

    What an ORM execute would do first is done here too — autoflush of pending objects and of
    rows queued by :func:`add_new` — so a read in a unit of work still sees its own writes. The
    ORM's tenant hook does not see a Core statement: ``stmt`` must name the tenant itself
    (``tenancy.repository.scoped``); row-level security still applies on PostgreSQL.
    """
    if session.autoflush:
        session.flush()
        write_pending(session)
    return session.connection().execute(stmt, params).all()


# Statements built once per process, dialect and key (see ``built_once``).
_built: dict[tuple[str, Hashable], Any] = {}


def built_once(session: Session, key: Hashable, build: Callable[[], _S]) -> _S:
    """The statement ``build`` makes, built once per process, dialect and ``key``; its values
    are bound parameters given at execution (``bindparam``).

    SQLAlchemy takes 1–3 ms to build a statement with a subquery and a few conditions, twice
    what the database takes to answer it for a handful of persons: a notification's own
    statements and the reactions to it (the NHI premium's correction) are built once."""
    cache_key = (session.get_bind().dialect.name, key)
    found = _built.get(cache_key)
    if found is None:
        found = _built[cache_key] = build()
    return cast(_S, found)


def scoped_rows(session: Session, stmt: Select[Any], params: Mapping[str, Any]) -> Sequence[Any]:
    """:func:`core_rows` of a statement whose tenant filter is the ``tenant`` parameter —
    wall 1, written with :func:`tenancy.repository.scoped_by_param` — run with ``params`` and
    ``tenant`` set to the session's tenant."""
    from core.scoping import require_context

    return core_rows(session, stmt, {**params, "tenant": require_context(session).tenant_id})


def prepared_rows(
    session: Session,
    key: Hashable,
    build: Callable[[], Select[Any]],
    params: Mapping[str, Any],
) -> Sequence[Any]:
    """:func:`scoped_rows` of the statement :func:`built_once` keeps for ``key``."""
    return scoped_rows(session, built_once(session, key, build), params)


Statement = tuple[Any, Mapping[str, Any]]  # an executable built once, and its values


def rows_together(session: Session, *statements: Statement) -> list[list[tuple[Any, ...]]]:
    """Each statement's rows, all in one round trip on PostgreSQL (psycopg pipeline mode); on
    SQLite one after another. In order: a statement sees what the ones before it did.

    For the few statements a notification sends before it writes anything (its number counters,
    its tenant's data keys), each a round trip of its own otherwise — ≈ 0.3 ms each on the
    development machine, more than the database's work. The statements run on the session's
    connection, in its transaction, without autoflush (like ``session.connection().execute``);
    each is compiled once per process, so it must be built once too (``built_once`` or a
    module constant) and bind plain values: an expanding IN is refused. The rows are as the
    driver returns them: columns of types with a result processor (``UTCDateTime``) are refused
    too, since that processing would be skipped."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or len(statements) < 2:
        return [[tuple(r) for r in conn.execute(stmt, params)] for stmt, params in statements]
    import psycopg  # only reached on psycopg connections

    dbapi = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    compiled = [_driver_statement(stmt, conn.dialect) for stmt, _ in statements]
    cursors = [dbapi.cursor() for _ in statements]
    try:
        with dbapi.pipeline():
            for cur, (sql, processors), (_, params) in zip(
                cursors, compiled, statements, strict=True
            ):
                values = {}
                for name, default, process in processors:
                    value = params[name] if name in params or default is _REQUIRED else default
                    values[name] = value if process is None else process(value)
                cur.execute(sql, values)
        return [cur.fetchall() for cur in cursors]
    except psycopg.Error as exc:
        # As SQLAlchemy wraps it; the values may be personal data: never in the message.
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
    finally:
        for cur in cursors:
            cur.close()


_DriverStatement = tuple[str, list[tuple[str, Any, Callable[[Any], Any] | None]]]
_driver_statements: dict[tuple[int, str], tuple[Any, _DriverStatement]] = {}
_REQUIRED = object()  # a bind given no value where the statement was built


def _driver_statement(stmt: Any, dialect: Dialect) -> _DriverStatement:
    """``stmt`` as the dialect's SQL text, and each bind's name, default value and processor."""
    key = (id(stmt), dialect.name)
    found = _driver_statements.get(key)
    if found is None or found[0] is not stmt:  # an id is reused only once its object is gone
        compiled = stmt.compile(dialect=dialect)
        # Each bind under the name the SQL text gives it (anonymous ones get theirs here).
        binds = {name: b for b, name in compiled.bind_names.items()}
        if any(b.expanding for b in binds.values()):
            raise ValueError("rows_together: an expanding IN cannot be compiled ahead")
        for column in stmt.exported_columns:
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                raise ValueError(f"rows_together: column {column.key} needs result processing")
        processors = [
            (
                name,
                _REQUIRED if b.required else b.value,
                b.type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name, b in binds.items()
        ]
        found = _driver_statements[key] = (stmt, (compiled.string, processors))
    return found[1]


ReadAside = Callable[..., "Future[Any]"]


@contextmanager
def reads_aside(session: Session, *, readers: int = 2) -> Iterator[ReadAside]:
    """Reads that run on connections of their own while ``session`` goes on (PostgreSQL).

    ``aside(fn, *args, **kwargs)`` runs ``fn(reader, *args, **kwargs)`` in a thread and returns
    its future; ``reader`` is a session of its own on the same database, under ``session``'s
    tenant context, rolled back afterwards. The annual batches read a whole municipality's register,
    qualifications and income; half of each read is the database's own work, which can go on
    while this process groups what it has already read. A reader sees what is committed, never
    ``session``'s uncommitted writes: use it only for reads that need none. On SQLite (one
    file, one writer) ``fn`` runs at once on ``session`` itself. Leaving the block waits for
    every read.
    """
    from core.scoping import get_context, set_context

    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "postgresql":

        def inline(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
            done: Future[Any] = Future()
            try:
                done.set_result(fn(session, *args, **kwargs))
            except Exception as exc:  # raised by .result(), as from a thread
                done.set_exception(exc)
            return done

        yield inline
        return
    ctx = get_context(session)

    def read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with Session(engine) as reader:
            set_context(reader, ctx)
            try:
                return fn(reader, *args, **kwargs)
            finally:
                reader.rollback()

    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="read-aside") as pool:
        yield lambda fn, *args, **kwargs: pool.submit(read, fn, *args, **kwargs)


@lru_cache(maxsize=4)
def _insert_order(_count: int) -> dict[Table, int]:
    # sorted_tables walks every foreign key on each call; the metadata only grows at import.
    return {t: i for i, t in enumerate(Base.metadata.sorted_tables)}


@event.listens_for(Session, "before_flush")
def _write_pending_before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _write_pending_before_statement(state: ORMExecuteState) -> None:
    # What autoflush is to pending objects; ``no_autoflush`` leaves queued rows queued too.
    if state.session.autoflush and state.session.info.get(_PENDING_KEY):
        write_pending(state.session)


@event.listens_for(Session, "before_commit")
def _write_pending_before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    # After a commit nothing is left; after a rollback the rows were never written.
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def flush_inserts_pipelined(session: Session, *, commit: bool = False) -> None:
    """Write queued rows and flush pending INSERTs to PostgreSQL in one round trip (psycopg
    pipeline mode) — with ``commit``, the transaction's COMMIT in that same round trip.

    A use case adds rows to several tables (the version, the projection, the event, the audit
    entry, the outbox message); sent one statement at a time each waits for the last. Only
    inserts are pipelined: an ORM UPDATE or DELETE is checked by its row count, which pipeline
    mode reports only after the sync, so such a flush follows the pipeline (and the COMMIT
    follows it, as ``session.commit()`` sends it). A statement that fails in the pipeline
    aborts the rest of it, the COMMIT included: nothing of the transaction is kept.

    ``commit`` is for the end of a unit of work (``UnitOfWork.commit``), once everything it
    does before committing is done; the caller then calls ``session.commit()``, which finds
    nothing left to write and a transaction the driver already ended, and only does the ORM's
    bookkeeping (psycopg's ``commit()`` is a no-op outside a transaction). Elsewhere this is a
    plain write and flush.
    """
    pending = session.info.get(_PENDING_KEY)
    dbapi = session.connection().connection.dbapi_connection
    pipeline = getattr(dbapi, "pipeline", None)  # psycopg 3; sqlite3 has none
    if pipeline is None or not (pending or session.new):
        write_pending(session)
        session.flush()
        return
    import psycopg  # only reached on psycopg connections

    base_error = psycopg.Error
    try:
        with pipeline():
            write_pending(session)
            if not (session.dirty or session.deleted):
                session.flush()
                # Nothing a flush hook may have left behind: the COMMIT would leave it out.
                left = session.new or session.dirty or session.deleted
                if commit and not (left or session.info.get(_PENDING_KEY)):
                    cast("psycopg.Connection[Any]", dbapi).commit()
    except base_error as exc:
        # Errors surface at the sync, past SQLAlchemy's statement wrapper: wrap them as it
        # would (a unique violation is an IntegrityError on every database).
        raise DBAPIError.instance(None, None, exc, base_error) from exc
    session.flush()  # updates and deletes, if any, outside the pipeline
