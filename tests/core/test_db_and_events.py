"""Database kernel, unit of work, events and the outbox."""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar

import pytest
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import core.db as core_db
from core.db import (
    COPY_FROM_ROWS,
    JsonText,
    add_new,
    among_param,
    bulk_insert,
    make_engine,
    new_row,
    pending_rows,
    prepared_rows,
    reads_aside,
    rows_together,
)
from core.errors import TenantMismatch
from core.events import DomainEvent, EventBus, OutboxMessage, relay_outbox
from core.scoping import TenantContext, TenantId, tenant_scope
from core.settings import Settings
from core.uow import UnitOfWork
from tenancy.models import Staff
from tenancy.repository import scoped_by_param
from tests.helpers import new_tenant


class ThingHappened(DomainEvent):
    name: ClassVar[str] = "test.thing_happened"
    what: str


class FollowUpHappened(DomainEvent):
    name: ClassVar[str] = "test.follow_up_happened"


def test_default_database_is_a_sqlite_file_under_var() -> None:
    s = Settings(database_url="", var_dir="var")
    assert s.effective_database_url == "sqlite:///var/jichitai.db"
    assert s.effective_migration_url == s.effective_database_url


def test_sqlite_runs_in_wal_with_full_sync(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_handlers_run_in_the_same_transaction_and_events_reach_the_outbox(state) -> None:
    tid = new_tenant(state)
    bus = EventBus()
    seen: list[str] = []

    def on_thing(event: ThingHappened, uow: UnitOfWork) -> None:
        seen.append(event.what)
        uow.publish(FollowUpHappened(tenant_id=event.tenant_id))

    bus.subscribe(ThingHappened, on_thing)
    with UnitOfWork(state.session_factory, bus) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.publish(ThingHappened(tenant_id=tid, what="転入"))
        uow.commit()
    assert seen == ["転入"]
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        names = sorted(uow.session.scalars(select(OutboxMessage.event_name)))
    assert names == ["test.follow_up_happened", "test.thing_happened"]


def test_a_failing_handler_rolls_back_everything(state) -> None:
    tid = new_tenant(state)
    bus = EventBus()

    def broken(event: ThingHappened, uow: UnitOfWork) -> None:
        raise RuntimeError("handler failed")

    bus.subscribe(ThingHappened, broken)
    with UnitOfWork(state.session_factory, bus) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.session.add(
            Staff(login_id="rolled-back", display_name="消える", password_hash="x", roles=["clerk"])
        )
        uow.publish(ThingHappened(tenant_id=tid, what="x"))
        with pytest.raises(RuntimeError):
            uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        assert uow.session.scalar(select(func.count()).select_from(Staff)) == 0
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_work_deferred_by_several_events_runs_once_after_them_in_the_same_transaction(
    state,
) -> None:
    """``once_before_commit``: handlers of three events gather into one piece of work, which
    runs once after the last of them, may publish events of its own (handled before the
    commit), and is rolled back with everything else when the commit fails."""
    tid = new_tenant(state)
    bus = EventBus()
    runs: list[list[str]] = []

    def gather(event: ThingHappened, uow: UnitOfWork) -> None:
        gathered: list[str] = uow.cache.setdefault("gathered", [])
        gathered.append(event.what)

        def work() -> None:
            runs.append(list(gathered))
            uow.session.add(
                Staff(login_id=f"w{len(runs)}", display_name="一", password_hash="x", roles=[])
            )
            uow.publish(FollowUpHappened(tenant_id=event.tenant_id))

        uow.once_before_commit("gathered", work)

    bus.subscribe(ThingHappened, gather)
    with UnitOfWork(state.session_factory, bus) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        for what in ("一", "二", "三"):
            uow.publish(ThingHappened(tenant_id=tid, what=what))
        uow.commit()
    assert runs == [["一", "二", "三"]]
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        names = sorted(uow.session.scalars(select(OutboxMessage.event_name)))
        staff = list(uow.session.scalars(select(Staff.login_id)))
    assert names == ["test.follow_up_happened"] + ["test.thing_happened"] * 3
    assert staff == ["w1"]

    def broken(event: FollowUpHappened, uow: UnitOfWork) -> None:
        raise RuntimeError("handler failed")

    bus.subscribe(FollowUpHappened, broken)
    with UnitOfWork(state.session_factory, bus) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.publish(ThingHappened(tenant_id=tid, what="四"))
        with pytest.raises(RuntimeError):
            uow.commit()
    assert len(runs) == 2  # it ran, and what it wrote went with the failed commit
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        assert list(uow.session.scalars(select(Staff.login_id))) == ["w1"]


def test_relay_delivers_once_and_retries_failures(state) -> None:
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        for n in range(3):
            uow.publish(ThingHappened(tenant_id=tid, what=str(n)))
        uow.commit()
    delivered: list[str] = []

    def flaky(msg: OutboxMessage) -> None:
        if msg.payload["what"] == "1":
            raise ConnectionError("broker down")
        delivered.append(msg.payload["what"])

    with UnitOfWork(state.session_factory) as uow:
        assert relay_outbox(uow.session, [tid], flaky) == 2
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        pending = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        ).all()
        assert [p.payload["what"] for p in pending] == ["1"]
        assert pending[0].attempts == 1 and pending[0].last_error == "ConnectionError"
        assert pending[0].next_attempt_at is not None
    assert sorted(delivered) == ["0", "2"]
    # A second relay right away neither re-sends the delivered ones nor retries before back-off.
    with UnitOfWork(state.session_factory) as uow:
        assert relay_outbox(uow.session, [tid], flaky) == 0
        uow.commit()
    assert sorted(delivered) == ["0", "2"]


