"""Read use cases of the register: records as of either time axis, households, search,
population statistics. Every read of personal data is audited by the caller's route."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jaconv
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from core.crypto import TenantKeys
from core.db import (
    among,
    among_param,
    newest_per,
    pending_rows,
    prepared_rows,
    scoped_rows,
)
from core.errors import NotFound, ValidationFailed
from core.japanese.checkdigits import is_valid_my_number
from core.japanese.kana import is_kana, search_key, strip_variation_selectors
from resident_records import protection
from resident_records import repository as repo
from resident_records.models import (
    MY_NUMBER_CONTEXT,
    RecordStatus,
    ResidentCurrent,
    ResidentRecordVersion,
)
from resident_records.rules.register_dates import RegisterDate
from resident_records.schemas import (
    HouseholdRead,
    ResidentRecordRead,
    ResidentSummary,
    StatisticsRead,
)
from tenancy.repository import scoped, scoped_by_param

MASKED_MY_NUMBER = "************"
AGE_BANDS = [(0, 14, "0-14"), (15, 64, "15-64"), (65, 74, "65-74"), (75, 200, "75+")]


def address_text(session: Session, data: dict[str, Any]) -> str | None:
    code = data.get("machiaza_code")
    if not code:
        return None
    m = repo.machiaza(session, code)
    parts = [m.name if m else code, data.get("banchi") or "", data.get("katagaki") or ""]
    return " ".join(p for p in parts if p)


def _summary(
    cur: ResidentCurrent, names: dict[str, Any], protected: set[uuid.UUID]
) -> ResidentSummary:
    m = names.get(cur.machiaza_code or "")
    address = (
        " ".join(p for p in [m.name if m else (cur.machiaza_code or ""), cur.banchi or ""] if p)
        or None
    )
    return ResidentSummary(
        person_id=cur.person_id,
        atena_number=cur.atena_number,
        status=cur.status,
        family_name=cur.family_name,
        given_name=cur.given_name,
        kana=cur.kana_key,
        birth_date=cur.birth_date.isoformat() if cur.birth_date else None,
        sex=cur.sex,
        address=address,
        household_id=cur.household_id,
        relationship=cur.relationship,
        resident_until=cur.resident_until,
        protected=cur.person_id in protected,
    )


def summaries(session: Session, rows: Sequence[ResidentCurrent]) -> list[ResidentSummary]:
    names = repo.machiaza_names(session, {r.machiaza_code for r in rows if r.machiaza_code})
    protected = protection.protected_ids(session, [r.person_id for r in rows], dt.date.today())
    return [_summary(r, names, protected) for r in rows]


def record(
    session: Session,
    person_id: uuid.UUID,
    *,
    as_of: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> ResidentRecordRead:
    """The record as of a date (異動日 axis) as known at a time (処理日 axis)."""
    person = repo.person(session, person_id)
    if person is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    version: ResidentRecordVersion | None
    if as_of is None and known_at is None:
        version = repo.latest_version(session, person_id)
    else:
        version = repo.version_as_of(
            session, person_id, as_of or dt.date.max, known_at or dt.datetime.now(dt.UTC)
        )
    if version is None:
        raise NotFound("指定された時点の記録はありません。", code="no_record_at_that_time")
    household = repo.household(session, version.household_id) if version.household_id else None
    return ResidentRecordRead(
        person_id=person.id,
        atena_number=person.atena_number,
        version_id=version.id,
        status=version.status,
        effective_on=version.effective_on,
        recorded_at=version.recorded_at,
        event_kind=version.event_kind,
        household_id=version.household_id,
        household_number=household.household_number if household else None,
        data=_display_data(version.data),
        my_number_masked=MASKED_MY_NUMBER if version.my_number_cipher else None,
        address=address_text(session, version.data),
    )


def _display_data(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    birth = RegisterDate.from_json(data["birth_date"])
    out["birth_date"] = {
        "text": birth.text,
        "display": birth.format_western() if data.get("foreign") else birth.format_japanese(),
        "value": birth.value.isoformat() if birth.value else None,
        "kind": str(birth.kind),
    }
    return out


def history(session: Session, person_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every version in the order it was recorded (wrong entries and corrections included)."""
    if repo.person(session, person_id) is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    return [
        {
            "version_id": v.id,
            "event_id": v.event_id,
            "event_kind": v.event_kind,
            "effective_on": v.effective_on,
            "recorded_at": v.recorded_at,
            "status": v.status,
            "household_id": v.household_id,
            "data": _display_data(v.data),
        }
        for v in repo.versions(session, person_id)
    ]


