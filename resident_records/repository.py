"""All SQL of the resident register. Every statement starts from the tenant-filtered base."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.db import Statement, built_once, rows_together
from core.scoping import require_context
from resident_records.models import (
    Household,
    Machiaza,
    NumberSequence,
    Person,
    RegisterAlert,
    ResidencyEvent,
    ResidentCurrent,
    ResidentRecordVersion,
)
from tenancy.repository import scoped

KANA_UPPER_BOUND = "\U0010ffff"  # sorts after every character: prefix P is [P, P + this)


def machiaza(session: Session, code: str) -> Machiaza | None:
    return session.scalar(scoped(session, Machiaza).where(Machiaza.code == code))


# 町字 codes of the master, per database and tenant. The master only grows (a code is never
# deleted or recoded; ``active`` does not matter to this check), so a code found once stays valid
# for the life of the process and checking a notification's address costs no round trip. The
# first check of a tenant reads all its codes in one statement (a master has hundreds; reading
# them one by one had cost a round trip on each address's first use); a code not found is asked
# again, since a master may be loaded meanwhile.
_KNOWN_MACHIAZA: WeakKeyDictionary[Engine, set[tuple[int, str]]] = WeakKeyDictionary()


def machiaza_known(session: Session, code: str) -> bool:
    """Whether ``code`` is in the current tenant's 町字 master."""
    bind = session.get_bind()
    known = _KNOWN_MACHIAZA.setdefault(bind.engine, set())
    tenant = int(require_context(session).tenant_id)
    if (tenant, code) not in known:
        codes = session.scalars(scoped(session, Machiaza).with_only_columns(Machiaza.code))
        known.update((tenant, c) for c in codes)
    return (tenant, code) in known


def machiaza_all(session: Session) -> Sequence[Machiaza]:
    return session.scalars(scoped(session, Machiaza).order_by(Machiaza.code)).all()


def machiaza_names(session: Session, codes: set[str]) -> dict[str, Machiaza]:
    if not codes:
        return {}
    rows = session.scalars(scoped(session, Machiaza).where(Machiaza.code.in_(codes)))
    return {m.code: m for m in rows}


def advance_sequences(session: Session, counts: dict[str, int]) -> dict[str, int]:
    """Add to each named counter and return the new values (a missing counter is left out)."""
    (rows,) = rows_together(session, advance_statement(session, counts))
    return advanced(rows)


def advance_statement(session: Session, counts: dict[str, int]) -> Statement:
    """:func:`advance_sequences` as a statement to send with others (``core.db.rows_together``);
    :func:`advanced` reads its rows."""
    names = tuple(sorted(counts))
    # The same one or two counters each time: built once (building took longer than running).
    stmt = built_once(session, ("counters", names), lambda: _advance_statement(names))
    params: dict[str, Any] = {f"add_{i}": counts[n] for i, n in enumerate(names)}
    params["tenant"] = require_context(session).tenant_id
    # A Core statement on the session's connection: it names the tenant itself (and RLS
    # holds), and the ORM's bulk-UPDATE machinery would only add work to every notification.
    return stmt, params


def advanced(rows: Sequence[tuple[Any, ...]]) -> dict[str, int]:
    return {str(name): int(value) for name, value in rows}


def _advance_statement(names: tuple[str, ...]) -> Any:
    s = NumberSequence
    added = case(
        {n: bindparam(f"add_{i}", type_=s.next_value.type) for i, n in enumerate(names)},
        value=s.name,
        else_=0,
    )
    # The names as binds of their own, not one expanding IN: the statement is compiled once.
    named = [bindparam(f"name_{i}", n, type_=s.name.type) for i, n in enumerate(names)]
    return (
        update(s)
        .where(s.tenant_id == bindparam("tenant"), s.name.in_(named))
        .values(next_value=s.next_value + added)
        .returning(s.name, s.next_value)
    )


def ensure_sequences(session: Session, names: Sequence[str]) -> None:
    """Create missing counters at 1; a counter created meanwhile by another transaction is
    kept (ON CONFLICT DO NOTHING waits for it), so two first numbers never collide."""
    ctx = require_context(session)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(NumberSequence)
        .values([{"tenant_id": ctx.tenant_id, "name": n, "next_value": 1} for n in names])
        .on_conflict_do_nothing()
    )


def lock_sequence(session: Session, name: str) -> NumberSequence | None:
    stmt = scoped(session, NumberSequence).where(NumberSequence.name == name).with_for_update()
    return session.scalar(stmt)


