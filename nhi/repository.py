"""All SQL of NHI qualification: every statement starts from the tenant-filtered base."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func
from sqlalchemy.orm import Session, aliased

from nhi.models import NhiCoverageEvent, NhiQualificationVersion, QualificationStatus
from tenancy.repository import scoped

V = NhiQualificationVersion


def versions(session: Session, person_ids: Iterable[uuid.UUID]) -> Sequence[V]:
    """Every revision of the persons' qualifications, oldest qualification and revision first."""
    ids = list(person_ids)
    if not ids:
        return []
    stmt = (
        scoped(session, V)
        .where(V.person_id.in_(ids))
        .order_by(V.person_id, V.acquired_on, V.qualification_id, V.revision)
    )
    return session.scalars(stmt).all()


def latest(rows: Iterable[V]) -> list[V]:
    """The newest revision of each qualification among ``rows``, by acquisition date."""
    newest: dict[uuid.UUID, V] = {}
    for v in rows:
        seen = newest.get(v.qualification_id)
        if seen is None or v.revision > seen.revision:
            newest[v.qualification_id] = v
    return sorted(newest.values(), key=lambda v: (v.acquired_on, v.recorded_at))


def current(session: Session, person_id: uuid.UUID) -> list[V]:
    """The person's qualifications in their newest revision (voided ones included)."""
    return latest(versions(session, [person_id]))


def active_current(session: Session) -> Sequence[V]:
    """The newest revision of every qualification of the tenant that is not voided."""
    ranked = (
        scoped(session, V)
        .add_columns(
            func.row_number()
            .over(partition_by=V.qualification_id, order_by=V.revision.desc())
            .label("rn")
        )
        .subquery()
    )
    newest = aliased(V, ranked)
    stmt = (
        scoped(session, newest)
        .where(ranked.c.rn == 1, newest.status == QualificationStatus.ACTIVE)
        .order_by(newest.person_id)
    )
    return session.scalars(stmt).all()


def coverage_events(
    session: Session, person_id: uuid.UUID, cover: str | None = None
) -> Sequence[NhiCoverageEvent]:
    stmt = scoped(session, NhiCoverageEvent).where(NhiCoverageEvent.person_id == person_id)
    if cover is not None:
        stmt = stmt.where(NhiCoverageEvent.cover == cover)
    return session.scalars(stmt.order_by(NhiCoverageEvent.cover, NhiCoverageEvent.seq)).all()
