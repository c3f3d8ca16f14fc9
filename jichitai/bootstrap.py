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
import nhi.assessment_models
import nhi.models  # noqa: F401
import resident_records.models  # noqa: F401
import tax.models  # noqa: F401
import tenancy.models  # noqa: F401
from core.events import EventBus
from nhi import assessment_handlers as nhi_assessment
from nhi import handlers as nhi_handlers
from nhi.events import QualificationChanged
from resident_records import events as resident
from tax import handlers as tax_handlers

EVENT_HANDLERS: list[tuple[type, object]] = [
    # NHI qualification follows the register in the same transaction (nhi/handlers.py).
    (resident.ResidentMovedIn, nhi_handlers.on_moved_in),
    (resident.ResidentBorn, nhi_handlers.on_born),
    (resident.ResidentMovedOut, nhi_handlers.on_moved_out),
    (resident.ResidentMoveOutConfirmed, nhi_handlers.on_move_out_confirmed),
    (resident.ResidentDied, nhi_handlers.on_died),
    (resident.ResidentRemoved, nhi_handlers.on_removed),
    (resident.ResidencyEventCancelled, nhi_handlers.on_cancelled),
    # A late register change dated before an assessed 1 January reassesses (tax/handlers.py).
    (resident.ResidentEvent, tax_handlers.reassess_after_late_change),
    # A qualification change after the annual run corrects the household's NHI premium
    # (nhi/assessment_handlers.py), as does a late register change before an assessed 1 April.
    (QualificationChanged, nhi_assessment.reassess_on_qualification_change),
    (resident.ResidentEvent, nhi_assessment.reassess_after_late_register_change),
]


def build_bus() -> EventBus:
    bus = EventBus()
    for event_type, handler in EVENT_HANDLERS:
        bus.subscribe(event_type, handler)  # type: ignore[arg-type]
    return bus