def household(
    session: Session, household_id: uuid.UUID, *, on: dt.date | None = None
) -> HouseholdRead:
    """世帯の内容: today's members from the projection; a past date from the versions then."""
    h = repo.household(session, household_id)
    if h is None:
        raise NotFound("指定された世帯は見つかりません。", code="household_not_found")
    today = dt.date.today()
    if on is None or on == today:
        current = repo.household_members(session, household_id, today)
        members = summaries(session, current)
        first = current[0].person_id if current else None
    else:
        members = _members_on(session, household_id, on)
        first = members[0].person_id if members else None
    address = None
    if first is not None:
        entry = repo.version_as_of(session, first, on or today, dt.datetime.now(dt.UTC))
        address = address_text(session, entry.data) if entry else None
    ordered = sorted(members, key=lambda m: (m.relationship != "世帯主", m.atena_number))
    return HouseholdRead(
        household_id=h.id,
        household_number=h.household_number,
        version=h.version,
        address=address,
        members=ordered,
    )


def _members_on(session: Session, household_id: uuid.UUID, on: dt.date) -> list[ResidentSummary]:
    now = dt.datetime.now(dt.UTC)
    out: list[ResidentSummary] = []
    ids = sorted(repo.household_member_ids_ever(session, household_id))
    protected = protection.protected_ids(session, ids, on)
    for pid in ids:
        v = repo.version_as_of(session, pid, on, now)
        person = repo.person(session, pid)
        if v is None or person is None or v.household_id != household_id:
            continue
        if v.status != RecordStatus.RESIDENT:
            continue
        d = v.data
        kana = (d.get("family_name_kana") or "") + (d.get("given_name_kana") or "")
        out.append(
            ResidentSummary(
                person_id=pid,
                atena_number=person.atena_number,
                status=v.status,
                family_name=d["family_name"],
                given_name=d["given_name"],
                kana=kana,
                birth_date=v.birth_date.isoformat() if v.birth_date else None,
                sex=v.sex,
                address=address_text(session, d),
                household_id=household_id,
                relationship=d.get("relationship"),
                resident_until=None,
                protected=pid in protected,
            )
        )
    return out


def search_kana(text: str) -> str:
    key = search_key(text)
    if not key or not is_kana(key):
        raise ValidationFailed(
            "カナ検索はカタカナまたはひらがなで入力してください。",
            code="invalid_kana",
            details=[
                {
                    "field": "kana",
                    "type": "invalid_kana",
                    "message": "カタカナまたはひらがなで入力してください。",
                }
            ],
        )
    return key


def search_name(text: str) -> str:
    return strip_variation_selectors(text.replace(" ", "").replace("\u3000", ""))


def my_number_index(keys: TenantKeys, my_number: str) -> str:
    digits = my_number.replace(" ", "").replace("-", "")
    if not is_valid_my_number(digits):
        raise ValidationFailed(
            "個人番号は12桁の数字で、検査用数字が正しいものを入力してください。",
            code="invalid_my_number",
            details=[
                {
                    "field": "my_number",
                    "type": "invalid_my_number",
                    "message": "個人番号の形式が正しくありません。",
                }
            ],
        )
    return keys.blind_index(digits, context=MY_NUMBER_CONTEXT)