def test_a_failing_insert_in_the_one_round_trip_flush_keeps_nothing(state) -> None:
    """The commit's flush sends every INSERT at once (pipelined on PostgreSQL); one bad row
    fails the commit and none of the others is kept."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.session.add(Staff(login_id="first", display_name="一", password_hash="x", roles=[]))
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.publish(ThingHappened(tenant_id=tid, what="x"))
        uow.session.add(Staff(login_id="second", display_name="二", password_hash="x", roles=[]))
        uow.session.add(Staff(login_id="first", display_name="重複", password_hash="x", roles=[]))
        with pytest.raises(IntegrityError):
            uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        logins = sorted(uow.session.scalars(select(Staff.login_id)))
        outbox = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert logins == ["first"]
    assert outbox == 0


def _logins(state: Any, tid: int) -> list[str]:
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        return sorted(uow.session.scalars(select(Staff.login_id)))


def test_the_commit_goes_with_the_inserts_and_is_durable_before_the_orms_bookkeeping(
    state: Any,
) -> None:
    """On PostgreSQL the unit of work's COMMIT is sent in its inserts' round trip: once that
    returns, another connection sees the rows, and ``session.commit()`` sends nothing more
    (the driver's transaction has ended); elsewhere the session commits as always."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.publish(ThingHappened(tenant_id=tid, what="一"))
        uow.session.add(Staff(login_id="p1", display_name="一", password_hash="x", roles=[]))
        uow._dispatch()
        core_db.flush_inserts_pipelined(uow.session, commit=True)
        if uow.session.get_bind().dialect.name == "postgresql":
            # (SQLite's writer still holds its lock here: nobody else could read.)
            assert _logins(state, tid) == ["p1"]
        uow.session.commit()
    assert _logins(state, tid) == ["p1"]


def test_an_update_failing_after_the_pipelined_inserts_keeps_nothing(state: Any) -> None:
    """An ORM UPDATE is flushed after the inserts' round trip (its row count is checked): the
    COMMIT then waits for it, so an update that fails takes the inserts with it."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        for login in ("u1", "u2"):
            uow.session.add(Staff(login_id=login, display_name="一", password_hash="x", roles=[]))
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.publish(ThingHappened(tenant_id=tid, what="二"))
        uow.session.add(Staff(login_id="u3", display_name="三", password_hash="x", roles=[]))
        staff = uow.session.scalars(select(Staff).where(Staff.login_id == "u2")).one()
        staff.login_id = "u1"  # a duplicate login: the UPDATE fails
        with pytest.raises(IntegrityError):
            uow.commit()
    assert _logins(state, tid) == ["u1", "u2"]
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def _outbox_rows(tenant_id: int, n: int) -> list[dict[str, object]]:
    return [
        {"tenant_id": tenant_id, "event_name": f"test.bulk_{i}", "payload": {"i": i, "名": "値"}}
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [COPY_FROM_ROWS - 1, 250])
def test_bulk_insert_writes_every_row_with_its_defaults(state, n: int) -> None:
    """COPY on PostgreSQL from ``COPY_FROM_ROWS`` rows, executemany below and on SQLite: ids,
    timestamps and counters filled in as an INSERT would, JSON kept as JSON (also when given
    as text)."""
    tid = new_tenant(state)
    given = _outbox_rows(tid, n)
    given[0]["payload"] = JsonText(json.dumps(given[0]["payload"]))
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        bulk_insert(uow.session, OutboxMessage, given)
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        rows = uow.session.scalars(select(OutboxMessage)).all()
        uow.session.expunge_all()  # keep the loaded rows readable after the unit of work
    assert len(rows) == n
    assert len({r.id for r in rows}) == n
    assert all(r.created_at is not None and r.attempts == 0 for r in rows)
    assert sorted(r.payload["i"] for r in rows) == list(range(n))
    assert {r.payload["名"] for r in rows} == {"値"}


def test_bulk_insert_of_another_tenants_rows_is_refused_and_keeps_nothing(state) -> None:
    """A Core bulk insert passes neither the ORM's write check nor, on SQLite, any policy: it
    checks every row's tenant itself before anything is sent."""
    mine, theirs = new_tenant(state), new_tenant(state)
    rows = _outbox_rows(mine, 3) + _outbox_rows(theirs, 1)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(mine)))
        with pytest.raises(TenantMismatch):
            bulk_insert(uow.session, OutboxMessage, rows)
        uow.commit()
    for tid in (mine, theirs):
        with UnitOfWork(state.session_factory) as uow:
            uow.set_tenant(TenantContext(TenantId(tid)))
            assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def _outbox_rows_seen(session: Session) -> int:
    # Core SQL on the session's connection: no ORM tenant filter, only row-level security.
    return int(
        session.connection().execute(text("SELECT count(*) FROM outbox_messages")).scalar_one()
    )


