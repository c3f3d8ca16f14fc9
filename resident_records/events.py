"""Domain events the resident register publishes (past tense; other areas subscribe)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from core.events import DomainEvent


class ResidentEvent(DomainEvent):
    """Base of the register's events: which residency event, which persons, which dates."""

    residency_event_id: uuid.UUID
    person_ids: list[uuid.UUID]
    household_ids: list[uuid.UUID]
    effective_on: dt.date


class ResidentMovedIn(ResidentEvent):
    name: ClassVar[str] = "resident.moved_in"
    kind: str  # move_in / card_move_in / immigration / ex_officio_entry


class ResidentBorn(ResidentEvent):
    name: ClassVar[str] = "resident.born"


class ResidentMovedWithin(ResidentEvent):
    name: ClassVar[str] = "resident.moved_within"


class ResidentMovedOut(ResidentEvent):
    name: ClassVar[str] = "resident.moved_out"
    kind: str  # move_out / emigration
    destination_lg_code: str | None = None


class ResidentMoveOutConfirmed(ResidentEvent):
    name: ClassVar[str] = "resident.move_out_confirmed"


class ResidentDied(ResidentEvent):
    name: ClassVar[str] = "resident.died"


class ResidentRemoved(ResidentEvent):
    name: ClassVar[str] = "resident.removed"


class ResidentCorrected(ResidentEvent):
    name: ClassVar[str] = "resident.corrected"
    kind: str  # ex_officio_correction / clerical_correction / name_change …
    fields: list[str]


class HouseholdChanged(ResidentEvent):
    name: ClassVar[str] = "household.changed"
    kind: str  # household_split / household_merge / head_change / household_change


class ResidencyEventCancelled(ResidentEvent):
    name: ClassVar[str] = "resident.event_cancelled"
    cancelled_event_id: uuid.UUID
    cancelled_kind: str