def reveal_my_number(session: Session, keys: TenantKeys, person_id: uuid.UUID) -> str | None:
    latest = repo.latest_version(session, person_id)
    if latest is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    if latest.my_number_cipher is None:
        return None
    return keys.decrypt(latest.my_number_cipher, context=MY_NUMBER_CONTEXT)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# Persons named by id, or by a statement selecting their ids (kept in the database).
PersonIds = Collection[uuid.UUID] | Select[uuid.UUID]


def _in_force(session: Session, on: dt.date, person_ids: PersonIds | None = None) -> Any:
    """Every person's version in force on ``on`` (as the register knows it now), one row each
    (``core.db.newest_per``: ``DISTINCT ON`` on PostgreSQL)."""
    v = ResidentRecordVersion
    query = scoped(session, v).where(v.effective_on <= on)
    if person_ids is not None:
        query = query.where(among(session, v.person_id, person_ids))
    return _in_force_of(session, query)


def _in_force_of(session: Session, query: Select[Any]) -> Any:
    """The newest version per person among ``query``'s versions, as a subquery."""
    v = ResidentRecordVersion
    columns = (
        v.person_id,
        v.id.label("version_id"),
        v.status,
        v.sex,
        v.machiaza_code,
        v.birth_date,
        v.is_foreign,
        v.household_id,
        v.relationship,
    )
    return newest_per(
        session, query, columns, (v.person_id,), (v.effective_on.desc(), v.recorded_at.desc())
    )


class ResidentOn(NamedTuple):
    """A resident on a day, as the batches read hundreds of thousands of them (a tuple: cheap
    to build)."""

    person_id: uuid.UUID
    version_id: uuid.UUID
    household_id: uuid.UUID | None
    birth_date: dt.date | None
    relationship: str | None = None  # 続柄 to the household's head (世帯主 for the head)


def residents_on(
    session: Session,
    on: dt.date,
    *,
    person_ids: PersonIds | None = None,
    household_ids: Collection[uuid.UUID] | None = None,
) -> list[ResidentOn]:
    """Who was a resident on ``on`` (e.g. 1 January, the inhabitant tax's 賦課期日), in the
    version then in force — for other business areas, which read the register, never write it.

    ``person_ids`` (ids, or a statement selecting them) / ``household_ids`` narrow it to those
    persons or the members of those households then (a reaction to one event needs a
    household, not the municipality); not both."""
    if household_ids is not None and person_ids is not None:
        raise ValueError("residents_on: person_ids or household_ids, not both")
    if isinstance(person_ids, Select):
        rows = scoped_rows(session, _residents_on_statement(session, person_ids), {"on": on})
    else:
        by = "all" if person_ids is None else "persons"
        if household_ids is not None:
            by = "households"
        ids = household_ids if household_ids is not None else person_ids
        rows = prepared_rows(
            session,
            ("residents_on", by),
            lambda: _residents_on_statement(session, by),
            {"on": on} if ids is None else {"on": on, "ids": list(ids)},
        )
    return [ResidentOn(*row) for row in rows]


def _residents_on_statement(session: Session, by: str | Select[Any]) -> Select[Any]:
    """The statement of :func:`residents_on` for everyone, ``"persons"`` or ``"households"``
    given as the ``ids`` parameter, or the persons a statement selects; parameters tenant, on."""
    v = ResidentRecordVersion
    query = scoped_by_param(v).where(v.effective_on <= bindparam("on"))
    if isinstance(by, Select):
        query = query.where(among(session, v.person_id, by))
    elif by == "persons":
        query = query.where(among_param(session, v.person_id, "ids"))
    elif by == "households":
        # Whoever was ever in those households; the version in force decides if they were then.
        query = query.where(
            v.person_id.in_(
                scoped_by_param(v)
                .with_only_columns(v.person_id)
                .where(among_param(session, v.household_id, "ids"))
            )
        )
    in_force = _in_force_of(session, query)
    stmt = (
        select(
            in_force.c.person_id,
            in_force.c.version_id,
            in_force.c.household_id,
            in_force.c.birth_date,
            in_force.c.relationship,
        )
        .where(in_force.c.status == RecordStatus.RESIDENT)
        .order_by(in_force.c.person_id)
    )
    if by == "households":
        stmt = stmt.where(among_param(session, in_force.c.household_id, "ids"))
    return stmt


