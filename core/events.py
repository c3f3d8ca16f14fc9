"""Domain events, the in-process bus, and the transactional outbox.

Events are facts in the past tense (``resident.moved_in``). A unit of work collects the events its
use case publishes; on commit it runs the same-transaction handlers (which may publish more), then
writes every event to the outbox in the same transaction. ``relay_outbox`` later hands outbox rows
to outside systems, at least once, with the row id as the idempotency key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Index, Integer, String, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, new_row, utcnow
from core.ids import new_id
from core.scoping import TenantScoped, each_tenant

if TYPE_CHECKING:
    from core.uow import UnitOfWork


class DomainEvent(BaseModel):
    """Base of every event. Subclasses set ``name`` (``area.past_tense``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: ClassVar[str] = "domain.event"

    event_id: uuid.UUID = Field(default_factory=new_id)
    tenant_id: int
    occurred_at: dt.datetime = Field(default_factory=utcnow)


Handler = Callable[[Any, "UnitOfWork"], None]


class EventBus:
    """Maps event types to same-transaction handlers (the wiring lives in jichitai.bootstrap)."""

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def handlers_for(self, event: DomainEvent) -> list[Handler]:
        out: list[Handler] = []
        for cls in type(event).__mro__:
            if isinstance(cls, type) and issubclass(cls, DomainEvent):
                out.extend(self._handlers.get(cls, []))
        return out


class OutboxMessage(TenantScoped, Base):
    __tablename__ = "outbox_messages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    event_name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index(
            "ix_outbox_messages_tenant_id_published_at", "tenant_id", "published_at", "created_at"
        ),
    )


def to_outbox(event: DomainEvent) -> OutboxMessage:
    return new_row(
        OutboxMessage,
        tenant_id=event.tenant_id,
        id=event.event_id,
        event_name=event.name,
        payload=event.model_dump(mode="json"),
    )


Sink = Callable[[OutboxMessage], None]


def relay_outbox(session: Session, tenant_ids: list[int], sink: Sink, *, batch: int = 500) -> int:
    """Deliver unpublished outbox rows to ``sink``; failures are retried with back-off."""
    delivered = 0
    now = utcnow()
    for _ctx in each_tenant(session, tenant_ids):
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(batch)
        )
        for msg in session.scalars(stmt):
            if msg.next_attempt_at is not None and msg.next_attempt_at > now:
                continue
            try:
                sink(msg)
            except Exception as exc:  # the sink is an outside system; any failure is retried
                msg.attempts += 1
                msg.last_error = type(exc).__name__
                msg.next_attempt_at = now + dt.timedelta(seconds=min(3600, 2**msg.attempts))
                continue
            msg.published_at = utcnow()
            msg.attempts += 1
            delivered += 1
        session.flush()
    return delivered
