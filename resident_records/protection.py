"""DV等支援措置 (protection measures): start, extend, end, and the disclosure check.

事務処理要領 第5-10 and the standard (J:410, J:440): a measure lasts one year and ends by
itself; it may be extended from one month before its end; while in force, copies of the
person's record (including 除票) and third-party viewing are refused, and every refused
attempt is logged. The measure follows the person to another member of the deployment
(``resident_records.transfers``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from resident_records import repository as repo
from resident_records.models import ProtectionMeasure, ProtectionRelease
from tenancy.repository import scoped

TERM_YEARS = 1
EXTENSION_WINDOW = dt.timedelta(days=31)  # 「終了日の1か月前から」


class ProtectedPersonBlocked(DomainError):
    status_code = 403
    code = "protected_person"
    default_message = (
        "この方は支援措置の対象のため、交付・閲覧はできません。責任者の確認が必要です。"
    )


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def term_end(started_on: dt.date) -> dt.date:
    """One year: the day before the same date next year."""
    return add_years(started_on, TERM_YEARS) - dt.timedelta(days=1)


def in_force(m: ProtectionMeasure, on: dt.date) -> bool:
    return m.started_on <= on <= m.ends_on and (m.ended_on is None or m.ended_on > on)


def measures(session: Session, person_id: uuid.UUID) -> list[ProtectionMeasure]:
    stmt = scoped(session, ProtectionMeasure).where(ProtectionMeasure.person_id == person_id)
    return list(session.scalars(stmt.order_by(ProtectionMeasure.started_on)))


def protected_ids(session: Session, person_ids: Iterable[uuid.UUID], on: dt.date) -> set[uuid.UUID]:
    """The persons among ``person_ids`` with a measure in force on ``on`` (one query)."""
    ids = list(person_ids)
    if not ids:
        return set()
    stmt = scoped(session, ProtectionMeasure).where(
        ProtectionMeasure.person_id.in_(ids),
        ProtectionMeasure.started_on <= on,
        ProtectionMeasure.ends_on >= on,
        or_(ProtectionMeasure.ended_on.is_(None), ProtectionMeasure.ended_on > on),
    )
    return {m.person_id for m in session.scalars(stmt)}


def get(session: Session, measure_id: uuid.UUID) -> ProtectionMeasure:
    m = session.scalar(scoped(session, ProtectionMeasure).where(ProtectionMeasure.id == measure_id))
    if m is None:
        raise NotFound("指定された支援措置は見つかりません。", code="measure_not_found")
    return m


def start(
    session: Session,
    actor: audit.Actor,
    person_id: uuid.UUID,
    *,
    category: str,
    started_on: dt.date,
    aggressor: dict[str, Any],
    today: dt.date,
    ends_on: dt.date | None = None,
    origin_lg_code: str | None = None,
) -> ProtectionMeasure:
    """支援措置の開始: one year from ``started_on`` (or ``ends_on`` when it follows a move)."""
    if repo.person(session, person_id) is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    if started_on > today:
        raise ValidationFailed("開始日に未来の日付は指定できません。", code="future_effective_date")
    if any(in_force(m, started_on) for m in measures(session, person_id)):
        raise Conflict("この方には既に支援措置が実施されています。", code="measure_in_force")
    m = ProtectionMeasure(
        person_id=person_id,
        category=category,
        started_on=started_on,
        ends_on=ends_on or term_end(started_on),
        aggressor=aggressor,
        origin_lg_code=origin_lg_code,
    )
    session.add(m)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="protection.started",
        subject_type="resident",
        subject_id=str(person_id),
        details={
            "measure_id": str(m.id),
            "ends_on": m.ends_on.isoformat(),
            "followed_from": origin_lg_code,
        },
    )
    return m


def extend(
    session: Session, actor: audit.Actor, measure_id: uuid.UUID, *, version: int, today: dt.date
) -> ProtectionMeasure:
    """支援措置の延長: from one month before the end, by one more year."""
    m = get(session, measure_id)
    if m.version != version:
        raise Conflict()
    if not in_force(m, today):
        raise ValidationFailed(
            "終了した支援措置は延長できません。新たに開始してください。",
            code="measure_not_in_force",
        )
    if today < m.ends_on - EXTENSION_WINDOW:
        raise ValidationFailed(
            f"延長は終了日（{m.ends_on.isoformat()}）の1か月前から受け付けます。",
            code="extension_too_early",
        )
    m.ends_on = add_years(m.ends_on, TERM_YEARS)
    m.extensions += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="protection.extended",
        subject_type="resident",
        subject_id=str(m.person_id),
        details={"measure_id": str(m.id), "ends_on": m.ends_on.isoformat()},
    )
    return m


def end(
    session: Session,
    actor: audit.Actor,
    measure_id: uuid.UUID,
    *,
    version: int,
    ended_on: dt.date,
    today: dt.date,
) -> ProtectionMeasure:
    """支援措置の終了 (at the person's request, before the term runs out)."""
    m = get(session, measure_id)
    if m.version != version:
        raise Conflict()
    if ended_on > today or ended_on < m.started_on:
        raise ValidationFailed("終了日が正しくありません。", code="invalid_end_date")
    if not in_force(m, ended_on):
        raise ValidationFailed("この支援措置は既に終了しています。", code="measure_not_in_force")
    m.ended_on = ended_on
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="protection.ended",
        subject_type="resident",
        subject_id=str(m.person_id),
        details={"measure_id": str(m.id)},
    )
    return m


