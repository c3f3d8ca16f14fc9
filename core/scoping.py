"""Tenant context and the second and third walls of tenant isolation.

Wall 1 is the repositories (they start every statement from a tenant-filtered base). This module
is walls 2 and 3:

* a ``do_orm_execute`` hook adds ``tenant_id = <context>`` to every ORM query that touches a
  :class:`TenantScoped` table, and refuses to run such a query when no tenant context is set;
* on PostgreSQL, every transaction sets the transaction-local ``app.tenant_id`` that the
  row-level security policies compare against, so a query that escapes walls 1 and 2 (raw SQL,
  a Core statement) still sees only the current tenant's rows.

The context lives on the ``Session`` (``session.info``), never in a global: one request, one
session, one tenant. Cross-tenant work (operator batches, audit verification, relays) goes
through :func:`each_tenant`/:func:`tenant_scope`, which are explicit and easy to audit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NewType

from sqlalchemy import ForeignKey, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql.util import find_tables

from core.errors import TenantContextMissing, TenantMismatch

TenantId = NewType("TenantId", int)

_CONTEXT_KEY = "jichitai.tenant_context"
RLS_SETTING = "app.tenant_id"


@dataclass(frozen=True, slots=True)
class TenantContext:
    """Whose data this unit of work may touch.

    ``tenant_id`` is the municipality whose rows are read and written. ``acting_tenant_id`` is set
    only under mutual aid (相互支援): staff of that municipality work for a stricken member.
    """

    tenant_id: TenantId
    acting_tenant_id: TenantId | None = None


class TenantScoped:
    """Mixin for every table that holds one municipality's data.

    ``tenant_id`` is the first column of the primary key (declare it first in the subclass's
    primary key) and of every foreign key, so the schema can be distributed by tenant (Citus).
    """

    __tenant_scoped__ = True

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        # sort_order keeps tenant_id the first column of the table and of its primary key.
        return mapped_column(
            ForeignKey("municipalities.id", ondelete="RESTRICT"), primary_key=True, sort_order=-100
        )


def get_context(session: Session) -> TenantContext | None:
    ctx = session.info.get(_CONTEXT_KEY)
    return ctx if isinstance(ctx, TenantContext) else None


def require_context(session: Session) -> TenantContext:
    ctx = get_context(session)
    if ctx is None:
        raise TenantContextMissing("no tenant context is set on this session")
    return ctx


def set_context(session: Session, ctx: TenantContext | None) -> None:
    """Set (or clear) the tenant context; applies to the open transaction at once."""
    previous = get_context(session)
    if previous == ctx and _CONTEXT_KEY in session.info:
        return  # nothing changes: no flush, no round trip for set_config
    if previous is not None:
        from core.db import write_pending

        # Pending rows belong to the context they were made in: write them before switching.
        write_pending(session)
        if session.new or session.dirty:
            session.flush()
    session.info[_CONTEXT_KEY] = ctx
    if session.in_transaction():
        # The ORM hook reads session.info per statement; the RLS setting is per transaction, so
        # push the new value to every connection this session already holds.
        for conn in _session_connections(session):
            _apply_rls(conn, ctx)


@contextmanager
def tenant_scope(session: Session, ctx: TenantContext) -> Iterator[Session]:
    """Run a block under ``ctx`` and restore the previous context afterwards."""
    previous = get_context(session)
    set_context(session, ctx)
    try:
        yield session
    finally:
        set_context(session, previous)


def each_tenant(session: Session, tenant_ids: list[int]) -> Iterator[TenantContext]:
    """The one sanctioned way to work across tenants: one tenant at a time, never mixed."""
    previous = get_context(session)
    try:
        for tid in tenant_ids:
            ctx = TenantContext(TenantId(tid))
            set_context(session, ctx)
            yield ctx
    finally:
        set_context(session, previous)


def _session_connections(session: Session) -> list[Connection]:
    tx = session.get_transaction()
    if tx is None:
        return []
    return [conn for conn, *_ in tx._connections.values()]


def _apply_rls(conn: Connection, ctx: TenantContext | None) -> None:
    if conn.dialect.name != "postgresql":
        return
    value = str(ctx.tenant_id) if ctx is not None else ""
    # is_local=true: the setting dies with the transaction, so a pooled connection never carries
    # one tenant's context into another request. In pipeline mode with the BEGIN psycopg sends
    # first when the transaction is new (the checkout's ping may have sent it already): one
    # round trip, at the start of every unit of work.
    dbapi = conn.connection.dbapi_connection
    with dbapi.pipeline(), dbapi.cursor() as cur:  # type: ignore[union-attr]
        cur.execute("SELECT set_config(%s, %s, true)", (RLS_SETTING, value))


def is_tenant_scoped(cls: type[Any]) -> bool:
    return bool(getattr(cls, "__tenant_scoped__", False))


@event.listens_for(Session, "after_begin")
def _set_rls_on_begin(session: Session, _tx: SessionTransaction, conn: Connection) -> None:
    _apply_rls(conn, get_context(session))


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    if any(is_tenant_scoped(m.class_) for m in state.all_mappers):
        return True
    # ``all_mappers`` lists only the entities a statement returns; ``select(func.count())
    # .select_from(Staff)`` returns none, so look at every table the statement reads as well.
    scoped = _tenant_tables()
    statement: Any = state.statement
    return any(
        t in scoped
        for t in find_tables(statement, include_joins=True, include_aliases=True, include_crud=True)
    )


def _tenant_tables() -> frozenset[Any]:
    from core.db import Base

    mappers = Base.registry.mappers
    return _tenant_tables_of(len(mappers), frozenset(mappers))


@lru_cache(maxsize=4)
def _tenant_tables_of(_count: int, mappers: frozenset[Any]) -> frozenset[Any]:
    return frozenset(m.local_table for m in mappers if is_tenant_scoped(m.class_))


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if not _touches_tenant_tables(state):
        return
    ctx = get_context(state.session)
    if ctx is None:
        raise TenantContextMissing("a tenant-scoped table was queried with no tenant context")
    tid = ctx.tenant_id
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tid,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant_on_new_rows(session: Session, _ctx: Any, _instances: Any) -> None:
    new_scoped = [o for o in session.new if is_tenant_scoped(type(o))]
    dirty_scoped = [o for o in session.dirty if is_tenant_scoped(type(o))]
    if not new_scoped and not dirty_scoped:
        return
    ctx = require_context(session)
    for obj in new_scoped:
        if obj.tenant_id is None:
            obj.tenant_id = ctx.tenant_id
        elif obj.tenant_id != ctx.tenant_id:
            raise TenantMismatch(f"{type(obj).__name__} written under another tenant's context")
    for obj in dirty_scoped:
        if obj.tenant_id != ctx.tenant_id:
            raise TenantMismatch(f"{type(obj).__name__} changed under another tenant's context")
