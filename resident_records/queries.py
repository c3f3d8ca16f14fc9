"""Read use cases of the register: records as of either time axis, households, search,
population statistics. Every read of personal data is audited by the caller's route."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.crypto import TenantKeys
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
from tenancy.repository import scoped

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


def _in_force(session: Session, on: dt.date) -> Any:
    """Every person's version in force on ``on`` (as the register knows it now), ranked 1."""
    v = ResidentRecordVersion
    return (
        scoped(session, v)
        .with_only_columns(
            v.person_id,
            v.id.label("version_id"),
            v.status,
            v.sex,
            v.machiaza_code,
            v.birth_date,
            v.is_foreign,
            v.household_id,
            func.row_number()
            .over(partition_by=v.person_id, order_by=(v.effective_on.desc(), v.recorded_at.desc()))
            .label("rn"),
        )
        .where(v.effective_on <= on)
        .subquery()
    )


@dataclass(frozen=True)
class ResidentOn:
    person_id: uuid.UUID
    version_id: uuid.UUID
    household_id: uuid.UUID | None
    birth_date: dt.date | None


def residents_on(session: Session, on: dt.date) -> list[ResidentOn]:
    """Who was a resident on ``on`` (e.g. 1 January, the inhabitant tax's 賦課期日), in the
    version then in force — for other business areas, which read the register, never write it."""
    ranked = _in_force(session, on)
    stmt = (
        select(ranked.c.person_id, ranked.c.version_id, ranked.c.household_id, ranked.c.birth_date)
        .where(ranked.c.rn == 1, ranked.c.status == RecordStatus.RESIDENT)
        .order_by(ranked.c.person_id)
    )
    return [ResidentOn(*row) for row in session.execute(stmt)]


def statistics(session: Session, on: dt.date) -> StatisticsRead:
    """Population on a date from the versions in force then: by sex, age band, 町字, nationality."""
    ranked = _in_force(session, on)
    stmt = (
        select(
            ranked.c.sex,
            ranked.c.machiaza_code,
            ranked.c.birth_date,
            ranked.c.is_foreign,
            func.count(),
            func.count(func.distinct(ranked.c.household_id)),
        )
        .where(ranked.c.rn == 1, ranked.c.status == RecordStatus.RESIDENT)
        .group_by(ranked.c.sex, ranked.c.machiaza_code, ranked.c.birth_date, ranked.c.is_foreign)
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
            select(func.count(func.distinct(ranked.c.household_id))).where(
                ranked.c.rn == 1, ranked.c.status == RecordStatus.RESIDENT
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