def check_disclosure(
    session: Session,
    actor: audit.Actor,
    person_id: uuid.UUID,
    *,
    requester_type: str,
    requester_name: str | None,
    purpose: str | None,
    on: dt.date,
) -> ProtectedPersonBlocked | None:
    """Is a copy or a viewing of this person's record to be refused? Logs every refusal.

    Returns the error for the caller to raise after committing the log entry, so that the
    refused attempt stays recorded although the request fails.
    """
    if not protected_ids(session, [person_id], on):
        return None
    audit.record(
        session,
        actor=actor,
        action="protection.blocked",
        subject_type="resident",
        subject_id=str(person_id),
        purpose=purpose,
        details={"requester_type": requester_type, "requester_name": requester_name or ""},
    )
    return ProtectedPersonBlocked()


def measures_to_follow(session: Session, person_id: uuid.UUID, on: dt.date) -> list[dict[str, Any]]:
    """Measures in force that travel with the person's electronic move-out data."""
    return [
        {
            "category": m.category,
            "started_on": m.started_on.isoformat(),
            "ends_on": m.ends_on.isoformat(),
            "aggressor": m.aggressor,
        }
        for m in measures(session, person_id)
        if in_force(m, on)
    ]


def ending_soon(session: Session, today: dt.date) -> int:
    """How many measures in force end within the extension window (to prompt the counter)."""
    stmt = (
        scoped(session, ProtectionMeasure)
        .with_only_columns(func.count())
        .where(
            ProtectionMeasure.ended_on.is_(None),
            ProtectionMeasure.started_on <= today,
            ProtectionMeasure.ends_on >= today,
            ProtectionMeasure.ends_on <= today + EXTENSION_WINDOW,
        )
    )
    return int(session.scalar(stmt) or 0)


def release(
    session: Session, actor: audit.Actor, person_id: uuid.UUID, reason: str, *, minutes: int
) -> ProtectionRelease:
    """責任者による解除: one issuance for this person within ``minutes``, reason recorded."""
    row = ProtectionRelease(
        person_id=person_id,
        released_by=actor.id,
        reason=reason,
        expires_at=utcnow() + dt.timedelta(minutes=minutes),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="protection.released",
        subject_type="resident",
        subject_id=str(person_id),
        purpose=reason,
        details={"release_id": str(row.id), "minutes": minutes},
    )
    return row


def usable_releases(
    session: Session, release_ids: Iterable[uuid.UUID], today: dt.date
) -> list[ProtectionRelease]:
    """The given releases that are unused and not yet expired."""
    ids = list(release_ids)
    if not ids:
        return []
    now = utcnow()
    rows = session.scalars(scoped(session, ProtectionRelease).where(ProtectionRelease.id.in_(ids)))
    return [r for r in rows if r.used_at is None and r.expires_at > now]


def use_releases(session: Session, releases: Iterable[ProtectionRelease], serial: str) -> None:
    now = utcnow()
    for r in releases:
        r.used_serial = serial
        r.used_at = now