def test_a_read_aside_runs_under_the_sessions_tenant_on_a_connection_of_its_own(state) -> None:
    """PostgreSQL: the read runs on another connection under the session's tenant (row-level
    security keeps the other tenant's rows out) and sees what is committed, not the session's
    uncommitted rows. SQLite: it runs on the session itself."""
    mine, theirs = new_tenant(state), new_tenant(state)
    for tid, n in ((mine, 3), (theirs, 5)):
        with UnitOfWork(state.session_factory) as uow:
            uow.set_tenant(TenantContext(TenantId(tid)))
            bulk_insert(uow.session, OutboxMessage, _outbox_rows(tid, n))
            uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(mine)))
        bulk_insert(uow.session, OutboxMessage, _outbox_rows(mine, 2))  # not committed
        with reads_aside(uow.session) as aside:
            seen = aside(_outbox_rows_seen)
            same = aside(lambda reader: reader is uow.session)
            failed = aside(lambda reader: 1 // 0)
        if state.engine.dialect.name == "postgresql":
            assert seen.result() == 3 and same.result() is False
        else:
            assert same.result() is True
        with pytest.raises(ZeroDivisionError):
            failed.result()
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 5
        uow.rollback()


def _outbox_count(state, tid: int) -> int:
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        count = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(count or 0)


def test_queued_rows_get_tenant_and_defaults_are_read_back_and_commit_once(state) -> None:
    """add_new: stamped with the context's tenant, defaults on the instance as a flush would
    set them, seen by the next query of the unit of work (as autoflush makes new objects seen)
    and written by the commit."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        msg = OutboxMessage(event_name="test.queued", payload={"名": "値"})
        add_new(uow.session, msg)
        assert msg.tenant_id == tid and msg.id is not None and msg.attempts == 0
        assert [r["event_name"] for r in pending_rows(uow.session, OutboxMessage)] == [
            "test.queued"
        ]
        with uow.session.no_autoflush:  # no autoflush: the rows stay queued
            assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert uow.session.scalar(select(OutboxMessage.payload)) == {"名": "値"}
        assert pending_rows(uow.session, OutboxMessage) == []
        uow.commit()
    assert _outbox_count(state, tid) == 1


def test_a_row_made_by_new_row_reads_queues_and_is_written_as_a_constructed_one(state) -> None:
    """new_row: the values in the instance (read, inspected, queued), tenant and defaults added
    by add_new, the row written at commit; anything but a column attribute is refused."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        msg = new_row(OutboxMessage, event_name="test.new_row", payload={"名": "値"})
        assert msg.event_name == "test.new_row" and msg.published_at is None
        assert sqlalchemy_inspect(msg).transient
        add_new(uow.session, msg)
        assert msg.tenant_id == tid and msg.id is not None and msg.attempts == 0
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        stored = uow.session.scalars(select(OutboxMessage)).one()
        assert (stored.id, stored.event_name, stored.payload, stored.attempts) == (
            msg.id,
            "test.new_row",
            {"名": "値"},
            0,
        )
    with pytest.raises(TypeError, match="not a column attribute: colour, size"):
        new_row(OutboxMessage, event_name="x", size=1, colour="red")


_COUNT_BY_NAME = (
    select(func.count())
    .select_from(OutboxMessage)
    .where(
        OutboxMessage.tenant_id == bindparam("tenant"),
        OutboxMessage.event_name == bindparam("name"),
    )
)
_NAMES_AFTER = (
    select(OutboxMessage.event_name)
    .where(
        OutboxMessage.tenant_id == bindparam("tenant"),
        OutboxMessage.event_name > bindparam("after"),
    )
    .order_by(OutboxMessage.event_name)
)


def test_statements_sent_together_give_each_its_own_rows_and_see_the_ones_before(
    state,
) -> None:
    """rows_together: the rows of each statement as a separate execute gives them, in order,
    under the session's tenant (RLS and the statements' own filter); an UPDATE sent first is
    seen by a SELECT after it."""
    mine, theirs = new_tenant(state), new_tenant(state)
    for tid, names in ((mine, ["a.one", "a.two"]), (theirs, ["a.one"])):
        with UnitOfWork(state.session_factory) as uow:
            uow.set_tenant(TenantContext(TenantId(tid)))
            for name in names:
                add_new(uow.session, new_row(OutboxMessage, event_name=name, payload={}))
            uow.commit()
    bump = (
        update(OutboxMessage)
        .where(
            OutboxMessage.tenant_id == bindparam("tenant"),
            OutboxMessage.event_name == bindparam("name"),
        )
        .values(attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.event_name, OutboxMessage.attempts)
    )
    seen = select(func.sum(OutboxMessage.attempts)).where(
        OutboxMessage.tenant_id == bindparam("tenant")
    )
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(mine)))
        bumped, counted, following, total = rows_together(
            uow.session,
            (bump, {"tenant": mine, "name": "a.two"}),
            (_COUNT_BY_NAME, {"tenant": mine, "name": "a.one"}),
            (_NAMES_AFTER, {"tenant": mine, "after": "a.one"}),
            (seen, {"tenant": mine}),
        )
        assert bumped == [("a.two", 1)]
        assert counted == [(1,)]  # not the other tenant's a.one
        assert following == [("a.two",)]
        assert total == [(1,)]
        uow.commit()


