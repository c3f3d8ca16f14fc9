"""NHI daily jobs. The caller owns the transaction (a unit of work under one tenant's context)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core import audit
from core.events import DomainEvent, to_outbox
from nhi.service import Qualifications

ACTOR = audit.Actor.system("nhi.age_job")


def apply_age_changes(session: Session, on: dt.date) -> int:
    """Everyone insured who turns 75 on or before ``on`` loses NHI on the 75th birthday
    (法6条8号: 後期高齢者医療 from that day). Idempotent: a re-run finds nothing left to change.

    Each change goes to the outbox (``nhi.qualification_changed``) in the same transaction, and
    the run is audited with the number of qualifications it changed. Returns that number."""

    def emit(event: DomainEvent) -> None:
        session.add(to_outbox(event))

    changed = Qualifications(session, ACTOR, emit, today=on).apply_age_changes(on)
    audit.record(
        session,
        actor=ACTOR,
        action="nhi.age_changes",
        subject_type="nhi_job",
        details={"on": on.isoformat(), "changed": len(changed)},
    )
    session.flush()
    return len(changed)
