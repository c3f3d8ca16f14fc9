"""Deterministic synthetic population (住民) for the demo, the tests and the benchmarks.

``jichitai demo --residents N`` and every test or benchmark that needs many residents use this one
generator. For each household it writes exactly the rows the register's service writes for an
entry (職権記載 or 転入): a person per member, the household, one residency event, one record
version per member, the search projection and the advanced number sequences. About 2 % of the
people are 除票 again, written as ``Register.death`` / ``Register.move_out`` would have written
them (a second event and version). Generated people are therefore ordinary residents: every use
case, read and search works on them.

Everything except row ids is a function of the seed, the member's lg_code, ``today`` and the order
of the name pools: ``random.Random(seed + int(lg_code))`` drives each member.

Rows go in through bulk paths, never one ORM object per row. On PostgreSQL each chunk is COPYed
into a temporary staging table and moved with one ``INSERT … SELECT`` per table: ``COPY FROM`` is
refused outright on tables under row-level security ("COPY FROM not supported with row-level
security"), while ``INSERT … SELECT`` keeps the policy's WITH CHECK in force. On SQLite (and as
the benchmark's baseline) chunks go through SQLAlchemy Core ``executemany``.

The name pools and 町字 come in as parameters (``NameSource``, ``MachiazaSource``): the demo data
lives in ``jichitai.demo_data``, which this package may not import.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, TypeVar, cast

import psycopg
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from core import audit
from core import copytext as ct
from core.crypto import MasterKeyRing, TenantKeys
from core.errors import NotFound, ValidationFailed
from core.japanese.checkdigits import lg_code_check_digit, my_number_check_digit, with_m11
from core.japanese.era import to_japanese
from core.japanese.kana import search_key, strip_variation_selectors
from core.scoping import TenantContext, TenantId, tenant_scope
from resident_records import protection
from resident_records import repository as repo
from resident_records.models import (
    EVENT_LABELS,
    MY_NUMBER_CONTEXT,
    EventKind,
    Household,
    Machiaza,
    NumberSequence,
    Person,
    PersonKind,
    ProtectionMeasure,
    RecordStatus,
    ResidencyEvent,
    ResidentCurrent,
    ResidentRecordVersion,
)
from resident_records.rules.register_dates import parse_register_date
from resident_records.schemas import AddressInput, MoveInCommand, PersonInput
from resident_records.service import (
    ATENA_SEQUENCE,
    HEAD,
    HOUSEHOLD_SEQUENCE,
    NUMBER_BODY_DIGITS,
)
from tenancy import repository as tenancy_repo
from tenancy.models import Municipality
from tenancy.repository import scoped

__all__ = [
    "DEFAULT_WEIGHT",
    "GENERATOR_ACTOR",
    "POPULATION_WEIGHTS",
    "GenerationReport",
    "MachiazaSource",
    "MemberReport",
    "NameSource",
    "allocate",
    "generate",
    "load_machiaza_master",
    "move_in_commands",
]

# Weights for spreading N residents: the members' real populations (住民基本台帳, 2024, rounded).
POPULATION_WEIGHTS: Final[dict[str, int]] = {
    "162116": 92_000,  # 射水市
    "162060": 32_800,  # 滑川市
    "163422": 23_500,  # 入善町
    "163228": 19_700,  # 上市町
    "163431": 11_000,  # 朝日町
    "163210": 3_000,  # 舟橋村
    "162078": 40_000,  # 黒部市
    "162043": 40_500,  # 魚津市
    "163236": 25_000,  # 立山町
}
DEFAULT_WEIGHT: Final = 10_000  # a member not listed above counts as a small town
GENERATOR_ACTOR: Final = audit.Actor.system("demo.population")
AUDIT_ACTION: Final = "demo.population_generated"
CHUNK_PERSONS: Final = 5_000  # per chunk; its staging rows fit the default temp_buffers (8 MB)

T = TypeVar("T")
Method = Literal["auto", "copy", "core"]
Progress = Callable[[str, int], None]  # (lg_code, persons written so far for that member)

# Shares of the synthetic population, tuned so that the result looks like Toyama (≈ 31 % aged
# 65+ and 19 % 75+, ≈ 12 % under 15, ≈ 2.8 % foreign residents, ≈ 2 % 除票, one household in
# three a single person, 2.4 persons per household).
FOREIGN_HOUSEHOLD_SHARE: Final = 0.042
REMOVAL_SHARE: Final = 0.024  # of households; deaths remove one person, move-outs all
MY_NUMBER_SHARE: Final = 0.985  # the rest have no 個人番号 on record (not yet notified)
UNCERTAIN_BIRTH_SHARE: Final = 0.04  # of people aged 88+: 昭和2年頃 as copied from the 戸籍
EX_OFFICIO_SHARE: Final = 0.62  # of Japanese households: on the register before (職権記載)


# --- inputs: name pools and 町字 (structural, so jichitai.demo_data need not be imported) -------


class NamedEntry(Protocol):
    """A name and its katakana reading."""

    @property
    def name(self) -> str: ...

    @property
    def kana(self) -> str: ...


class GivenNameEntry(NamedEntry, Protocol):
    """A given name and the era (showa / heisei / reiwa) it is typical of, if any."""

    @property
    def era(self) -> str | None: ...


class ForeignEntry(Protocol):
    """A foreign resident of the pool: alphabet name, nationality, status, sex (M/F), 通称."""

    @property
    def name(self) -> str: ...

    @property
    def nationality(self) -> str: ...

    @property
    def residence_status(self) -> str: ...

    @property
    def sex(self) -> str: ...

    @property
    def alias(self) -> NamedEntry | None: ...


class NameSource(Protocol):
    """The name pools (``jichitai.demo_data.loader.name_pools()`` fits)."""

    @property
    def family_names(self) -> Sequence[NamedEntry]: ...

    @property
    def given_names_male(self) -> Sequence[GivenNameEntry]: ...

    @property
    def given_names_female(self) -> Sequence[GivenNameEntry]: ...

    @property
    def foreign_residents(self) -> Sequence[ForeignEntry]: ...


class MachiazaSource(Protocol):
    """One 町字 to load (``jichitai.demo_data.loader.machiaza(lg_code)`` yields these)."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def kana(self) -> str: ...

    @property
    def postcode(self) -> str | None: ...


# --- reports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberReport:
    """What was generated for one member (or that it was skipped)."""

    lg_code: str
    name: str
    persons: int = 0
    households: int = 0
    removed: int = 0
    foreign: int = 0
    rows: int = 0
    protected: int = 0
    seconds: float = 0.0
    skipped: bool = False


@dataclass(frozen=True)
class GenerationReport:
    """Totals of one :func:`generate` call."""

    members: tuple[MemberReport, ...]
    method: str
    seconds: float

    @property
    def persons(self) -> int:
        return sum(m.persons for m in self.members)

    @property
    def households(self) -> int:
        return sum(m.households for m in self.members)

    @property
    def removed(self) -> int:
        return sum(m.removed for m in self.members)

    @property
    def foreign(self) -> int:
        return sum(m.foreign for m in self.members)

    @property
    def rows(self) -> int:
        return sum(m.rows for m in self.members)

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(m.lg_code for m in self.members if m.skipped)


# --- public API ----------------------------------------------------------------------------------


