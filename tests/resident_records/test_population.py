"""The synthetic population generator on SQLite and PostgreSQL (fixture ``database``).

Generated people must be ordinary residents: the tests replay generated households through the
real service in another tenant and compare every row, run use cases on generated households,
search them by kana, and check the shape of the population (numbers, relationships, households,
除票, foreign residents). Tenants here have fixed lg_codes (prefecture 46, unused by other tests)
so the generated population, and therefore each test, is the same on every run.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core import audit
from core.audit import AuditEntry
from core.crypto import TenantKeys
from core.japanese.checkdigits import (
    is_valid_juminhyo_code,
    is_valid_m11,
    is_valid_my_number,
    lg_code_check_digit,
    with_m11,
)
from core.scoping import TenantContext, TenantId
from core.settings import get_settings
from core.uow import UnitOfWork
from jichitai.cli import app as cli_app
from jichitai.demo import MEMBERS, generate_residents
from jichitai.demo_data import loader
from jichitai.state import AppState
from resident_records import population, protection
from resident_records import repository as repo
from resident_records.models import (
    MY_NUMBER_CONTEXT,
    EventKind,
    Household,
    NumberSequence,
    Person,
    ProtectionMeasure,
    RecordStatus,
    ResidencyEvent,
    ResidentCurrent,
    ResidentRecordVersion,
)
from resident_records.rules.register_dates import RegisterDate
from resident_records.rules.relationship import validate_relationship
from resident_records.schemas import (
    AddressInput,
    DeathCommand,
    HouseholdRef,
    MoveInCommand,
    MoveOutCommand,
    MoveWithinCommand,
    PersonInput,
)
from resident_records.service import Register
from tenancy import repository as tenancy_repo
from tenancy import service as tenancy_service

TODAY = dt.date(2026, 11, 27)  # fixed, like test_service.py: the same people on every run
SEED = 2026
RESIDENTS = 400  # over two tenants
ACTOR = audit.Actor("staff", "tests")
ENTRY_KINDS = {EventKind.EX_OFFICIO_ENTRY.value, EventKind.MOVE_IN.value}
PERSON_FIELDS = set(PersonInput.model_fields) - {"my_number", "birth_date"}


def _code(body: str) -> str:
    return body + str(lg_code_check_digit(body))


A, B, REPLAY, DETERMINISM, USE_CASES, SOURCE, SIDE_A, SIDE_B, FAILING = (
    _code(f"4690{i}") for i in range(1, 10)
)


def _machiaza(lg_code: str) -> list[loader.Machiaza]:
    """滑川市's 町字, re-coded as the test tenant's own."""
    return [
        dataclasses.replace(m, code=f"{lg_code}-{m.code.partition('-')[2]}")
        for m in loader.machiaza("162060")
    ]


def _tenant(state: AppState, lg_code: str, machiaza_of: tuple[str, ...] = ()) -> int:
    with UnitOfWork(state.session_factory) as uow:
        m = tenancy_repo.municipality_by_code(uow.session, lg_code)
        if m is None:
            m = tenancy_service.create_municipality(
                uow.session,
                state.ring,
                lg_code=lg_code,
                name=f"試験村{lg_code}",
                prefecture="鹿児島県",
                kind="村",
                actor=audit.Actor.system("tests"),
            )
        for code in machiaza_of or (lg_code,):
            population.load_machiaza_master(uow.session, lg_code, _machiaza(code))
        uow.commit()
        return m.id


def _generate(state: AppState, lg_codes: list[str], residents: int, seed: int = SEED) -> Any:
    with UnitOfWork(state.session_factory) as uow:
        report = population.generate(
            uow.session,
            state.ring,
            lg_codes,
            residents,
            seed=seed,
            today=TODAY,
            pools=loader.name_pools(),
        )
        uow.commit()
    return report


@dataclasses.dataclass
class Generated:
    ids: dict[str, int]
    report: population.GenerationReport


@pytest.fixture(scope="module")
def generated(state: AppState, demo: dict[str, int]) -> Generated:
    ids = {code: _tenant(state, code) for code in (A, B)}
    return Generated(ids, _generate(state, [A, B], RESIDENTS))


def _uow(state: AppState, tenant_id: int) -> UnitOfWork:
    uow = UnitOfWork(state.session_factory, state.bus)
    uow.set_tenant(TenantContext(TenantId(tenant_id)))
    return uow


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- allocation and the machiaza master ---------------------------------------------------------


def test_allocation_follows_the_members_populations() -> None:
    codes = [code for code, *_ in MEMBERS]
    counts = population.allocate(codes, 1_000_000)
    assert sum(counts.values()) == 1_000_000
    assert max(counts, key=counts.__getitem__) == "162116"  # 射水市
    assert min(counts, key=counts.__getitem__) == "163210"  # 舟橋村
    assert 300_000 < counts["162116"] < 340_000
    assert population.allocate(["999999", "999998"], 301) in (
        {"999999": 151, "999998": 150},
        {"999999": 150, "999998": 151},
    )
    assert population.allocate(codes, 0) == dict.fromkeys(codes, 0)


def test_fast_check_digits_match_the_reference() -> None:
    serials = [*range(1, 30_000), 999_999_999, 1_000_000_000, 1_234_567_890]
    assert all(population._numbered(n) == with_m11(str(n).zfill(9)) for n in serials)


def test_machiaza_master_loads_once(state: AppState, demo: dict[str, int]) -> None:
    code = _code("46908")
    tenant_id = _tenant(state, code)
    with UnitOfWork(state.session_factory) as uow:
        again = population.load_machiaza_master(uow.session, code, _machiaza(code))
        uow.commit()
    assert again == 0
    with _uow(state, tenant_id) as uow:
        assert len(repo.machiaza_all(uow.session)) == len(loader.machiaza("162060"))


# --- counts, numbers, shape ---------------------------------------------------------------------


def test_counts_per_tenant(state: AppState, generated: Generated) -> None:
    expected = population.allocate([A, B], RESIDENTS)
    assert generated.report.persons == RESIDENTS
    for member in generated.report.members:
        assert member.persons == expected[member.lg_code]
        with _uow(state, generated.ids[member.lg_code]) as uow:
            s = uow.session
            assert _count(s, Person) == member.persons
            assert _count(s, ResidentCurrent) == member.persons
            assert _count(s, Household) == member.households
            assert _count(s, ResidentRecordVersion) == member.persons + member.removed
            removals = s.scalar(
                select(func.count())
                .select_from(ResidencyEvent)
                .where(ResidencyEvent.kind.in_([EventKind.DEATH, EventKind.MOVE_OUT]))
            )
            assert _count(s, ResidencyEvent) == member.households + (removals or 0)
            sequences = {q.name: q.next_value for q in s.scalars(select(NumberSequence))}
            assert sequences == {
                "atena_number": member.persons + 1,
                "household_number": member.households + 1,
            }
            entry = s.scalar(
                select(AuditEntry).where(AuditEntry.action == "demo.population_generated")
            )
            assert entry is not None
            assert entry.details["persons"] == member.persons
            assert audit.verify_current(s).ok
            # A few protected persons, each a resident with a measure in force today.
            measures = s.scalars(select(ProtectionMeasure)).all()
            assert len(measures) == member.protected >= 1
            assert all(protection.in_force(m, TODAY) for m in measures)


def test_numbers_are_valid_and_my_numbers_decrypt(state: AppState, generated: Generated) -> None:
    with _uow(state, generated.ids[A]) as uow:
        s = uow.session
        keys = TenantKeys(s, state.ring)
        atena = sorted(s.scalars(select(Person.atena_number)))
        assert atena == sorted(with_m11(str(n).zfill(9)) for n in range(1, len(atena) + 1))
        assert all(is_valid_m11(n) for n in s.scalars(select(Household.household_number)))
        current = {c.person_id: c for c in s.scalars(select(ResidentCurrent))}
        juminhyo = [c.juminhyo_code for c in current.values()]
        assert all(c is not None and is_valid_juminhyo_code(c) for c in juminhyo)
        assert len(set(juminhyo)) == len(juminhyo)
        with_number = 0
        for v in s.scalars(select(ResidentRecordVersion)):
            if v.my_number_cipher is None:
                assert current[v.person_id].my_number_index is None
                continue
            with_number += 1
            number = keys.decrypt(v.my_number_cipher, context=MY_NUMBER_CONTEXT)
            assert is_valid_my_number(number)
            index = keys.blind_index(number, context=MY_NUMBER_CONTEXT)
            assert current[v.person_id].my_number_index == index
        assert with_number > 0.9 * len(current)


def test_households_relationships_and_people(state: AppState, generated: Generated) -> None:
    people: list[ResidentCurrent] = []
    data: list[dict[str, Any]] = []
    for tenant_id in generated.ids.values():
        with _uow(state, tenant_id) as uow:
            people += uow.session.scalars(select(ResidentCurrent)).all()
            data += [
                v.data
                for v in uow.session.scalars(select(ResidentRecordVersion))
                if v.event_kind in ENTRY_KINDS
            ]
            uow.session.expunge_all()  # keep the loaded rows past the read-only unit of work
    households: dict[uuid.UUID | None, list[ResidentCurrent]] = collections.defaultdict(list)
    for p in people:
        assert p.relationship is not None
        assert validate_relationship(p.relationship) == p.relationship
        households[p.household_id].append(p)
    for members in households.values():
        assert 1 <= len(members) <= 6
        heads = [
            m for m in members if m.status == RecordStatus.RESIDENT and m.relationship == "世帯主"
        ]
        residents = [m for m in members if m.status == RecordStatus.RESIDENT]
        assert len(heads) == (1 if residents else 0)
    relationships = {p.relationship for p in people}
    assert {"世帯主", "妻", "子"} <= relationships
    removed = [p for p in people if p.status == RecordStatus.REMOVED]
    assert removed and all(p.resident_until is not None for p in removed)
    assert 0 < len(removed) / len(people) < 0.08
    foreign = [d for d in data if d["foreign"]]
    assert 0 < len(foreign) / len(data) < 0.1
    for d in foreign:
        f = d["foreign"]
        assert f["category"] in {"中長期在留者", "特別永住者"}
        assert re.fullmatch(r"[A-Z]{2}\d{8}[A-Z]{2}", f["residence_card_number"])
        assert re.fullmatch(r"[A-Z][A-Z ,.'-]*", f["name_alphabet"])
    ages = []
    for d in data:
        birth = RegisterDate.from_json(d["birth_date"])  # re-checks the stored text (J:80)
        assert birth.value is not None
        ages.append(birth.age_on(TODAY) or 0)
        if d["foreign"] is None:
            assert d["family_name_kana"] and d["given_name_kana"]
    assert 0.2 < sum(a >= 65 for a in ages) / len(ages) < 0.45
    assert any(a < 15 for a in ages)


def test_every_record_is_valid_counter_input(state: AppState, generated: Generated) -> None:
    with _uow(state, generated.ids[B]) as uow:
        versions = list(uow.session.scalars(select(ResidentRecordVersion)))
        uow.session.expunge_all()
    for v in versions:
        fields = {k: v.data[k] for k in PERSON_FIELDS}
        person = PersonInput.model_validate(fields | {"birth_date": v.data["birth_date"]["text"]})
        assert person.model_dump(mode="json", exclude={"my_number", "birth_date"}) == fields
        AddressInput(
            machiaza_code=v.data["machiaza_code"],
            banchi=v.data["banchi"],
            katagaki=v.data["katagaki"],
        )


# --- the same rows as the service -----------------------------------------------------------------


def _household_rows(session: Session, household_id: uuid.UUID) -> dict[str, Any]:
    household = session.scalar(select(Household).where(Household.id == household_id))
    versions = list(
        session.scalars(
            select(ResidentRecordVersion)
            .where(ResidentRecordVersion.household_id == household_id)
            .order_by(ResidentRecordVersion.effective_on, ResidentRecordVersion.recorded_at)
        )
    )
    atena = {p.id: p.atena_number for p in session.scalars(select(Person))}
    events = {
        e.id: e
        for e in session.scalars(
            select(ResidencyEvent).where(ResidencyEvent.household_id == household_id)
        )
    }
    current = list(
        session.scalars(
            select(ResidentCurrent)
            .where(ResidentCurrent.household_id == household_id)
            .order_by(ResidentCurrent.atena_number)
        )
    )
    session.expunge_all()  # the caller reads them after its unit of work has ended
    return {
        "household": household,
        "versions": versions,
        "events": events,
        "current": current,
        "atena": atena,
    }


_CURRENT_COMPARED = (
    "status",
    "resident_from",
    "resident_until",
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
)


def _replay(state: AppState, source_id: int, target_id: int, household_id: uuid.UUID) -> None:
    """Register a generated household again through the service and compare every row."""
    with _uow(state, source_id) as uow:
        keys = TenantKeys(uow.session, state.ring)
        src = _household_rows(uow.session, household_id)
        my_numbers = {
            v.person_id: keys.decrypt(v.my_number_cipher, context=MY_NUMBER_CONTEXT)
            for v in src["versions"]
            if v.my_number_cipher is not None
        }
    entry_versions = [v for v in src["versions"] if v.event_kind in ENTRY_KINDS]
    entry_versions.sort(key=lambda v: src["atena"][v.person_id])
    entry = src["events"][entry_versions[0].event_id]
    first = entry_versions[0].data
    command = MoveInCommand(
        effective_on=entry.effective_on,
        notified_on=entry.notified_on,
        persons=[
            PersonInput.model_validate(
                {k: v.data[k] for k in PERSON_FIELDS}
                | {
                    "birth_date": v.data["birth_date"]["text"],
                    "my_number": my_numbers.get(v.person_id),
                }
            )
            for v in entry_versions
        ],
        address=AddressInput(
            machiaza_code=first["machiaza_code"], banchi=first["banchi"], katagaki=first["katagaki"]
        ),
        previous_address=entry.details["previous_address"],
    )
    assert entry.details == {"previous_address": first["previous_address"], "generated": True}
    with _uow(state, target_id) as uow:
        result = Register(uow, ACTOR, state.ring, today=TODAY).move_in(
            command, EventKind(entry.kind)
        )
        uow.commit()
    replayed_household = result.household_ids[0]
    persons = dict(zip([v.person_id for v in entry_versions], result.person_ids, strict=True))
    removal = next((e for e in src["events"].values() if e.kind not in ENTRY_KINDS), None)
    if removal is not None:
        with _uow(state, target_id) as uow:
            register = Register(uow, ACTOR, state.ring, today=TODAY)
            version = repo.household(uow.session, replayed_household)
            assert version is not None
            ref = HouseholdRef(household_id=replayed_household, version=version.version)
            leaving = [persons[uuid.UUID(p)] for p in removal.person_ids]
            if removal.kind == EventKind.DEATH:
                register.death(
                    DeathCommand(
                        effective_on=removal.effective_on,
                        notified_on=removal.notified_on,
                        person_id=leaving[0],
                        household=ref,
                    )
                )
            else:
                register.move_out(
                    MoveOutCommand(
                        effective_on=removal.effective_on,
                        notified_on=removal.notified_on,
                        person_ids=leaving,
                        household=ref,
                        destination_address=removal.details["destination_address"],
                        destination_lg_code=removal.details["destination_lg_code"],
                    )
                )
            uow.commit()
    with _uow(state, target_id) as uow:
        dst = _household_rows(uow.session, replayed_household)
    assert dst["household"].version == src["household"].version
    assert len(dst["events"]) == len(src["events"])
    for event in src["events"].values():
        twin = next(e for e in dst["events"].values() if e.kind == event.kind)
        assert (twin.effective_on, twin.notified_on, twin.late_days) == (
            event.effective_on,
            event.notified_on,
            event.late_days,
        )
        assert twin.details == {k: v for k, v in event.details.items() if k != "generated"}
        assert [persons[uuid.UUID(p)] for p in event.person_ids] == [
            uuid.UUID(p) for p in twin.person_ids
        ]
    assert len(dst["versions"]) == len(src["versions"])
    for mine, theirs in zip(src["versions"], dst["versions"], strict=True):
        assert persons[mine.person_id] == theirs.person_id
        assert mine.data == theirs.data
        for column in (
            "event_kind",
            "effective_on",
            "status",
            "machiaza_code",
            "birth_date",
            "sex",
            "is_foreign",
        ):
            assert getattr(mine, column) == getattr(theirs, column), column
        assert (mine.my_number_cipher is None) == (theirs.my_number_cipher is None)
        assert mine.recorded_at <= theirs.recorded_at
    for mine_c, theirs_c in zip(src["current"], dst["current"], strict=True):
        assert persons[mine_c.person_id] == theirs_c.person_id
        for column in _CURRENT_COMPARED:
            assert getattr(mine_c, column) == getattr(theirs_c, column), column
        assert (mine_c.my_number_index is None) == (theirs_c.my_number_index is None)
        assert [v.id for v in dst["versions"] if v.person_id == theirs_c.person_id][-1] == (
            theirs_c.version_id
        )
        assert [v.id for v in src["versions"] if v.person_id == mine_c.person_id][-1] == (
            mine_c.version_id
        )


def test_rows_are_exactly_what_the_service_writes(state: AppState, demo: dict[str, int]) -> None:
    source = _tenant(state, SOURCE)
    _generate(state, [SOURCE], 1500)
    target = _tenant(state, REPLAY, machiaza_of=(SOURCE,))
    chosen: dict[str, uuid.UUID] = {}
    with _uow(state, source) as uow:
        for event in uow.session.scalars(select(ResidencyEvent).order_by(ResidencyEvent.id)):
            assert event.household_id is not None
            if event.kind in (EventKind.DEATH, EventKind.MOVE_OUT):
                chosen.setdefault(event.kind, event.household_id)
            elif len(event.person_ids) >= 3:
                chosen.setdefault(f"{event.kind}-family", event.household_id)
        foreign = uow.session.scalar(
            select(ResidentCurrent.household_id).where(ResidentCurrent.is_foreign).limit(1)
        )
        assert foreign is not None
        chosen["foreign"] = foreign
    assert set(chosen) == {
        "death",
        "move_out",
        "foreign",
        "ex_officio_entry-family",
        "move_in-family",
    }
    for household in chosen.values():
        _replay(state, source, target, household)


# --- the service and the search on generated people ---------------------------------------------


def test_service_use_cases_work_on_generated_households(
    state: AppState, demo: dict[str, int]
) -> None:
    tenant_id = _tenant(state, USE_CASES)
    report = _generate(state, [USE_CASES], 120)
    with _uow(state, tenant_id) as uow:
        s = uow.session
        families = collections.defaultdict(list)
        for c in s.scalars(select(ResidentCurrent).where(ResidentCurrent.status == "resident")):
            families[c.household_id].append(c)
        household_id, members = next(
            (h, m) for h, m in sorted(families.items(), key=lambda x: str(x[0])) if len(m) >= 2
        )
        assert household_id is not None
        household = repo.household(s, household_id)
        assert household is not None
        version = household.version
        other = next(m.code for m in repo.machiaza_all(s) if m.code != members[0].machiaza_code)
        s.expunge_all()
    with _uow(state, tenant_id) as uow:
        Register(uow, ACTOR, state.ring, today=TODAY).move_within(
            MoveWithinCommand(
                effective_on=TODAY,
                person_ids=[m.person_id for m in members],
                address=AddressInput(machiaza_code=other, banchi="1番地"),
                household=HouseholdRef(household_id=household_id, version=version),
            )
        )
        uow.commit()
    non_head = next(m for m in members if m.relationship != "世帯主")
    with _uow(state, tenant_id) as uow:
        Register(uow, ACTOR, state.ring, today=TODAY).death(
            DeathCommand(
                effective_on=TODAY,
                person_id=non_head.person_id,
                household=HouseholdRef(household_id=household_id, version=version + 1),
            )
        )
        uow.commit()
    commands = population.move_in_commands(
        USE_CASES,
        2,
        machiaza=[m for m in _machiaza(USE_CASES) if m.code == other],
        home="鹿児島県試験村",
        pools=loader.name_pools(),
        today=TODAY,
    )
    with _uow(state, tenant_id) as uow:
        results = [Register(uow, ACTOR, state.ring, today=TODAY).move_in(c) for c in commands]
        uow.commit()
    with _uow(state, tenant_id) as uow:
        s = uow.session
        moved = [repo.current(s, m.person_id) for m in members]
        assert all(c is not None and c.machiaza_code == other for c in moved)
        dead = repo.current(s, non_head.person_id)
        assert dead is not None and dead.status == RecordStatus.REMOVED
        first_new = repo.person(s, results[0].person_ids[0])
        assert first_new is not None
        # The service continues the sequences the generator advanced.
        assert first_new.atena_number == with_m11(str(report.persons + 1).zfill(9))
        new_household = repo.household(s, results[0].household_ids[0])
        assert new_household is not None
        assert new_household.household_number == with_m11(str(report.households + 1).zfill(9))


def test_kana_search_finds_generated_people(state: AppState, generated: Generated) -> None:
    with _uow(state, generated.ids[A]) as uow:
        s = uow.session
        residents = list(
            s.scalars(
                select(ResidentCurrent)
                .where(ResidentCurrent.status == "resident", ResidentCurrent.kana_key != "")
                .order_by(ResidentCurrent.atena_number)
                .limit(20)
            )
        )
        assert residents
        for person in residents:
            rows, total = repo.search(
                s, repo.SearchQuery(kana=person.kana_key[:3]), limit=1000, offset=0
            )
            assert total >= 1
            assert person.person_id in {r.person_id for r in rows}
            rows, _ = repo.search(s, repo.SearchQuery(kana=person.kana_key), limit=1000, offset=0)
            assert person.person_id in {r.person_id for r in rows}


# --- determinism and re-runs --------------------------------------------------------------------


def _snapshot(state: AppState, tenant_id: int, seed: int) -> list[tuple[Any, ...]]:
    """Generate with ``seed``, read names and numbers back, and roll everything back."""
    with UnitOfWork(state.session_factory) as uow:
        population.generate(
            uow.session,
            state.ring,
            [DETERMINISM],
            60,
            seed=seed,
            today=TODAY,
            pools=loader.name_pools(),
        )
        rows = _people(state, uow, tenant_id)
        uow.rollback()
    return rows


def _people(state: AppState, uow: UnitOfWork, tenant_id: int) -> list[tuple[Any, ...]]:
    """Every version of the tenant's persons: 宛名番号, date, data and 個人番号, in order."""
    uow.set_tenant(TenantContext(TenantId(tenant_id)))
    keys = TenantKeys(uow.session, state.ring)
    rows = []
    for v in uow.session.scalars(select(ResidentRecordVersion)):
        c = repo.current(uow.session, v.person_id)
        assert c is not None
        rows.append(
            (
                c.atena_number,
                v.effective_on,
                json_sorted(v.data),
                keys.decrypt(v.my_number_cipher, context=MY_NUMBER_CONTEXT)
                if v.my_number_cipher
                else None,
            )
        )
    return sorted(rows, key=lambda r: (r[0], r[1]))