@dataclass(frozen=True)
class PersonBrief:
    """What another business area may know of a 宛名 to match its own records to it."""

    person_id: uuid.UUID
    atena_number: str
    status: str  # resident / removed / non_resident …
    birth_date: dt.date | None
    family_name: str
    given_name: str


def _briefs(session: Session, condition: Any) -> list[PersonBrief]:
    c = ResidentCurrent
    stmt = scoped(session, c).with_only_columns(
        c.person_id, c.atena_number, c.status, c.birth_date, c.family_name, c.given_name
    )
    return [PersonBrief(*row) for row in session.execute(stmt.where(condition))]


def persons_by_atena_number(session: Session, numbers: Collection[str]) -> dict[str, PersonBrief]:
    """宛名番号 → person, for matching income records and other areas' files to the 宛名."""
    found: dict[str, PersonBrief] = {}
    for chunk in _chunks(sorted(set(numbers))):
        for brief in _briefs(session, ResidentCurrent.atena_number.in_(chunk)):
            found[brief.atena_number] = brief
    return found


def persons_by_my_number_index(
    session: Session, indexes: Collection[str]
) -> dict[str, PersonBrief]:
    """Blind index of a 個人番号 → person (the number itself is never compared in SQL)."""
    c = ResidentCurrent
    found: dict[str, PersonBrief] = {}
    for chunk in _chunks(sorted(set(indexes))):
        stmt = scoped(session, c).with_only_columns(
            c.my_number_index,
            c.person_id,
            c.atena_number,
            c.status,
            c.birth_date,
            c.family_name,
            c.given_name,
        )
        for row in session.execute(stmt.where(c.my_number_index.in_(chunk))):
            if row[0] is not None:
                found[row[0]] = PersonBrief(row[1], row[2], row[3], row[4], row[5], row[6])
    return found


def persons_by_id(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, PersonBrief]:
    """Person id → brief, for persons another area already knows by id."""
    found: dict[uuid.UUID, PersonBrief] = {}
    for chunk in _chunks(sorted(set(ids))):
        for brief in _briefs(session, ResidentCurrent.person_id.in_(chunk)):
            found[brief.person_id] = brief
    return found


def _chunks(values: list[Any], size: int = 5_000) -> Iterator[list[Any]]:
    # Bounded IN lists: SQLite caps bound parameters, and huge lists plan badly on PostgreSQL.
    for start in range(0, len(values), size):
        yield values[start : start + size]


def statistics(session: Session, on: dt.date) -> StatisticsRead:
    """Population on a date from the versions in force then: by sex, age band, 町字, nationality."""
    in_force = _in_force(session, on)
    stmt = (
        select(
            in_force.c.sex,
            in_force.c.machiaza_code,
            in_force.c.birth_date,
            in_force.c.is_foreign,
            func.count(),
            func.count(func.distinct(in_force.c.household_id)),
        )
        .where(in_force.c.status == RecordStatus.RESIDENT)
        .group_by(
            in_force.c.sex, in_force.c.machiaza_code, in_force.c.birth_date, in_force.c.is_foreign
        )
    )
    by_sex: Counter[str] = Counter()
    by_band: Counter[str] = Counter()
    by_machiaza: Counter[str] = Counter()
    japanese = foreign = total = 0
    for sex, machiaza_code, birth, is_foreign, count, _h in session.execute(stmt):
        total += count
        by_sex[sex or "unknown"] += count
        by_machiaza[machiaza_code or "unknown"] += count
        if is_foreign:
            foreign += count
        else:
            japanese += count
        band = "unknown"
        if birth is not None:
            age = _age(birth, on)
            band = next((label for lo, hi, label in AGE_BANDS if lo <= age <= hi), "unknown")
        by_band[band] += count
    households = (
        session.scalar(
            select(func.count(func.distinct(in_force.c.household_id))).where(
                in_force.c.status == RecordStatus.RESIDENT
            )
        )
        or 0
    )
    return StatisticsRead(
        as_of=on,
        total=total,
        by_sex=dict(by_sex),
        by_age_band={label: by_band.get(label, 0) for *_r, label in AGE_BANDS}
        | ({"unknown": by_band["unknown"]} if by_band.get("unknown") else {}),
        by_machiaza=dict(sorted(by_machiaza.items())),
        japanese=japanese,
        foreign=foreign,
        households=int(households),
    )


