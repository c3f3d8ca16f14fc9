"""All SQL of NHI qualification: every statement starts from the tenant-filtered base."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.db import among_param, newest_per, prepared_rows
from nhi.models import LossReason, NhiCoverageEvent, NhiQualificationVersion, QualificationStatus
from tenancy.repository import scoped, scoped_by_param

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


def facts_recorded_with(session: Session, fact_id: uuid.UUID) -> Sequence[NhiCoverageEvent]:
    """The dependants' (被扶養者) facts recorded together with the employee's fact ``fact_id``."""
    stmt = scoped(session, NhiCoverageEvent).where(NhiCoverageEvent.dependant_of_id == fact_id)
    return session.scalars(stmt.order_by(NhiCoverageEvent.person_id)).all()


def coverage_events(
    session: Session, person_id: uuid.UUID, cover: str | None = None
) -> Sequence[NhiCoverageEvent]:
    stmt = scoped(session, NhiCoverageEvent).where(NhiCoverageEvent.person_id == person_id)
    if cover is not None:
        stmt = stmt.where(NhiCoverageEvent.cover == cover)
    return session.scalars(stmt.order_by(NhiCoverageEvent.cover, NhiCoverageEvent.seq)).all()


def persons_ever_insured(session: Session) -> Select[uuid.UUID]:
    """The persons who have ever had a qualification here, as a statement: a superset of a
    year's insured that other reads can use without the ids leaving the database."""
    return scoped(session, V).with_only_columns(V.person_id).distinct()


def count_persons_ever_insured(session: Session) -> int:
    """An upper bound of a year's insured, read before the year itself to decide early whether
    the run's worker processes pay off."""
    return int(
        session.scalar(select(func.count()).select_from(persons_ever_insured(session).subquery()))
        or 0
    )


def periods(
    session: Session,
    start: dt.date,
    end: dt.date,
    person_ids: Iterable[uuid.UUID] | None = None,
) -> list[tuple[uuid.UUID, dt.date, dt.date | None, str | None]]:
    """(person, acquired_on, lost_on, loss_reason) of every qualification in force in its newest
    revision (not voided) that covers a day from ``start`` to ``end`` — or that ended on the 75th
    birthday before ``start`` (the 特定同一世帯所属者 of the reduction test). Columns only: the
    annual assessment reads every qualification of the municipality at once."""
    by_person = person_ids is not None
    rows = prepared_rows(
        session,
        ("nhi.periods", by_person),
        lambda: _periods_statement(session, by_person),
        {"start": start, "end": end}
        | ({"ids": list(person_ids)} if person_ids is not None else {}),
    )
    return [(p, a, lost, reason) for p, a, lost, reason in rows]


def _periods_statement(session: Session, by_person: bool) -> Select[Any]:
    """The statement of :func:`periods`: parameters tenant, start, end (and ids)."""
    ranked_query = scoped_by_param(V)
    if by_person:
        ranked_query = ranked_query.where(among_param(session, V.person_id, "ids"))
    columns = (V.person_id, V.status, V.acquired_on, V.lost_on, V.loss_reason)
    ranked = newest_per(session, ranked_query, columns, (V.qualification_id,), (V.revision.desc(),))
    return (
        select(ranked.c.person_id, ranked.c.acquired_on, ranked.c.lost_on, ranked.c.loss_reason)
        .where(
            ranked.c.status == QualificationStatus.ACTIVE,
            ranked.c.acquired_on <= bindparam("end"),
            or_(
                ranked.c.lost_on.is_(None),
                ranked.c.lost_on > bindparam("start"),
                ranked.c.loss_reason == LossReason.AGE_75,
            ),
        )
        .order_by(ranked.c.person_id, ranked.c.acquired_on)
    )