def json_sorted(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def test_same_seed_same_people(state: AppState, demo: dict[str, int]) -> None:
    tenant_id = _tenant(state, DETERMINISM)
    first = _snapshot(state, tenant_id, 7)
    again = _snapshot(state, tenant_id, 7)
    other = _snapshot(state, tenant_id, 8)
    assert len(first) >= 60
    assert first == again
    assert [r[2] for r in first] != [r[2] for r in other]


def test_members_generated_side_by_side_are_the_people_one_process_generates(
    state: AppState, demo: dict[str, int]
) -> None:
    """jichitai.demo.generate_residents: on PostgreSQL each member in a process of its own (on
    SQLite one after the other), committed per member, the same people as in one process."""
    counts = {SIDE_A: 90, SIDE_B: 50}
    ids = {code: _tenant(state, code) for code in counts}
    expected = {}
    with UnitOfWork(state.session_factory) as uow:  # one process, rolled back
        for code, count in counts.items():
            population.generate(
                uow.session,
                state.ring,
                [code],
                count,
                seed=SEED,
                today=TODAY,
                pools=loader.name_pools(),
            )
            expected[code] = _people(state, uow, ids[code])
        uow.rollback()
    seen: dict[str, int] = {}

    reports = generate_residents(
        state, counts, seed=SEED, today=TODAY, workers=2, progress=seen.__setitem__
    )

    assert [(r.lg_code, r.persons, r.skipped) for r in reports] == [
        (SIDE_A, 90, False),
        (SIDE_B, 50, False),
    ]
    assert seen == counts  # every member's progress reached its total
    for code in counts:
        with UnitOfWork(state.session_factory) as uow:
            assert _people(state, uow, ids[code]) == expected[code]
            assert len(expected[code]) >= counts[code]


def test_a_failure_while_sending_a_chunk_reaches_the_caller_and_nothing_is_kept(
    state: AppState, demo: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COPY path sends chunks from a thread of its own: its error is raised in the caller's
    thread, and the caller's transaction keeps nothing of the member."""
    if state.engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's; SQLite writes in the caller's thread")
    tenant_id = _tenant(state, FAILING)
    sent: list[int] = []
    original = population._CopyWriter._send

    def fail_on_the_second(self: Any, chunk: Any) -> None:
        sent.append(chunk.counts.persons)
        if len(sent) == 2:
            raise RuntimeError("送信に失敗しました（試験）")
        original(self, chunk)

    monkeypatch.setattr(population._CopyWriter, "_send", fail_on_the_second)
    with UnitOfWork(state.session_factory) as uow:
        with pytest.raises(RuntimeError, match="送信に失敗"):
            population.generate(
                uow.session,
                state.ring,
                [FAILING],
                2_500,  # a first chunk of 1,000 persons, then several smaller ones
                seed=SEED,
                today=TODAY,
                pools=loader.name_pools(),
            )
        uow.rollback()
    assert len(sent) >= 2
    with _uow(state, tenant_id) as uow:
        assert _count(uow.session, Person) == 0
        assert _count(uow.session, ResidentRecordVersion) == 0


def test_rerun_skips_members_that_have_residents(state: AppState, generated: Generated) -> None:
    again = _generate(state, [A, B], RESIDENTS)
    assert again.skipped == (A, B)
    assert again.persons == 0
    with _uow(state, generated.ids[A]) as uow:
        assert _count(uow.session, Person) == population.allocate([A, B], RESIDENTS)[A]


# --- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for key, value in {
        "JICHITAI_DATABASE_URL": url,
        "JICHITAI_VAR_DIR": str(tmp_path / "var"),
        "JICHITAI_MASTER_KEY": "",
        "JICHITAI_MIGRATION_DATABASE_URL": "",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_demo_with_residents_loads_machiaza_and_never_duplicates(cli_env: str) -> None:
    runner = CliRunner()
    first = runner.invoke(cli_app, ["demo", "--residents", "300"])
    assert first.exit_code == 0, first.output
    assert "300" in first.output
    second = runner.invoke(cli_app, ["demo", "--residents", "300"])
    assert second.exit_code == 0, second.output
    assert "省略" in second.output
    engine = create_engine(cli_env)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM persons")).scalar_one() == 300
        per_member: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT m.lg_code, count(*) FROM persons p "
                    "JOIN municipalities m ON m.id = p.tenant_id GROUP BY m.lg_code"
                )
            ).all()
        )
        machiaza = conn.execute(text("SELECT count(*) FROM machiaza")).scalar_one()
    engine.dispose()
    expected = population.allocate([code for code, *_ in MEMBERS], 300)
    assert per_member == {code: n for code, n in expected.items() if n}
    assert machiaza == sum(len(loader.machiaza(code)) for code, *_ in MEMBERS)
    verified = runner.invoke(cli_app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