# --- reads for other business areas (NHI, pension …), which never touch the register's tables ---


@dataclass(frozen=True)
class PersonOnDate:
    """A person's entry in force on a date, as the register knows it now."""

    person_id: uuid.UUID
    status: str  # resident / removed / voided / non_resident
    household_id: uuid.UUID | None
    birth_date: dt.date | None  # the representative date (None for 年月日不詳)
    is_head: bool

    @property
    def is_resident(self) -> bool:
        return self.status == RecordStatus.RESIDENT


def _person_on_date(v: ResidentRecordVersion) -> PersonOnDate:
    from resident_records.rules.relationship import is_head

    relationship = v.data.get("relationship")
    return PersonOnDate(
        person_id=v.person_id,
        status=v.status,
        household_id=v.household_id,
        birth_date=v.birth_date,
        is_head=isinstance(relationship, str) and is_head(relationship),
    )


def person_on(session: Session, person_id: uuid.UUID, on: dt.date) -> PersonOnDate | None:
    """The person's entry in force on ``on`` (None before their first entry); 404 if unknown."""
    if repo.person(session, person_id) is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    version = repo.version_as_of(session, person_id, on, dt.datetime.now(dt.UTC))
    return _person_on_date(version) if version is not None else None


def household_on(session: Session, household_id: uuid.UUID, on: dt.date) -> list[PersonOnDate]:
    """The residents of a household on ``on`` (from the versions then in force); 404 if unknown."""
    if repo.household(session, household_id) is None:
        raise NotFound("指定された世帯は見つかりません。", code="household_not_found")
    now = dt.datetime.now(dt.UTC)
    out: list[PersonOnDate] = []
    for pid in sorted(repo.household_member_ids_ever(session, household_id)):
        v = repo.version_as_of(session, pid, on, now)
        if v is not None and v.household_id == household_id and v.status == RecordStatus.RESIDENT:
            out.append(_person_on_date(v))
    return out


def birth_dates(
    session: Session, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dt.date | None]:
    """Each person's birth date as the register holds it now (the projection), in chunks."""
    out: dict[uuid.UUID, dt.date | None] = {}
    ids = list(person_ids)
    for start in range(0, len(ids), 1000):
        for pid, cur in repo.currents(session, ids[start : start + 1000]).items():
            out[pid] = cur.birth_date
    return out


@dataclass(frozen=True)
class PersonNow:
    status: str
    birth_date: dt.date | None


