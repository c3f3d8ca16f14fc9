"""Unit of work: the single owner of a request's or a batch's commit."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.db import add_new, flush_inserts_pipelined
from core.events import DomainEvent, EventBus, to_outbox
from core.scoping import TenantContext, TenantId, get_context, set_context, tenant_scope

_MAX_EVENT_ROUNDS = 20  # a handler chain longer than this is a wiring loop, not business


class UnitOfWork:
    """Holds one session; services flush, only :meth:`commit` commits.

    Events published during the use case are handled in the same transaction on commit, and
    every event lands in the outbox in that transaction too: either all of it happens or none.
    """

    def __init__(self, session_factory: sessionmaker[Session], bus: EventBus | None = None):
        self._factory = session_factory
        self.bus = bus or EventBus()
        self.session: Session = session_factory()
        self._events: list[DomainEvent] = []
        self.committed = False
        # What handlers may keep for the rest of this unit of work (a move-in of a household
        # publishes one event per person: a fact read for the first serves the others).
        self.cache: dict[Any, Any] = {}
        self._deferred: dict[Hashable, tuple[TenantContext, Callable[[], None]]] = {}

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self.session.rollback()
        self.session.close()

    @property
    def tenant(self) -> TenantContext | None:
        return get_context(self.session)

    def set_tenant(self, ctx: TenantContext | None) -> None:
        set_context(self.session, ctx)

    def publish(self, event: DomainEvent) -> None:
        self._events.append(event)

    def _dispatch(self) -> None:
        rounds = 0
        while self._events:
            rounds += 1
            if rounds > _MAX_EVENT_ROUNDS:
                raise RuntimeError("event handlers keep publishing events: a loop in the wiring")
            batch, self._events = self._events, []
            for event in batch:
                # Each event belongs to one tenant: its handlers and its outbox row run in that
                # tenant's context (a move between two members publishes events for both).
                ctx = TenantContext(TenantId(event.tenant_id))
                if ctx == self.tenant:
                    self._handle(event)
                    continue
                # Rows pending under the current context are flushed under it, and this
                # tenant's rows under this tenant's (the flush checks every new row's tenant).
                self.session.flush()
                with tenant_scope(self.session, ctx):
                    self._handle(event)
                    self.session.flush()

    def once_before_commit(self, key: Hashable, work: Callable[[], None]) -> None:
        """Run ``work`` once, in this transaction, when every event published before the commit
        has been handled; a second call with the same key before then does nothing.

        For a reaction that gathers what several events touch (a household's move-in publishes
        one event per person, and the household's premium must be reassessed once, not once per
        person). ``work`` runs under the tenant context of this call; events it publishes are
        handled before the commit like any other."""
        ctx = self.tenant
        if ctx is None:
            raise RuntimeError("once_before_commit needs the tenant context it is to run under")
        if key not in self._deferred:
            self._deferred[key] = (ctx, work)

    def _run_deferred(self) -> None:
        deferred, self._deferred = self._deferred, {}
        for ctx, work in deferred.values():
            if ctx == self.tenant:
                work()
                continue
            self.session.flush()
            with tenant_scope(self.session, ctx):
                work()
                self.session.flush()

    def _handle(self, event: DomainEvent) -> None:
        for handler in self.bus.handlers_for(event):
            handler(event, self)
        # Outbox rows are only ever inserted: queued for the commit's one Core round trip.
        add_new(self.session, to_outbox(event))

    def commit(self) -> None:
        self._dispatch()
        while self._deferred:
            self._run_deferred()
            self._dispatch()
        flush_inserts_pipelined(self.session, commit=True)
        self.session.commit()
        self.committed = True

    def rollback(self) -> None:
        self._events.clear()
        self._deferred.clear()
        self.session.rollback()
