"""Events NHI publishes (past tense): a qualification changed, for card issuance and premiums."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from core.events import DomainEvent


class QualificationChanged(DomainEvent):
    """A qualification was acquired, lost, voided, restored or had its loss date changed."""

    name: ClassVar[str] = "nhi.qualification_changed"
    change: str  # acquired / lost / voided / restored / loss_changed
    person_id: uuid.UUID
    qualification_id: uuid.UUID
    revision: int
    status: str
    acquired_on: dt.date
    acquisition_reason: str
    lost_on: dt.date | None
    loss_reason: str | None
