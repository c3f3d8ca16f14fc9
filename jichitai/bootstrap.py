"""The one wiring table: which handlers react to which events, and every model imported once.

Business areas add their subscriptions here (e.g. NHI reacting to ``resident.moved_out``), so the
arrows between packages stay visible in one place.
"""

from __future__ import annotations

# Importing the model modules registers every table on Base.metadata (migrations and tests use it).
import core.audit
import core.crypto
import core.events
import core.idempotency  # noqa: F401
import forms.models  # noqa: F401
import resident_records.models  # noqa: F401
import tenancy.models  # noqa: F401
from core.events import EventBus

EVENT_HANDLERS: list[tuple[type, object]] = []


def build_bus() -> EventBus:
    bus = EventBus()
    for event_type, handler in EVENT_HANDLERS:
        bus.subscribe(event_type, handler)  # type: ignore[arg-type]
    return bus