def person(session: Session, person_id: uuid.UUID) -> Person | None:
    return session.scalar(scoped(session, Person).where(Person.id == person_id))


def household(session: Session, household_id: uuid.UUID) -> Household | None:
    return session.scalar(scoped(session, Household).where(Household.id == household_id))


def households(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Household]:
    if not ids:
        return {}
    rows = session.scalars(scoped(session, Household).where(Household.id.in_(ids)))
    return {h.id: h for h in rows}


def current(session: Session, person_id: uuid.UUID) -> ResidentCurrent | None:
    return session.scalar(
        scoped(session, ResidentCurrent).where(ResidentCurrent.person_id == person_id)
    )


def currents(session: Session, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ResidentCurrent]:
    if not person_ids:
        return {}
    rows = session.scalars(
        scoped(session, ResidentCurrent).where(ResidentCurrent.person_id.in_(list(person_ids)))
    )
    return {r.person_id: r for r in rows}


def _resident_on(day: dt.date) -> list[ColumnElement[bool]]:
    return [
        ResidentCurrent.status.in_(["resident", "removed"]),
        or_(ResidentCurrent.resident_from.is_(None), ResidentCurrent.resident_from <= day),
        or_(ResidentCurrent.resident_until.is_(None), ResidentCurrent.resident_until > day),
    ]


def household_members(
    session: Session, household_id: uuid.UUID, day: dt.date
) -> Sequence[ResidentCurrent]:
    """Members of a household who are residents on ``day`` (by the newest knowledge)."""
    stmt = (
        scoped(session, ResidentCurrent)
        .where(ResidentCurrent.household_id == household_id, *_resident_on(day))
        .order_by(ResidentCurrent.atena_number)
    )
    return session.scalars(stmt).all()


def latest_version(session: Session, person_id: uuid.UUID) -> ResidentRecordVersion | None:
    """The newest version on both axes: what the register says now, future dates included."""
    stmt = (
        scoped(session, ResidentRecordVersion)
        .where(ResidentRecordVersion.person_id == person_id)
        .order_by(
            ResidentRecordVersion.effective_on.desc(), ResidentRecordVersion.recorded_at.desc()
        )
        .limit(1)
    )
    return session.scalar(stmt)


def version_as_of(
    session: Session, person_id: uuid.UUID, effective_on: dt.date, known_at: dt.datetime
) -> ResidentRecordVersion | None:
    """The version in force on ``effective_on`` as the register knew it at ``known_at``."""
    stmt = (
        scoped(session, ResidentRecordVersion)
        .where(
            ResidentRecordVersion.person_id == person_id,
            ResidentRecordVersion.effective_on <= effective_on,
            ResidentRecordVersion.recorded_at <= known_at,
        )
        .order_by(
            ResidentRecordVersion.effective_on.desc(), ResidentRecordVersion.recorded_at.desc()
        )
        .limit(1)
    )
    return session.scalar(stmt)


def future_versions(
    session: Session, person_id: uuid.UUID, after: dt.date
) -> list[ResidentRecordVersion]:
    """The entry in force at each effective date later than ``after`` (newest knowledge)."""
    stmt = (
        scoped(session, ResidentRecordVersion)
        .where(
            ResidentRecordVersion.person_id == person_id, ResidentRecordVersion.effective_on > after
        )
        .order_by(ResidentRecordVersion.effective_on, ResidentRecordVersion.recorded_at)
    )
    newest: dict[dt.date, ResidentRecordVersion] = {}
    for v in session.scalars(stmt):
        newest[v.effective_on] = v
    return list(newest.values())


def household_member_ids_ever(session: Session, household_id: uuid.UUID) -> set[uuid.UUID]:
    """Everyone who has had an entry in this household at some time."""
    stmt = (
        scoped(session, ResidentRecordVersion)
        .with_only_columns(ResidentRecordVersion.person_id)
        .where(ResidentRecordVersion.household_id == household_id)
        .distinct()
    )
    return set(session.scalars(stmt))


def versions(session: Session, person_id: uuid.UUID) -> Sequence[ResidentRecordVersion]:
    stmt = (
        scoped(session, ResidentRecordVersion)
        .where(ResidentRecordVersion.person_id == person_id)
        .order_by(ResidentRecordVersion.recorded_at, ResidentRecordVersion.effective_on)
    )
    return session.scalars(stmt).all()


def event(session: Session, event_id: uuid.UUID) -> ResidencyEvent | None:
    return session.scalar(scoped(session, ResidencyEvent).where(ResidencyEvent.id == event_id))