def allocate(lg_codes: Sequence[str], residents: int) -> dict[str, int]:
    """Split ``residents`` over the members by :data:`POPULATION_WEIGHTS` (largest remainder)."""
    if residents < 0:
        raise ValueError("residents must not be negative")
    if not lg_codes:
        return {}
    weights = [POPULATION_WEIGHTS.get(code, DEFAULT_WEIGHT) for code in lg_codes]
    total = sum(weights)
    exact = [residents * w / total for w in weights]
    counts = [int(x) for x in exact]
    # Hand out what rounding down left over, largest fraction first (ties: list order).
    order = sorted(range(len(lg_codes)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: residents - sum(counts)]:
        counts[i] += 1
    return dict(zip(lg_codes, counts, strict=True))


def load_machiaza_master(session: Session, lg_code: str, entries: Iterable[MachiazaSource]) -> int:
    """Insert the member's 町字 that are not registered yet; returns how many were added."""
    municipality = _municipality(session, lg_code)
    with tenant_scope(session, TenantContext(TenantId(municipality.id))):
        known = {m.code for m in repo.machiaza_all(session)}
        new = [
            Machiaza(code=e.code, name=e.name, kana=e.kana, postcode=e.postcode, active=True)
            for e in entries
            if e.code not in known
        ]
        session.add_all(new)  # tens of rows once per member: the ORM is the simple path here
        session.flush()
    return len(new)


def generate(
    session: Session,
    ring: MasterKeyRing,
    lg_codes: list[str],
    residents: int,
    *,
    seed: int = 2026,
    today: dt.date,
    pools: NameSource,
    progress: Progress | None = None,
    method: Method = "auto",
) -> GenerationReport:
    """Generate ``residents`` people over ``lg_codes`` in the caller's transaction (no commit).

    A member that already has persons is skipped (its report says so), so running the demo
    again never duplicates anyone. Each member's 町字 master must be loaded first.
    """
    if residents < 0:
        raise ValueError("residents must not be negative")
    if today > dt.date.today() + dt.timedelta(days=1):
        # Recorded times would lie in the future and sort after the service's real entries.
        raise ValueError("today must not be after the real date")
    dialect = session.get_bind().dialect.name
    if method == "copy" and dialect != "postgresql":
        raise ValueError("the COPY path needs PostgreSQL")
    resolved = "copy" if dialect == "postgresql" and method != "core" else "core"
    prepared = _Pools(pools)
    started = time.perf_counter()
    reports = []
    for lg_code, count in allocate(lg_codes, residents).items():
        municipality = _municipality(session, lg_code)
        with tenant_scope(session, TenantContext(TenantId(municipality.id))):
            reports.append(
                _generate_member(
                    session,
                    ring,
                    tenant_id=municipality.id,
                    lg_code=lg_code,
                    name=municipality.name,
                    home=municipality.full_name,
                    count=count,
                    seed=seed,
                    today=today,
                    pools=prepared,
                    progress=progress,
                    method=resolved,
                )
            )
    return GenerationReport(tuple(reports), resolved, time.perf_counter() - started)


def move_in_commands(
    lg_code: str,
    households: int,
    *,
    machiaza: Sequence[MachiazaSource],
    home: str,
    pools: NameSource,
    seed: int = 2026,
    today: dt.date,
) -> list[MoveInCommand]:
    """転入 commands for ``households`` new households, validated like counter input.

    For load tests of ``Register.move_in``: the people look like generated ones (``home`` is
    the municipality's full name, for 本籍) but carry numbers from a range the generator never
    uses (serials from 1,900,000 on).
    """
    rng = _rng(seed + int(lg_code) + 1)
    planner = _Planner(
        rng,
        _Pools(pools),
        [(m.code, m.name) for m in machiaza],
        home=home,
        today=today,
        now=dt.datetime.now(dt.UTC),
    )
    numbers = _Numbers(lg_code, seed)
    serial = 1_900_000
    commands = []
    for _ in range(households):
        plan = planner.household(6)
        persons = []
        for m in plan.members:
            serial += 1
            entitlements = _entitlements(m, numbers.pension(serial))
            persons.append(
                PersonInput.model_validate(
                    {
                        "family_name": m.family_name,
                        "given_name": m.given_name,
                        "family_name_kana": m.family_kana,
                        "given_name_kana": m.given_kana,
                        "birth_date": m.birth_json["text"],
                        "sex": m.sex,
                        "relationship": m.relationship,
                        "honseki": m.honseki,
                        "koseki_head": m.koseki_head,
                        "my_number": numbers.my_number(serial) if m.has_my_number else None,
                        "juminhyo_code": numbers.juminhyo(serial),
                        "foreign": m.foreign,
                        "entitlements": entitlements,
                    }
                )
            )
        effective = today - dt.timedelta(days=rng.below(10))
        commands.append(
            MoveInCommand(
                effective_on=effective,
                notified_on=today,
                persons=persons,
                address=AddressInput(
                    machiaza_code=plan.machiaza_code, banchi=plan.banchi, katagaki=plan.katagaki
                ),
                previous_address=plan.previous_address,
            )
        )
    return commands


# --- one member ----------------------------------------------------------------------------------


def _municipality(session: Session, lg_code: str) -> Municipality:
    m = tenancy_repo.municipality_by_code(session, lg_code)
    if m is None:
        raise NotFound(f"団体コード {lg_code} の団体は登録されていません。", code="unknown_lg_code")
    return m


def _generate_member(
    session: Session,
    ring: MasterKeyRing,
    *,
    tenant_id: int,
    lg_code: str,
    name: str,
    home: str,
    count: int,
    seed: int,
    today: dt.date,
    pools: _Pools,
    progress: Progress | None,
    method: str,
) -> MemberReport:
    started = time.perf_counter()
    if count == 0:
        return MemberReport(lg_code, name)
    # The counters first: they stay locked until commit, so a second run started meanwhile
    # waits here and then finds this run's persons instead of generating them again.
    atena = _sequence(session, ATENA_SEQUENCE)
    households = _sequence(session, HOUSEHOLD_SEQUENCE)
    has_persons = session.scalar(scoped(session, Person).with_only_columns(Person.id).limit(1))
    if has_persons is not None:
        return MemberReport(lg_code, name, skipped=True)
    machiaza = [(m.code, m.name) for m in repo.machiaza_all(session) if m.active]
    if not machiaza:
        raise ValidationFailed(
            f"{name}の町字マスタが登録されていません。先に町字マスタを読み込んでください。",
            code="no_machiaza",
        )
    keys = TenantKeys(session, ring)
    planner = _Planner(
        _rng(seed + int(lg_code)),
        pools,
        machiaza,
        home=home,
        today=today,
        now=dt.datetime.now(dt.UTC),
    )
    builder = _RowBuilder(
        keys=keys,
        numbers=_Numbers(lg_code, seed),
        atena_start=atena.next_value,
        household_start=households.next_value,
        ids=_Ids(_rng(tenant_id)),
    )
    _check_columns()
    # Load the tenant's data keys now: while moves are in flight the connection is busy.
    keys.blind_index("0", context=MY_NUMBER_CONTEXT)
    keys.encrypt("0", context=MY_NUMBER_CONTEXT)
    writer: _Writer = (
        _CopyWriter(session, tenant_id) if method == "copy" else _CoreWriter(session, tenant_id)
    )
    totals = _Counts()
    remaining = count
    try:
        while remaining > 0:
            chunk = writer.chunk()
            size = _chunk_size(count - remaining, remaining)
            while remaining > 0 and chunk.counts.persons < size:
                plan = planner.household(remaining)
                builder.add(plan, chunk)
                remaining -= len(plan.members)
            writer.write(chunk)
            totals.add(chunk.counts)
            if progress is not None:
                progress(lg_code, writer.persons_written)
    finally:
        # Always collect the moves in flight before the session is used (or rolled back) again.
        writer.close()
    if progress is not None:
        progress(lg_code, count)
    atena.next_value = builder.atena_next
    households.next_value = builder.household_next
    session.flush()
    protected = _protect_some(session, count, seed + int(lg_code), today)
    audit.record(
        session,
        actor=GENERATOR_ACTOR,
        action=AUDIT_ACTION,
        subject_type="municipality",
        subject_id=lg_code,
        details={
            "persons": totals.persons,
            "households": totals.households,
            "removed": totals.removed,
            "foreign": totals.foreign,
            "protected": protected,
            "seed": seed,
            "today": today.isoformat(),
        },
    )
    return MemberReport(
        lg_code,
        name,
        persons=totals.persons,
        households=totals.households,
        removed=totals.removed,
        foreign=totals.foreign,
        rows=totals.rows,
        protected=protected,
        seconds=time.perf_counter() - started,
    )


PROTECTED_PER_RESIDENTS = 2000
_PROTECTION_CATEGORIES = ("DV", "ストーカー行為等", "児童虐待等")


def _protect_some(session: Session, count: int, seed: int, today: dt.date) -> int:
    """A few protection measures (about one resident in 2,000, at least one in a member of 50
    or more), so that the demo shows blocked certificates; deterministic for the seed."""
    wanted = count // PROTECTED_PER_RESIDENTS or (1 if count >= 50 else 0)
    if not wanted:
        return 0
    rng = _rng(seed)
    stmt = (
        scoped(session, ResidentCurrent)
        .with_only_columns(ResidentCurrent.person_id)
        .where(ResidentCurrent.status == RecordStatus.RESIDENT)
        .order_by(ResidentCurrent.atena_number)
    )
    candidates = list(session.scalars(stmt))
    chosen = rng.sample(candidates, min(wanted, len(candidates)))
    for person_id in chosen:
        started_on = today - dt.timedelta(days=rng.below(330))
        session.add(
            ProtectionMeasure(
                person_id=person_id,
                category=rng.pick(_PROTECTION_CATEGORIES),
                started_on=started_on,
                ends_on=protection.term_end(started_on),
                aggressor={"note": "デモデータ"},
            )
        )
    session.flush()
    return len(chosen)


def _chunk_size(done: int, remaining: int) -> int:
    """Small chunks first and last: the server starts early and little is left to drain."""
    if done < CHUNK_PERSONS // 2:
        return CHUNK_PERSONS // 5
    return max(CHUNK_PERSONS // 10, min(CHUNK_PERSONS, remaining // 3))


def _sequence(session: Session, name: str) -> NumberSequence:
    """The member's counter, locked until commit so concurrent move-ins wait for the numbers."""
    seq = repo.lock_sequence(session, name)
    if seq is None:
        seq = NumberSequence(name=name, next_value=1)
        session.add(seq)
        session.flush()
    return seq


# --- numbers -------------------------------------------------------------------------------------

# Multipliers coprime to 10 make ``serial → (serial·A + B) mod 10ⁿ`` a bijection: unique numbers
# that look random, without keeping a set of the numbers already handed out.
_MY_NUMBER_MULTIPLIER: Final = 7_654_321_137
_JUMINHYO_MULTIPLIER: Final = 3_141_592_653
_PENSION_MULTIPLIER: Final = 2_718_281_829
_SERIALS_PER_MEMBER: Final = 2_000_000  # numbers stay unique across members below this serial


class _Numbers:
    """個人番号, 住民票コード and 基礎年金番号 derived from (lg_code, 宛名番号 serial, seed)."""

    def __init__(self, lg_code: str, seed: int) -> None:
        self.base = int(lg_code[:5]) * _SERIALS_PER_MEMBER
        offsets = _rng(seed)
        self.my_number_offset = offsets.randrange(10**11)
        self.juminhyo_offset = offsets.randrange(10**11)
        self.pension_offset = offsets.randrange(10**10)

    def my_number(self, serial: int) -> str:
        value = ((self.base + serial) * _MY_NUMBER_MULTIPLIER + self.my_number_offset) % 10**11
        body = f"{value:011d}"
        return body + str(my_number_check_digit(body))

    def juminhyo(self, serial: int) -> str:
        value = ((self.base + serial) * _JUMINHYO_MULTIPLIER + self.juminhyo_offset) % 10**11
        return f"{value:011d}"

    def pension(self, serial: int) -> str:
        value = ((self.base + serial) * _PENSION_MULTIPLIER + self.pension_offset) % 10**10
        return f"{value:010d}"


class _Ids:
    """UUIDv7 row ids: this run's millisecond, then a counter (RFC 9562 method 1).

    Time-ordered like ``core.ids.new_id`` (so index inserts stay at the right edge), but without
    an ``os.urandom`` call per row; ids made later by the service carry a later millisecond.
    """

    def __init__(self, rng: _Random) -> None:
        ms = time.time_ns() // 1_000_000
        self.base = ((ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (0b10 << 62)
        self.counter = rng.getrandbits(40) << 20

    def next(self) -> str:
        """The next id as 32 hex digits (PostgreSQL's uuid input accepts them without dashes)."""
        c = self.counter
        self.counter = c + 1
        return f"{self.base | (((c >> 62) & 0xFFF) << 64) | (c & ((1 << 62) - 1)):032x}"


# Modulus-11 sums of three digits under the weights of positions 1–3 (2, 3, 4) and 4–6 (5, 6, 7)
# from the right (the weights repeat every six digits), so a 9-digit body needs three lookups.
_M11_234: Final = tuple(2 * (n % 10) + 3 * (n // 10 % 10) + 4 * (n // 100) for n in range(1000))
_M11_567: Final = tuple(5 * (n % 10) + 6 * (n // 10 % 10) + 7 * (n // 100) for n in range(1000))


def _numbered(serial: int) -> str:
    """``with_m11(str(serial).zfill(9))`` (宛名番号・世帯番号, J:130), by table lookups."""
    if serial >= 10**NUMBER_BODY_DIGITS:
        return with_m11(str(serial))
    total = (
        _M11_234[serial % 1000] + _M11_567[serial // 1000 % 1000] + _M11_234[serial // 1_000_000]
    )
    remainder = total % 11
    return f"{serial:09d}{0 if remainder <= 1 else 11 - remainder}"


def _uuid_text(h: str) -> str:
    """The dashed form ``str(uuid)`` gives, as the service stores ids inside JSON."""
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --- the synthetic people -----------------------------------------------------------------------

_ERAS: Final = ((2019, "reiwa"), (1989, "heisei"))
_FORBIDDEN_IN_TEXT: Final = ("\\", "\t", "\n", "\r")  # COPY's text format would need escapes
_APARTMENTS: Final = ("コーポ", "ハイツ", "メゾン", "レジデンス", "グランドール")
_ELSEWHERE: Final = (
    ("富山県富山市", "16201"),
    ("富山県高岡市", "16202"),
    ("富山県砺波市", "16208"),
    ("石川県金沢市", "17201"),
    ("新潟県新潟市中央区", "15103"),
    ("東京都新宿区", "13104"),
    ("愛知県名古屋市中区", "23106"),
    ("大阪府大阪市北区", "27127"),
)
_TOWNS: Final = ("本町", "新町", "中央通り", "旭町", "緑町", "栄町", "駅前", "桜木町")
_PERIODS: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "技能実習": (("1年", 365), ("2年", 730)),
    "特定技能": (("1年", 365), ("6月", 182)),
    "留学": (("1年3月", 456), ("2年", 730), ("4年3月", 1552)),
    "家族滞在": (("1年", 365), ("3年", 1095)),
}
_DEFAULT_PERIODS: Final = (("1年", 365), ("3年", 1095), ("5年", 1826))
_NO_PERIOD: Final = frozenset({"永住者", "特別永住者"})
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Random(random.Random):
    """A seeded PRNG with cheap draws: one ``random()`` call each, no rejection loop.

    ``randint``/``choice`` cost about 1 µs in pure Python; millions of draws add up.
    Synthetic demo data, never secrets, so a reproducible PRNG is what is wanted here.
    """

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.random() * (hi - lo + 1))

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]


def _rng(seed: int) -> _Random:
    return _Random(seed)


@functools.lru_cache(maxsize=1 << 17)
def _birth_entry(day: dt.date, western: bool) -> tuple[dict[str, Any], dt.date | None]:
    """A birth date as the register stores it. A century holds ≈ 37,000 days: parsing each
    once for every member and household saves ≈ 5 % of the generation; callers never change
    the shared document."""
    text = f"{day.year}年{day.month}月{day.day}日" if western else to_japanese(day).format()
    parsed = parse_register_date(text, allow_uncertain=True)
    return parsed.to_json(), parsed.value


def _era_of(year: int) -> str:
    for start, era in _ERAS:
        if year >= start:
            return era
    return "showa"


def _check_text(*values: str) -> None:
    for value in values:
        if any(ch in value for ch in _FORBIDDEN_IN_TEXT):
            raise ValueError(f"pool entry {value!r} holds a control character or a backslash")


class _Pools:
    """The name pools, indexed for fast picking."""

    def __init__(self, source: NameSource) -> None:
        self.family = [(e.name, e.kana) for e in source.family_names]
        # The pool lists frequent surnames first: a gentle Zipf-like curve makes a few names
        # common (as 佐藤 or 山本 are) while every name, IVS ones included, still appears.
        self.family_cum = list(
            itertools.accumulate(1.0 / (rank + 8) for rank in range(len(self.family)))
        )
        self.given: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for sex, pool in (
            ("male", source.given_names_male),
            ("female", source.given_names_female),
        ):
            for era in ("showa", "heisei", "reiwa"):
                self.given[(sex, era)] = [(g.name, g.kana) for g in pool if g.era in (era, None)]
        self.foreign: dict[str, list[ForeignEntry]] = {"male": [], "female": []}
        self.foreign_by: dict[tuple[str, str], list[ForeignEntry]] = {}
        for f in source.foreign_residents:
            sex = "male" if f.sex == "M" else "female"
            self.foreign[sex].append(f)
            self.foreign_by.setdefault((f.nationality, sex), []).append(f)
        if not self.family or not all(self.given.values()) or not all(self.foreign.values()):
            raise ValueError("the name pools need surnames, given names and foreign residents")
        for name, kana in self.family:
            _check_text(name, kana)
        for entries in self.given.values():
            for name, kana in entries:
                _check_text(name, kana)
        for f in source.foreign_residents:
            _check_text(f.name, f.nationality, f.residence_status)
            if f.alias is not None:
                _check_text(f.alias.name, f.alias.kana)


@dataclass(slots=True)
class _Member:
    family_name: str
    given_name: str
    family_kana: str | None
    given_kana: str | None
    birth_json: dict[str, Any]
    birth_value: dt.date | None
    age: int
    sex: str
    relationship: str
    foreign: dict[str, Any] | None = None
    has_my_number: bool = True
    honseki: str | None = None
    koseki_head: str | None = None
    nhi: bool = False
    child_allowance: bool = False


@dataclass(slots=True)
class _Removal:
    kind: EventKind  # DEATH or MOVE_OUT
    members: list[int]  # indexes into the household's members
    effective_on: dt.date
    notified_on: dt.date
    recorded_at: dt.datetime
    removal: dict[str, Any]  # as the service passes it to ``_remove`` (before removed_on)


@dataclass(slots=True)
class _Plan:
    members: list[_Member]
    kind: EventKind  # EX_OFFICIO_ENTRY or MOVE_IN
    effective_on: dt.date
    notified_on: dt.date
    recorded_at: dt.datetime
    previous_address: str
    machiaza_code: str
    banchi: str
    katagaki: str | None
    removal: _Removal | None = None


class _Planner:
    """Draws households one by one from the member's random stream."""

    def __init__(
        self,
        rng: _Random,
        pools: _Pools,
        machiaza: Sequence[tuple[str, str]],
        *,
        home: str,
        today: dt.date,
        now: dt.datetime,
    ) -> None:
        self.rng = rng
        self.pools = pools
        self.machiaza = machiaza
        self.home = home
        self.today = today
        self.now = now
        self.last_day = today - dt.timedelta(days=1)  # nothing generated happens today

    # households ---------------------------------------------------------------------------

    def household(self, max_size: int) -> _Plan:
        rng = self.rng
        if rng.random() < FOREIGN_HOUSEHOLD_SHARE:
            members = self._foreign_household()
        else:
            r = rng.random()
            if r < 0.31:
                members = self._single()
            elif r < 0.59:
                members = self._couple()
            elif r < 0.79:
                members = self._nuclear()
            elif r < 0.86:
                members = self._single_parent()
            else:
                members = self._three_generations()
        del members[max(1, min(6, max_size)) :]  # the head comes first and always stays
        if any(m.age < 18 for m in members):
            members[0].child_allowance = True
        foreign = members[0].foreign is not None
        kind = (
            EventKind.EX_OFFICIO_ENTRY
            if not foreign and rng.random() < EX_OFFICIO_SHARE
            else EventKind.MOVE_IN
        )
        youngest = max(m.birth_value or dt.date.min for m in members)
        effective, notified = self._entry_dates(kind, youngest)
        code, town = self.machiaza[rng.below(len(self.machiaza))]
        single_young = len(members) == 1 and members[0].age < 40
        katagaki = None
        if (single_young or foreign) and rng.random() < 0.6:
            katagaki = f"{rng.pick(_APARTMENTS)}{town} {rng.between(1, 4)}0{rng.between(1, 8)}号室"
        plan = _Plan(
            members=members,
            kind=kind,
            effective_on=effective,
            notified_on=notified,
            recorded_at=self._recorded(notified),
            previous_address=(
                self.home if kind == EventKind.EX_OFFICIO_ENTRY else self._elsewhere()[0]
            ),
            machiaza_code=code,
            banchi=self._banchi(),
            katagaki=katagaki,
        )
        _koseki_heads(members)
        if rng.random() < REMOVAL_SHARE:
            plan.removal = self._removal(plan)
        return plan

    def _single(self) -> list[_Member]:
        rng = self.rng
        r = rng.random()
        if r < 0.22:
            age, female = rng.between(19, 34), rng.random() < 0.42
        elif r < 0.40:
            age, female = rng.between(35, 59), rng.random() < 0.40
        else:
            age, female = int(rng.triangular(60, 103, 82)), rng.random() < 0.68
        return [self._japanese(self._family(), age, female, HEAD)]

    def _couple(self) -> list[_Member]:
        rng = self.rng
        # Mostly older couples whose children have left; a few young ones.
        young = rng.random() < 0.07
        age = rng.between(24, 39) if young else int(rng.triangular(48, 95, 75))
        return self._head_and_spouse(self._family(), age)

    def _head_and_spouse(self, family: tuple[str, str], age: int) -> list[_Member]:
        rng = self.rng
        female_head = rng.random() < 0.10
        spouse_age = max(18, age + (rng.between(-6, 3) if female_head else rng.between(-6, 2)))
        head = self._japanese(family, age, female_head, HEAD)
        spouse = self._japanese(family, spouse_age, not female_head, "夫" if female_head else "妻")
        return [head, spouse]

    def _children(
        self, family: tuple[str, str], mother_age: int, relationship: str, most: int
    ) -> list[_Member]:
        rng = self.rng
        n = rng.choices((1, 2, 3, 4), (46, 40, 12, 2))[0]
        age = mother_age - rng.between(24, 36)
        if age > 34:
            age = rng.between(18, 34)
        kids = []
        for _ in range(min(n, most)):
            if age < 0:
                break
            kids.append(self._japanese(family, age, rng.random() < 0.49, relationship))
            age -= rng.between(1, 5)
        return kids

    def _nuclear(self) -> list[_Member]:
        rng = self.rng
        family = self._family()
        members = self._head_and_spouse(family, int(rng.triangular(27, 64, 48)))
        mother = members[0] if members[0].sex == "female" else members[1]
        return members + self._children(family, mother.age, "子", 4)

    def _single_parent(self) -> list[_Member]:
        rng = self.rng
        family = self._family()
        female = rng.random() < 0.85
        head = self._japanese(family, rng.between(27, 56), female, HEAD)
        mother_age = head.age if female else head.age - rng.between(0, 4)
        return [head, *self._children(family, mother_age, "子", 3)]

    def _three_generations(self) -> list[_Member]:
        rng = self.rng
        family = self._family()
        if rng.random() < 0.55:
            # Head in mid-life with spouse and children, the head's parents living with them.
            members = self._head_and_spouse(family, rng.between(40, 62))
            if rng.random() < 0.1:
                members.pop()
            mother = next((m for m in members if m.sex == "female"), members[0])
            members += self._children(family, mother.age, "子", 2)
            head_age = members[0].age
            which = rng.choices(("both", "mother", "father"), (45, 40, 15))[0]
            if which in ("both", "father") and head_age + 34 <= 103:
                members.append(self._japanese(family, head_age + rng.between(25, 34), False, "父"))
            if which in ("both", "mother") and head_age + 31 <= 103:
                members.append(self._japanese(family, head_age + rng.between(22, 31), True, "母"))
            return members
        # An elderly head, the son and his wife, and their children (子の妻, 子の子).
        members = self._head_and_spouse(family, rng.between(62, 86))
        if rng.random() < 0.2:
            members.pop()
        son = self._japanese(family, members[0].age - rng.between(25, 33), False, "子")
        members.append(son)
        if rng.random() < 0.85:
            wife = self._japanese(family, max(18, son.age - rng.between(-2, 4)), True, "子の妻")
            members.append(wife)
            members += self._children(family, wife.age, "子の子", 3)
        return members

    def _foreign_household(self) -> list[_Member]:
        rng = self.rng
        if rng.random() < 0.65:
            # Mostly young workers and students living alone (技能実習, 特定技能, 留学 …).
            female = rng.random() < 0.45
            entry = rng.pick(self.pools.foreign["female" if female else "male"])
            return [self._foreigner(entry, rng.between(19, 38), HEAD)]
        female_head = rng.random() < 0.2
        entry = rng.pick(self.pools.foreign["female" if female_head else "male"])
        age = rng.between(25, 55)
        members = [self._foreigner(entry, age, HEAD)]
        spouses = self.pools.foreign_by.get(
            (entry.nationality, "male" if female_head else "female"), []
        )
        if spouses and rng.random() < 0.8:
            members.append(
                self._foreigner(
                    rng.pick(spouses),
                    max(19, age - rng.between(-3, 6)),
                    "夫" if female_head else "妻",
                )
            )
        mother_age = members[-1].age if len(members) > 1 and not female_head else age
        for i in range(rng.pick((0, 1, 1, 2))):
            kid_age = mother_age - rng.between(24, 34) - 3 * i
            if kid_age < 0:
                break
            kid_sex = "female" if rng.random() < 0.5 else "male"
            donor = rng.pick(self.pools.foreign_by.get((entry.nationality, kid_sex)) or [entry])
            members.append(self._foreigner(entry, kid_age, "子", given_from=donor, sex=kid_sex))
        return members

    # people ---------------------------------------------------------------------------------

    def _family(self) -> tuple[str, str]:
        pools = self.pools
        i = bisect.bisect(pools.family_cum, self.rng.random() * pools.family_cum[-1])
        return pools.family[min(i, len(pools.family) - 1)]

    def _birth(self, age: int, *, western: bool) -> tuple[dict[str, Any], dt.date | None, dt.date]:
        rng = self.rng
        day = self.last_day - dt.timedelta(days=age * 365 + age // 4 + rng.below(364))
        if not western and age >= 88 and rng.random() < UNCERTAIN_BIRTH_SHARE:
            # The very old sometimes have only a year in the 戸籍 (J:80 不詳日): "昭和2年頃".
            text = to_japanese(day).format().split("年")[0] + "年頃"
            parsed = parse_register_date(text, allow_uncertain=True)
            return parsed.to_json(), parsed.value, day
        birth_json, value = _birth_entry(day, western)
        return birth_json, value, day

    def _japanese(
        self, family: tuple[str, str], age: int, female: bool, relationship: str
    ) -> _Member:
        rng = self.rng
        birth_json, value, day = self._birth(age, western=False)
        sex = "female" if female else "male"
        given, given_kana = rng.pick(self.pools.given[(sex, _era_of(day.year))])
        town = self.machiaza[rng.below(len(self.machiaza))][1]
        return _Member(
            family_name=family[0],
            given_name=given,
            family_kana=family[1],
            given_kana=given_kana,
            birth_json=birth_json,
            birth_value=value,
            age=age,
            sex=sex,
            relationship=relationship,
            has_my_number=rng.random() < MY_NUMBER_SHARE,
            honseki=f"{self.home}{town}{rng.between(1, 2500)}番地",
            koseki_head=None,  # set per household below, once the members are known
            nhi=age < 75 and rng.random() < 0.2,
        )

    def _foreigner(
        self,
        entry: ForeignEntry,
        age: int,
        relationship: str,
        *,
        given_from: ForeignEntry | None = None,
        sex: str | None = None,
    ) -> _Member:
        rng = self.rng
        family, _, given = entry.name.partition(" ")
        alias = entry.alias
        if given_from is not None:  # a child: the parent's surname, a given name of its own
            given = given_from.name.partition(" ")[2] or given_from.name
            alias = None
        given = given or family
        birth_json, value, _ = self._birth(age, western=True)
        status = (
            entry.residence_status
            if given_from is None
            else (
                entry.residence_status
                if entry.residence_status in _NO_PERIOD | {"定住者"}
                else "家族滞在"
            )
        )
        special = status == "特別永住者"
        period: str | None = None
        expires: str | None = None
        if status not in _NO_PERIOD:
            period, days = rng.pick(_PERIODS.get(status, _DEFAULT_PERIODS))
            expires = (self.today + dt.timedelta(days=rng.between(30, days))).isoformat()
        card = (
            rng.pick(_LETTERS)
            + rng.pick(_LETTERS)
            + f"{rng.below(10**8):08d}"
            + rng.pick(_LETTERS)
            + rng.pick(_LETTERS)
        )
        return _Member(
            family_name=family,
            given_name=given,
            family_kana=None,
            given_kana=None,
            birth_json=birth_json,
            birth_value=value,
            age=age,
            sex=sex or ("male" if entry.sex == "M" else "female"),
            relationship=relationship,
            foreign={
                "name_alphabet": f"{family} {given}" if given != family else family,
                "nationality": entry.nationality,
                "category": "特別永住者" if special else "中長期在留者",
                "residence_status": None if special else status,
                "period_of_stay": period,
                "stay_expires_on": expires,
                "residence_card_number": card,
                "alias_name": alias.name if alias else None,
                "alias_name_kana": alias.kana if alias else None,
            },
            has_my_number=rng.random() < MY_NUMBER_SHARE,
            nhi=rng.random() < 0.5,
        )

    # dates and places ------------------------------------------------------------------------

    def _entry_dates(self, kind: EventKind, youngest: dt.date) -> tuple[dt.date, dt.date]:
        rng = self.rng
        hi = self.last_day
        if kind == EventKind.MOVE_IN:
            # Move-ins cluster in recent years (a 転入 is younger than the people it brings).
            lo = max(youngest, self.today - dt.timedelta(days=25 * 365))
            effective = hi - dt.timedelta(days=int(rng.expovariate(1 / (4 * 365))))
        else:
            lo = max(youngest, self.today - dt.timedelta(days=45 * 365))
            effective = lo + dt.timedelta(days=rng.below(max(1, (hi - lo).days + 1)))
        effective = min(max(effective, lo), hi)
        if kind == EventKind.MOVE_IN:
            notified = min(hi, effective + dt.timedelta(days=rng.between(0, 14)))
        else:
            notified = effective
        return effective, notified

    def _recorded(self, day: dt.date, after: dt.datetime | None = None) -> dt.datetime:
        # Office hours: 09:00–17:00 JST is 00:00–08:00 UTC of the same day.
        at = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(
            seconds=self.rng.below(8 * 3600)
        )
        at = min(at, self.now)
        if after is not None and at <= after:
            at = after + dt.timedelta(microseconds=1)
        return at

    def _banchi(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            return f"{rng.between(1, 5)}丁目{rng.between(1, 30)}番{rng.between(1, 25)}号"
        if r < 0.80:
            return f"{rng.between(1, 3000)}番地"
        return f"{rng.between(1, 3000)}番地{rng.between(1, 15)}"

    def _elsewhere(self) -> tuple[str, str]:
        rng = self.rng
        city, body = rng.pick(_ELSEWHERE)
        address = (
            f"{city}{rng.pick(_TOWNS)}{rng.between(1, 5)}丁目{rng.between(1, 30)}番"
            f"{rng.between(1, 25)}号"
        )
        return address, body + str(lg_code_check_digit(body))

    def _removal(self, plan: _Plan) -> _Removal | None:
        rng = self.rng
        lo = max(plan.effective_on + dt.timedelta(days=1), self.today - dt.timedelta(days=3 * 365))
        if lo > self.last_day:
            return None
        day = lo + dt.timedelta(days=rng.below((self.last_day - lo).days + 1))
        members = plan.members
        # Deaths take the oldest member who is not a head with others left behind (the head
        # rule would then need a 世帯主変更); otherwise the whole household moves out.
        dying = [
            i
            for i, m in enumerate(members)
            if m.age >= 70 and (m.relationship != HEAD or len(members) == 1)
        ]
        if dying and rng.random() < 0.75:
            oldest = max(dying, key=lambda i: members[i].age)
            notified = min(self.last_day, day + dt.timedelta(days=rng.between(0, 7)))
            notified = max(notified, plan.notified_on)
            return _Removal(
                EventKind.DEATH,
                [oldest],
                day,
                notified,
                self._recorded(notified, plan.recorded_at),
                {},
            )
        destination, lg_code = self._elsewhere()
        notified = max(plan.notified_on, day - dt.timedelta(days=rng.between(0, 14)))
        return _Removal(
            EventKind.MOVE_OUT,
            list(range(len(members))),
            day,
            notified,
            self._recorded(notified, plan.recorded_at),
            {
                "destination_address": destination,
                "destination_lg_code": lg_code,
                "planned_move_out_on": day.isoformat(),
            },
        )


def _koseki_heads(members: list[_Member]) -> None:
    """筆頭者: the head's for the head's family, the father's for the parents, the son's below."""
    head = members[0]
    if head.foreign is not None:
        return
    head_name = f"{head.family_name}\u3000{head.given_name}"
    father = next((m for m in members if m.relationship == "父"), None)
    son = next((m for m in members if m.relationship == "子" and m.sex == "male"), None)
    for m in members:
        if m.relationship in ("父", "母"):
            elder = father or m
            m.koseki_head = f"{elder.family_name}\u3000{elder.given_name}"
        elif m.relationship in ("子の妻", "子の子") and son is not None:
            m.koseki_head = f"{son.family_name}\u3000{son.given_name}"
        else:
            m.koseki_head = head_name


def _entitlements(m: _Member, pension_number: str) -> dict[str, Any]:
    # Same keys and order as ``Entitlements.model_dump()``.
    return {
        "nhi": m.nhi,
        "late_elderly": m.age >= 75,
        "long_term_care": m.age >= 65,
        "national_pension": 20 <= m.age < 60,
        "basic_pension_number": pension_number if m.age >= 20 else None,
        "child_allowance": m.child_allowance,
        "elector": m.foreign is None and m.age >= 18,
    }


# --- rows ----------------------------------------------------------------------------------------


@dataclass
class _Counts:
    persons: int = 0
    households: int = 0
    removed: int = 0
    foreign: int = 0
    rows: int = 0

    def add(self, other: _Counts) -> None:
        self.persons += other.persons
        self.households += other.households
        self.removed += other.removed
        self.foreign += other.foreign
        self.rows += other.rows


class _Chunk(Protocol):
    """Rows of one chunk as a writer wants them; ids are 32-digit hex, as PostgreSQL reads them."""

    counts: _Counts

    def person(self, pid: str, atena: str, at: dt.datetime) -> None: ...

    def household(self, hid: str, number: str, at: dt.datetime, version: int) -> None: ...

    def event(
        self,
        eid: str,
        kind: str,
        effective: dt.date,
        notified: dt.date,
        at: dt.datetime,
        hid: str,
        person_ids: list[str],
        details: dict[str, Any],
    ) -> None: ...

    def version(
        self,
        vid: str,
        pid: str,
        eid: str,
        kind: str,
        effective: dt.date,
        at: dt.datetime,
        status: str,
        data: dict[str, Any],
        hid: str,
        cipher: bytes | None,
        m: _Member,
        code: str,
    ) -> None: ...

    def current(
        self,
        pid: str,
        vid: str,
        atena: str,
        status: str,
        since: dt.date,
        until: dt.date | None,
        hid: str,
        m: _Member,
        keys: tuple[str, str, str],
        plan: _Plan,
        juminhyo: str,
        index: str | None,
    ) -> None: ...


class _RowBuilder:
    """Turns planned households into the rows the service would have written."""

    def __init__(
        self,
        *,
        keys: TenantKeys,
        numbers: _Numbers,
        atena_start: int,
        household_start: int,
        ids: _Ids,
    ) -> None:
        self.keys = keys
        self.numbers = numbers
        self.atena_next = atena_start
        self.household_next = household_start
        self.ids = ids
        self._kana: dict[str, str] = {}
        self._names: dict[tuple[str, str], str] = {}

    def _search_key(self, kana: str) -> str:
        # The pools are small: one normalisation per distinct reading, not one per person.
        key = self._kana.get(kana)
        if key is None:
            key = self._kana[kana] = search_key(kana) if kana else ""
        return key

    def _name_key(self, family: str, given: str) -> str:
        key = self._names.get((family, given))
        if key is None:
            key = strip_variation_selectors((family + given).replace(" ", "").replace("\u3000", ""))
            self._names[(family, given)] = key
        return key

    def add(self, plan: _Plan, out: _Chunk) -> None:
        ids = self.ids
        household_id = ids.next()
        event_id = ids.next()
        number = _numbered(self.household_next)
        self.household_next += 1
        removal = plan.removal
        out.household(household_id, number, plan.recorded_at, 1 if removal is None else 2)
        effective = plan.effective_on.isoformat()
        notified = plan.notified_on.isoformat()
        kind = plan.kind.value
        resident = RecordStatus.RESIDENT.value
        entries: list[tuple[str, str, str, dict[str, Any], bytes | None, str | None]] = []
        for m in plan.members:
            person_id = ids.next()
            serial = self.atena_next
            self.atena_next += 1
            atena = _numbered(serial)
            cipher = index = None
            if m.has_my_number:
                my_number = self.numbers.my_number(serial)
                cipher = self.keys.encrypt(my_number, context=MY_NUMBER_CONTEXT)
                index = self.keys.blind_index(my_number, context=MY_NUMBER_CONTEXT)
            # Key for key what ``Register._data_for`` stores (PersonInput.model_dump + address).
            data: dict[str, Any] = {
                "family_name": m.family_name,
                "given_name": m.given_name,
                "family_name_kana": m.family_kana,
                "given_name_kana": m.given_kana,
                "former_surname": None,
                "former_surname_kana": None,
                "sex": m.sex,
                "relationship": m.relationship,
                "honseki": m.honseki,
                "koseki_head": m.koseki_head,
                "juminhyo_code": self.numbers.juminhyo(serial),
                "foreign": m.foreign,
                "entitlements": _entitlements(m, self.numbers.pension(serial)),
                "birth_date": m.birth_json,
                "machiaza_code": plan.machiaza_code,
                "banchi": plan.banchi,
                "katagaki": plan.katagaki,
                "address_since": effective,
                "became_resident_on": effective,
                "notified_on": notified,
                "previous_address": plan.previous_address,
            }
            version_id = ids.next()
            out.person(person_id, atena, plan.recorded_at)
            out.version(
                version_id,
                person_id,
                event_id,
                kind,
                plan.effective_on,
                plan.recorded_at,
                resident,
                data,
                household_id,
                cipher,
                m,
                plan.machiaza_code,
            )
            entries.append((person_id, version_id, atena, data, cipher, index))
        out.event(
            event_id,
            kind,
            plan.effective_on,
            plan.notified_on,
            plan.recorded_at,
            household_id,
            [_uuid_text(e[0]) for e in entries],
            {"previous_address": plan.previous_address, "generated": True},
        )
        removed: dict[str, tuple[str, dt.date]] = {}
        if removal is not None:
            removed = self._remove(plan, removal, household_id, entries, out)
        for (person_id, version_id, atena, data, _cipher, index), m in zip(
            entries, plan.members, strict=True
        ):
            version_id, until = removed.get(person_id, (version_id, None))
            foreign = m.foreign or {}
            given_kana = m.given_kana or ""
            kana_source = (m.family_kana or "") + given_kana or (
                foreign.get("alias_name_kana") or ""
            )
            out.current(
                person_id,
                version_id,
                atena,
                RecordStatus.REMOVED.value if until else resident,
                plan.effective_on,
                until,
                household_id,
                m,
                (
                    self._search_key(kana_source),
                    self._search_key(given_kana),
                    self._name_key(m.family_name, m.given_name),
                ),
                plan,
                data["juminhyo_code"],
                index,
            )
        counts = out.counts
        counts.households += 1
        counts.persons += len(entries)
        counts.foreign += sum(1 for m in plan.members if m.foreign is not None)
        counts.removed += len(removed)
        counts.rows += 1 + 3 * len(entries) + (1 if removal is None else 2) + len(removed)

    def _remove(
        self,
        plan: _Plan,
        removal: _Removal,
        household_id: str,
        entries: list[tuple[str, str, str, dict[str, Any], bytes | None, str | None]],
        out: _Chunk,
    ) -> dict[str, tuple[str, dt.date]]:
        """The second event and versions, as ``Register._remove`` appends them."""
        event_id = self.ids.next()
        kind = removal.kind.value
        out.event(
            event_id,
            kind,
            removal.effective_on,
            removal.notified_on,
            removal.recorded_at,
            household_id,
            [_uuid_text(entries[i][0]) for i in removal.members],
            dict(removal.removal, generated=True),
        )
        record = dict(
            removal.removal,
            removed_on=removal.effective_on.isoformat(),
            reason=EVENT_LABELS[removal.kind],
        )
        removed: dict[str, tuple[str, dt.date]] = {}
        for i in removal.members:
            person_id, _v, _a, data, cipher, _index = entries[i]
            version_id = self.ids.next()
            out.version(
                version_id,
                person_id,
                event_id,
                kind,
                removal.effective_on,
                removal.recorded_at,
                RecordStatus.REMOVED.value,
                dict(data, removal=record),
                household_id,
                cipher,
                plan.members[i],
                plan.machiaza_code,
            )
            removed[person_id] = (version_id, removal.effective_on)
        return removed


# --- writers -------------------------------------------------------------------------------------


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


_PERSON_COLUMNS: Final = ("tenant_id", "id", "atena_number", "kind", "created_at")
_HOUSEHOLD_COLUMNS: Final = ("tenant_id", "id", "household_number", "created_at", "version")
_EVENT_COLUMNS: Final = (
    "tenant_id",
    "id",
    "kind",
    "effective_on",
    "notified_on",
    "recorded_at",
    "recorded_by",
    "late_days",
    "household_id",
    "person_ids",
    "cancels_event_id",
    "details",
)
_VERSION_COLUMNS: Final = (
    "tenant_id",
    "id",
    "person_id",
    "event_id",
    "event_kind",
    "effective_on",
    "recorded_at",
    "status",
    "data",
    "household_id",
    "my_number_cipher",
    "machiaza_code",
    "birth_date",
    "sex",
    "is_foreign",
    "relationship",
)
_CURRENT_COLUMNS: Final = (
    "tenant_id",
    "person_id",
    "version_id",
    "atena_number",
    "status",
    "resident_from",
    "resident_until",
    "household_id",
    "relationship",
    "family_name",
    "given_name",
    "kana_key",
    "given_kana_key",
    "name_key",
    "birth_date",
    "sex",
    "is_foreign",
    "machiaza_code",
    "banchi",
    "juminhyo_code",
    "my_number_index",
)
# Foreign keys first: versions point at persons and events, the projection at persons.
_TABLES: Final = (
    (_table(Person), _PERSON_COLUMNS),
    (_table(Household), _HOUSEHOLD_COLUMNS),
    (_table(ResidencyEvent), _EVENT_COLUMNS),
    (_table(ResidentRecordVersion), _VERSION_COLUMNS),
    (_table(ResidentCurrent), _CURRENT_COLUMNS),
)


def _check_columns() -> None:
    """Refuse to write when the tables have columns this generator does not fill (or lost some)."""
    for table, columns in _TABLES:
        if set(columns) != set(table.columns.keys()):
            raise RuntimeError(
                f"population generator is out of step with table {table.name}: "
                f"columns {sorted(set(table.columns.keys()) ^ set(columns))}"
            )


class _Writer(Protocol):
    persons_written: int

    def chunk(self) -> _Chunk: ...

    def write(self, chunk: _Chunk) -> None: ...

    def close(self) -> None: ...


class _CopyChunk:
    """COPY text lines (tab-separated, \\N for NULL), built as the rows are."""

    def __init__(self, tenant: str) -> None:
        self.t = tenant
        self.counts = _Counts()
        self.persons: list[str] = []
        self.households: list[str] = []
        self.events: list[str] = []
        self.versions: list[str] = []
        self.current_rows: list[str] = []
        self._at: dt.datetime | None = None
        self._at_text = ""

    def _ts(self, at: dt.datetime) -> str:
        # A household's rows share one recorded time: format it once.
        if at is not self._at:
            self._at, self._at_text = at, at.isoformat()
        return self._at_text

    def person(self, pid: str, atena: str, at: dt.datetime) -> None:
        self.persons.append(f"{self.t}\t{pid}\t{atena}\tresident\t{self._ts(at)}\n")

    def household(self, hid: str, number: str, at: dt.datetime, version: int) -> None:
        self.households.append(f"{self.t}\t{hid}\t{number}\t{self._ts(at)}\t{version}\n")

    def event(
        self,
        eid: str,
        kind: str,
        effective: dt.date,
        notified: dt.date,
        at: dt.datetime,
        hid: str,
        person_ids: list[str],
        details: dict[str, Any],
    ) -> None:
        self.events.append(
            f"{self.t}\t{eid}\t{kind}\t{effective.isoformat()}\t{notified.isoformat()}\t"
            f"{self._ts(at)}\t{GENERATOR_ACTOR.id}\t0\t{hid}\t{ct.json_value(person_ids)}\t{ct.NULL}\t"
            f"{ct.json_value(details)}\n"
        )

    def version(
        self,
        vid: str,
        pid: str,
        eid: str,
        kind: str,
        effective: dt.date,
        at: dt.datetime,
        status: str,
        data: dict[str, Any],
        hid: str,
        cipher: bytes | None,
        m: _Member,
        code: str,
    ) -> None:
        self.versions.append(
            f"{self.t}\t{vid}\t{pid}\t{eid}\t{kind}\t{effective.isoformat()}\t{self._ts(at)}\t"
            f"{status}\t{ct.json_value(data)}\t{hid}\t{ct.bytea(cipher)}\t{code}\t"
            f"{ct.date(m.birth_value)}\t{m.sex}\t{ct.boolean(m.foreign is not None)}\t"
            f"{m.relationship}\n"
        )

    def current(
        self,
        pid: str,
        vid: str,
        atena: str,
        status: str,
        since: dt.date,
        until: dt.date | None,
        hid: str,
        m: _Member,
        keys: tuple[str, str, str],
        plan: _Plan,
        juminhyo: str,
        index: str | None,
    ) -> None:
        self.current_rows.append(
            f"{self.t}\t{pid}\t{vid}\t{atena}\t{status}\t{since.isoformat()}\t{ct.date(until)}\t"
            f"{hid}\t{m.relationship}\t{m.family_name}\t{m.given_name}\t{keys[0]}\t{keys[1]}\t"
            f"{keys[2]}\t{ct.date(m.birth_value)}\t{m.sex}\t{ct.boolean(m.foreign is not None)}\t"
            f"{plan.machiaza_code}\t{plan.banchi}\t{juminhyo}\t{index or ct.NULL}\n"
        )

    def payload(self) -> list[bytes]:
        return [
            "".join(lines).encode()
            for lines in (
                self.persons,
                self.households,
                self.events,
                self.versions,
                self.current_rows,
            )
        ]


class _CopyWriter:
    """PostgreSQL: COPY each chunk into temporary tables, then INSERT … SELECT under RLS.

    The server's work goes on while Python builds the next chunk: a thread of its own sends
    each chunk (COPY waits for the server to parse every row) and the moves (index updates,
    foreign-key checks; in pipeline mode, collected only before the next chunk's COPY). The
    thread mostly waits on the socket, without the GIL; the caller's thread builds rows and
    touches the session only after :meth:`close`.
    """

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.tenant = str(tenant_id)
        # The DBAPI (psycopg) connection of the session's transaction: same transaction, same
        # app.tenant_id, so the RLS policy's WITH CHECK applies to every row moved in.
        self.conn = cast(psycopg.Connection[Any], session.connection().connection.dbapi_connection)
        self.persons_written = 0
        self._in_flight = 0
        self._pipeline: ExitStack | None = None
        with self.conn.cursor() as cur:
            for table, _columns in _TABLES:
                # Column types, NOT NULL and collations (kana keys are COLLATE "C") come along;
                # no indexes, constraints or policies, so COPY into it is allowed and cheap.
                cur.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_stage(table)} (LIKE {table.name}) "
                    "ON COMMIT DROP"
                )
        # One chunk waiting while one is being sent: memory stays at a few chunks.
        self._queue: queue.Queue[_CopyChunk | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._sender = threading.Thread(target=self._send_all, name="generation-copy")
        self._sender.start()

    def chunk(self) -> _CopyChunk:
        return _CopyChunk(self.tenant)

    def write(self, chunk: _Chunk) -> None:
        assert isinstance(chunk, _CopyChunk)
        self._raise()
        self._queue.put(chunk)

    def close(self) -> None:
        """Wait for every chunk to be sent and moved; the staging tables go away with the
        transaction. Raises the first error the sending met."""
        self._queue.put(None)
        self._sender.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _send_all(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the caller learns of the error at its next write or close
            try:
                self._send(chunk)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc
        try:
            self._collect()
        except BaseException as exc:
            self._error = self._error or exc

    def _send(self, chunk: _CopyChunk) -> None:
        payload = chunk.payload()
        self._collect()
        with self.conn.cursor() as cur:
            for (table, columns), data in zip(_TABLES, payload, strict=True):
                with cur.copy(f"COPY {_stage(table)} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(data)
            if not psycopg.Pipeline.is_supported():  # libpq < 14: move now
                for statement in _MOVES:
                    cur.execute(statement)
                self.persons_written += chunk.counts.persons
                return
        self._pipeline = ExitStack()
        self._pipeline.enter_context(self.conn.pipeline())
        cur = self._pipeline.enter_context(self.conn.cursor())
        for statement in _MOVES:
            cur.execute(statement)  # sent at once; the results are read in _collect
        self._in_flight = chunk.counts.persons

    def _collect(self) -> None:
        """Wait for the moves in flight (raising their error, if any)."""
        if self._pipeline is not None:
            pipeline, self._pipeline = self._pipeline, None
            pipeline.close()
            self.persons_written += self._in_flight
            self._in_flight = 0


def _stage(table: Table) -> str:
    return f"pg_temp.generated_{table.name}"


# Foreign keys in order; the INSERT's RLS WITH CHECK compares each row's tenant_id with
# app.tenant_id. Table and column names are constants of this module.
_MOVES: Final = (
    *(
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(columns)} FROM {_stage(table)}"
        for table, columns in _TABLES
    ),
    "TRUNCATE " + ", ".join(_stage(table) for table, _columns in _TABLES),
)


class _CoreChunk:
    """Parameter dicts for SQLAlchemy Core (SQLite, and the benchmark's baseline)."""

    def __init__(self, tenant_id: int) -> None:
        self.t = tenant_id
        self.counts = _Counts()
        self.rows: tuple[list[dict[str, Any]], ...] = ([], [], [], [], [])

    def person(self, pid: str, atena: str, at: dt.datetime) -> None:
        self.rows[0].append(
            {
                "tenant_id": self.t,
                "id": uuid.UUID(pid),
                "atena_number": atena,
                "kind": PersonKind.RESIDENT.value,
                "created_at": at,
            }
        )

    def household(self, hid: str, number: str, at: dt.datetime, version: int) -> None:
        self.rows[1].append(
            {
                "tenant_id": self.t,
                "id": uuid.UUID(hid),
                "household_number": number,
                "created_at": at,
                "version": version,
            }
        )

    def event(
        self,
        eid: str,
        kind: str,
        effective: dt.date,
        notified: dt.date,
        at: dt.datetime,
        hid: str,
        person_ids: list[str],
        details: dict[str, Any],
    ) -> None:
        self.rows[2].append(
            {
                "tenant_id": self.t,
                "id": uuid.UUID(eid),
                "kind": kind,
                "effective_on": effective,
                "notified_on": notified,
                "recorded_at": at,
                "recorded_by": GENERATOR_ACTOR.id,
                "late_days": 0,
                "household_id": uuid.UUID(hid),
                "person_ids": person_ids,
                "cancels_event_id": None,
                "details": details,
            }
        )

    def version(
        self,
        vid: str,
        pid: str,
        eid: str,
        kind: str,
        effective: dt.date,
        at: dt.datetime,
        status: str,
        data: dict[str, Any],
        hid: str,
        cipher: bytes | None,
        m: _Member,
        code: str,
    ) -> None:
        self.rows[3].append(
            {
                "tenant_id": self.t,
                "id": uuid.UUID(vid),
                "person_id": uuid.UUID(pid),
                "event_id": uuid.UUID(eid),
                "event_kind": kind,
                "effective_on": effective,
                "recorded_at": at,
                "status": status,
                "data": data,
                "household_id": uuid.UUID(hid),
                "my_number_cipher": cipher,
                "machiaza_code": code,
                "birth_date": m.birth_value,
                "sex": m.sex,
                "is_foreign": m.foreign is not None,
                "relationship": m.relationship,
            }
        )

    def current(
        self,
        pid: str,
        vid: str,
        atena: str,
        status: str,
        since: dt.date,
        until: dt.date | None,
        hid: str,
        m: _Member,
        keys: tuple[str, str, str],
        plan: _Plan,
        juminhyo: str,
        index: str | None,
    ) -> None:
        self.rows[4].append(
            {
                "tenant_id": self.t,
                "person_id": uuid.UUID(pid),
                "version_id": uuid.UUID(vid),
                "atena_number": atena,
                "status": status,
                "resident_from": since,
                "resident_until": until,
                "household_id": uuid.UUID(hid),
                "relationship": m.relationship,
                "family_name": m.family_name,
                "given_name": m.given_name,
                "kana_key": keys[0],
                "given_kana_key": keys[1],
                "name_key": keys[2],
                "birth_date": m.birth_value,
                "sex": m.sex,
                "is_foreign": m.foreign is not None,
                "machiaza_code": plan.machiaza_code,
                "banchi": plan.banchi,
                "juminhyo_code": juminhyo,
                "my_number_index": index,
            }
        )


class _CoreWriter:
    """SQLite (and the benchmark's baseline): SQLAlchemy Core executemany per table."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.persons_written = 0

    def chunk(self) -> _CoreChunk:
        return _CoreChunk(self.tenant_id)

    def write(self, chunk: _Chunk) -> None:
        assert isinstance(chunk, _CoreChunk)
        for (table, _columns), rows in zip(_TABLES, chunk.rows, strict=True):
            if rows:
                self.session.execute(insert(table), rows)
        self.persons_written += chunk.counts.persons

    def close(self) -> None:
        """Nothing to do: every chunk went out in the caller's transaction."""