def persons_now(session: Session, person_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, PersonNow]:
    """Status and birth date of persons as the register holds them now, including what this
    unit of work has written and not yet flushed: a handler reacting to an event in the same
    transaction reads them without forcing a flush of everything pending (the commit sends the
    whole unit of work in one round trip, core.db.flush_inserts_pipelined)."""
    wanted = set(person_ids)
    out: dict[uuid.UUID, PersonNow] = {}
    for obj in [*session.new, *session.identity_map.values()]:
        if isinstance(obj, ResidentCurrent) and obj.person_id in wanted:
            out[obj.person_id] = PersonNow(obj.status, obj.birth_date)
    # A new person's projection row is queued for insertion (core.db.add_new), not an object.
    for row in pending_rows(session, ResidentCurrent):
        if row["person_id"] in wanted:
            out[row["person_id"]] = PersonNow(row["status"], row["birth_date"])
    rest = sorted(wanted - out.keys())
    if rest:
        # Nothing of these persons is pending in this session, so the stored rows are current.
        with session.no_autoflush:
            for pid, cur in repo.currents(session, rest).items():
                out[pid] = PersonNow(cur.status, cur.birth_date)
    return out


@dataclass(frozen=True)
class Removal:
    """When and by which event a person leaves (or left) the register."""

    on: dt.date  # the removal date, planned (a move-out notified in advance) or confirmed
    event_kind: str  # move_out / emigration / death / ex_officio_removal / move_out_confirmed


def removal(session: Session, person_id: uuid.UUID) -> Removal | None:
    """The person's removal as the register holds it now; None while no removal is recorded."""
    latest = repo.latest_version(session, person_id)
    if latest is None or latest.status != RecordStatus.REMOVED:
        return None
    removed = (latest.data.get("removal") or {}).get("removed_on")
    day = dt.date.fromisoformat(removed) if removed else latest.effective_on
    return Removal(on=day, event_kind=latest.event_kind)


@dataclass(frozen=True)
class Postal:
    """Name and address of a person as another area prints them on a notice or certificate."""

    person_id: uuid.UUID
    name: str
    kana: str | None
    birth_date: dt.date | None
    address: str


def _postal_address(data: dict[str, Any], status: str, town: str, machiaza: dict[str, Any]) -> str:
    # A 住登外者 lives elsewhere; a person who left is written to at the destination.
    if status == RecordStatus.NON_RESIDENT:
        return str(data.get("outside_address") or "")
    if status == RecordStatus.REMOVED and data.get("destination_address"):
        return str(data["destination_address"])
    code = data.get("machiaza_code") or ""
    m = machiaza.get(code)
    text = f"{town}{m.name if m else code}{data.get('banchi') or ''}"
    katagaki = data.get("katagaki")
    return f"{text}　{katagaki}" if katagaki else text


def postal(
    session: Session, person_ids: Collection[uuid.UUID], on: dt.date | None = None
) -> dict[uuid.UUID, Postal]:
    """Name, kana, birth date and full address of persons: the entry in force on ``on`` (the
    賦課期日 for a certificate), or the newest one (where a notice is sent) — a read service for
    the other business areas, which never read the register's tables themselves."""
    from tenancy.service import current_municipality

    municipality = current_municipality(session)
    town = f"{municipality.prefecture}{municipality.name}"
    v = ResidentRecordVersion
    found: dict[uuid.UUID, Postal] = {}
    for chunk in _chunks(sorted(set(person_ids))):
        query = scoped(session, v).where(v.person_id.in_(chunk))
        if on is not None:
            query = query.where(v.effective_on <= on)
        newest = newest_per(
            session,
            query,
            (v.person_id, v.data, v.status, v.birth_date),
            (v.person_id,),
            (v.effective_on.desc(), v.recorded_at.desc()),
        )
        rows = session.execute(select(newest)).all()
        codes = {r.data.get("machiaza_code") for r in rows if r.data.get("machiaza_code")}
        machiaza = repo.machiaza_names(session, codes)
        for person_id, data, status, birth in rows:
            name = "　".join(p for p in (data.get("family_name"), data.get("given_name")) if p)
            kana = "　".join(
                p for p in (data.get("family_name_kana"), data.get("given_name_kana")) if p
            )
            found[person_id] = Postal(
                person_id,
                name,
                jaconv.hira2kata(kana) if kana else None,
                birth,
                _postal_address(data, status, town, machiaza),
            )
    return found