def versions_of_event(session: Session, event_id: uuid.UUID) -> Sequence[ResidentRecordVersion]:
    return session.scalars(
        scoped(session, ResidentRecordVersion).where(ResidentRecordVersion.event_id == event_id)
    ).all()


def cancellation_of(session: Session, event_id: uuid.UUID) -> ResidencyEvent | None:
    return session.scalar(
        scoped(session, ResidencyEvent).where(ResidencyEvent.cancels_event_id == event_id)
    )


def open_alerts(
    session: Session, household_id: uuid.UUID | None = None, kind: str | None = None
) -> Sequence[RegisterAlert]:
    stmt = scoped(session, RegisterAlert).where(RegisterAlert.resolved_at.is_(None))
    if household_id is not None:
        stmt = stmt.where(RegisterAlert.household_id == household_id)
    if kind is not None:
        stmt = stmt.where(RegisterAlert.kind == kind)
    return session.scalars(stmt.order_by(RegisterAlert.created_at)).all()


# A counter search never needs to page through more: past this, ask for a narrower query.
SEARCH_COUNT_CAP = 1000


@dataclass(frozen=True)
class SearchQuery:
    kana: str | None = None  # prefix of the full reading (氏 + 名, no space)
    given_kana: str | None = None  # prefix of the given name's reading alone
    name: str | None = None
    birth_date: dt.date | None = None
    machiaza_code: str | None = None
    banchi: str | None = None
    atena_number: str | None = None
    juminhyo_code: str | None = None
    my_number_index: str | None = None
    household_id: uuid.UUID | None = None
    include_removed: bool = False
    include_non_residents: bool = False
    on: dt.date | None = None


def _prefix(column: Any, prefix: str) -> ColumnElement[bool]:
    # A range, not LIKE: text range operators are leakproof, so under row-level security the
    # (tenant_id, key) index still serves the scan, in key order.
    return and_(column >= prefix, column < prefix + KANA_UPPER_BOUND)


def search(
    session: Session, q: SearchQuery, *, limit: int, offset: int
) -> tuple[Sequence[ResidentCurrent], int]:
    """Search the projection. The count stops at ``SEARCH_COUNT_CAP + 1`` (a broad prefix in a
    large municipality would otherwise count tens of thousands of rows per keystroke)."""
    stmt: Select[ResidentCurrent] = scoped(session, ResidentCurrent)
    conditions: list[ColumnElement[bool]] = []
    order: list[Any] = [ResidentCurrent.kana_key, ResidentCurrent.atena_number]
    if q.kana:
        conditions.append(_prefix(ResidentCurrent.kana_key, q.kana))
    if q.given_kana:
        conditions.append(_prefix(ResidentCurrent.given_kana_key, q.given_kana))
        order = [ResidentCurrent.given_kana_key, ResidentCurrent.atena_number]
    if q.name:
        conditions.append(_prefix(ResidentCurrent.name_key, q.name))
        order = [ResidentCurrent.name_key, ResidentCurrent.atena_number]
    if q.birth_date:
        conditions.append(ResidentCurrent.birth_date == q.birth_date)
    if q.machiaza_code:
        conditions.append(ResidentCurrent.machiaza_code == q.machiaza_code)
        if q.banchi:
            conditions.append(ResidentCurrent.banchi == q.banchi)
    if q.atena_number:
        conditions.append(ResidentCurrent.atena_number == q.atena_number)
    if q.juminhyo_code:
        conditions.append(ResidentCurrent.juminhyo_code == q.juminhyo_code)
    if q.my_number_index:
        conditions.append(ResidentCurrent.my_number_index == q.my_number_index)
    if q.household_id:
        conditions.append(ResidentCurrent.household_id == q.household_id)
    if not q.include_removed:
        on_day = and_(*_resident_on(q.on or dt.date.today()))
        if q.include_non_residents:
            conditions.append(or_(on_day, ResidentCurrent.status == "non_resident"))
        else:
            conditions.append(on_day)
    elif q.include_non_residents:
        conditions.append(ResidentCurrent.status != "voided")
    else:
        conditions.append(ResidentCurrent.status.in_(["resident", "removed"]))
    stmt = stmt.where(*conditions)
    capped = stmt.with_only_columns(ResidentCurrent.person_id).limit(SEARCH_COUNT_CAP + 1)
    total = session.scalar(select(func.count()).select_from(capped.subquery())) or 0
    rows = session.scalars(stmt.order_by(*order).limit(limit).offset(offset)).all()
    return rows, int(total)