def test_a_statement_the_driver_cannot_run_as_compiled_once_is_refused() -> None:
    """An expanding IN (its SQL depends on the values) and a column whose values SQLAlchemy
    would convert (UTCDateTime) cannot be sent straight to the driver."""
    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined,no-untyped-call]
    listed = select(OutboxMessage.id).where(OutboxMessage.event_name.in_(["a", "b"]))
    with pytest.raises(ValueError, match="expanding IN"):
        core_db._driver_statement(listed, dialect)
    with pytest.raises(ValueError, match="created_at needs result processing"):
        core_db._driver_statement(select(OutboxMessage.created_at), dialect)
    named: list[Any] = [bindparam(f"n{i}", v) for i, v in enumerate(["a", "b"])]
    sql, binds = core_db._driver_statement(
        select(OutboxMessage.id).where(OutboxMessage.event_name.in_(named)), dialect
    )
    assert "IN (%(n0)s::VARCHAR, %(n1)s::VARCHAR)" in sql
    assert [(name, default) for name, default, _ in binds] == [("n0", "a"), ("n1", "b")]


def test_a_prepared_statement_is_built_once_and_reads_each_sessions_own_tenant(state) -> None:
    """prepared_rows: one statement for every call and tenant, the tenant and the values bound
    at each execution; rows queued in the unit of work are seen, as by any read."""
    key = ("test.prepared", uuid.uuid4())  # a statement of this test's own
    builds: list[int] = []

    def read(session: Session, names: list[str]) -> list[str]:
        def build() -> Any:
            builds.append(1)
            o = OutboxMessage
            return (
                scoped_by_param(o)
                .with_only_columns(o.event_name)
                .where(among_param(session, o.event_name, "names"))
                .order_by(o.event_name)
            )

        return [name for (name,) in prepared_rows(session, key, build, {"names": names})]

    mine, theirs = new_tenant(state), new_tenant(state)
    for tid, names in ((mine, ["test.a", "test.b"]), (theirs, ["test.a", "test.c"])):
        with UnitOfWork(state.session_factory) as uow:
            uow.set_tenant(TenantContext(TenantId(tid)))
            for name in names:
                add_new(uow.session, OutboxMessage(event_name=name, payload={}))
            assert read(uow.session, ["test.a", "test.b", "test.c"]) == names  # queued rows too
            uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(theirs)))
        assert read(uow.session, ["test.b"]) == []  # the other tenant's row is not there
        assert read(uow.session, ["test.c", "test.x"]) == ["test.c"]
    assert len(builds) == 1


def test_queued_rows_are_dropped_by_a_rollback(state) -> None:
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        add_new(uow.session, OutboxMessage(event_name="test.dropped", payload={}))
        uow.rollback()
        assert pending_rows(uow.session, OutboxMessage) == []
        uow.commit()
    assert _outbox_count(state, tid) == 0


def test_a_queued_row_breaking_a_constraint_is_an_integrity_error_and_keeps_nothing(
    state,
) -> None:
    """Queued rows go to the driver directly on PostgreSQL: a violation is still SQLAlchemy's
    IntegrityError (what callers catch), raised by the statement that sends them, and the
    message names the statement but none of the values (personal data)."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        first = OutboxMessage(event_name="test.first", payload={"名": "秘密の値"})
        add_new(uow.session, first)
        add_new(uow.session, OutboxMessage(id=first.id, event_name="test.twin", payload={}))
        with pytest.raises(IntegrityError) as raised:
            uow.session.scalar(select(func.count()).select_from(OutboxMessage))
        if state.engine.dialect.name == "postgresql":
            assert "outbox_messages" in str(raised.value)
            assert "秘密の値" not in str(raised.value)
        uow.rollback()
    assert _outbox_count(state, tid) == 0


def test_a_pooled_connection_gone_while_idle_is_replaced_at_checkout(
    state, database, monkeypatch
) -> None:
    """A connection idle in the pool longer than PING_AFTER_IDLE is pinged at checkout, and a
    dead one (the server restarted, an administrator ended it) is replaced before the unit of
    work sees it."""
    if not database.is_pg:
        pytest.skip("SQLite has no server connection to lose")
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:  # the pool holds live connections
        uow.set_tenant(TenantContext(TenantId(tid)))
        uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    with database.owner_engine.connect() as owner:
        ended = owner.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND usename = 'jichitai_app'"
            )
        ).scalar_one()
    assert ended >= 1
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE", 0.0)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        add_new(uow.session, OutboxMessage(event_name="test.after", payload={}))
        uow.commit()
    assert _outbox_count(state, tid) == 1
    # Every connection of the role was ended: the pool's others, returned moments ago, would be
    # handed out unpinged to the next test (inside PING_AFTER_IDLE).
    state.engine.dispose()


def test_queued_rows_of_another_tenant_are_refused(state) -> None:
    mine, theirs = new_tenant(state), new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(mine)))
        with pytest.raises(TenantMismatch):
            add_new(uow.session, OutboxMessage(tenant_id=theirs, event_name="x", payload={}))
        uow.commit()
    assert _outbox_count(state, theirs) == 0


def test_queued_rows_are_written_under_their_own_tenant_before_the_context_changes(
    state,
) -> None:
    """A row queued for one tenant goes out before the session switches to another (RLS
    would refuse it there, and the other tenant must never receive it)."""
    mine, theirs = new_tenant(state), new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(mine)))
        add_new(uow.session, OutboxMessage(event_name="test.mine", payload={}))
        with tenant_scope(uow.session, TenantContext(TenantId(theirs))):
            add_new(uow.session, OutboxMessage(event_name="test.theirs", payload={}))
        uow.commit()
    assert _outbox_count(state, mine) == 1
    assert _outbox_count(state, theirs) == 1
