"""The register's use cases called directly (service layer), one fresh municipality per test.

Every test runs on SQLite and on PostgreSQL (fixture ``database``). ``today`` is fixed so that
deadlines, lateness and "as of" reads are deterministic; a recording handler on the bus collects
the domain events each use case publishes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import TenantKeys
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.events import DomainEvent, EventBus, OutboxMessage
from core.japanese.checkdigits import is_valid_m11, my_number_check_digit
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from jichitai.state import AppState
from resident_records import queries
from resident_records import repository as repo
from resident_records.events import ResidentEvent
from resident_records.models import (
    EventKind,
    Machiaza,
    RecordStatus,
    RegisterAlert,
    ResidencyEvent,
    ResidentCurrent,
    ResidentRecordVersion,
)
from resident_records.schemas import (
    AddressInput,
    BirthCommand,
    CancelCommand,
    CorrectionCommand,
    DeathCommand,
    EventResult,
    ForeignResidentInput,
    HeadChangeCommand,
    HouseholdChangeCommand,
    HouseholdMergeCommand,
    HouseholdRef,
    HouseholdSplitCommand,
    MoveInCommand,
    MoveOutCommand,
    MoveOutConfirmCommand,
    MoveWithinCommand,
    NameChangeCommand,
    PersonInput,
    RemovalCommand,
)
from resident_records.service import ATENA_SEQUENCE, HOUSEHOLD_SEQUENCE, Register
from tests.helpers import new_tenant

T = TypeVar("T")

TODAY = dt.date(2026, 11, 27)
ACTOR = audit.Actor("staff", "tests")
DAIMON, OSHIMA = "470000-0001", "470000-0002"
MACHIAZA = [(DAIMON, "大門", "ダイモン"), (OSHIMA, "小島", "オシマ")]
HERE = AddressInput(machiaza_code=DAIMON, banchi="1番地")
THERE = AddressInput(machiaza_code=OSHIMA, banchi="2番地", katagaki="コーポ小島101")
PREVIOUS = "富山県富山市新桜町7番38号"


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def my_number(body: str) -> str:
    return body + str(my_number_check_digit(body))


def person(**over: Any) -> PersonInput:
    base: dict[str, Any] = {
        "family_name": "射水",
        "given_name": "太郎",
        "family_name_kana": "イミズ",
        "given_name_kana": "タロウ",
        "birth_date": "昭和50年4月1日",
        "sex": "male",
        "relationship": "世帯主",
    }
    return PersonInput.model_validate(base | over)


def wife(**over: Any) -> PersonInput:
    base = {"given_name": "花子", "given_name_kana": "ハナコ", "sex": "female"}
    return person(**(base | {"relationship": "妻", "birth_date": "昭和52年5月5日"} | over))


def child(given: str = "一郎", kana: str = "イチロウ", **over: Any) -> PersonInput:
    base = {"given_name": given, "given_name_kana": kana, "relationship": "子"}
    return person(**(base | {"birth_date": "平成20年1月10日"} | over))


def foreigner(**over: Any) -> PersonInput:
    base: dict[str, Any] = {
        "family_name": "SMITH",
        "given_name": "JANE",
        "family_name_kana": None,
        "given_name_kana": None,
        "birth_date": "1960-01-01",
        "sex": "female",
        "foreign": ForeignResidentInput(
            name_alphabet="SMITH JANE", nationality="アメリカ合衆国", category="中長期在留者"
        ),
    }
    return person(**(base | over))


@dataclass
class Env:
    """One fresh municipality and the events its use cases published."""

    state: AppState
    tenant_id: int
    published: list[DomainEvent] = field(default_factory=list)

    @property
    def ctx(self) -> TenantContext:
        return TenantContext(TenantId(self.tenant_id))

    def bus(self) -> EventBus:
        bus = EventBus()
        bus.subscribe(DomainEvent, lambda event, _uow: self.published.append(event))
        return bus

    def run(self, action: Callable[[Register], T], *, today: dt.date = TODAY) -> T:
        with UnitOfWork(self.state.session_factory, self.bus()) as uow:
            uow.set_tenant(self.ctx)
            result = action(Register(uow, ACTOR, self.state.ring, today=today))
            uow.commit()
        return result

    def fails(
        self,
        action: Callable[[Register], Any],
        code: str,
        error: type[DomainError] = ValidationFailed,
        *,
        today: dt.date = TODAY,
    ) -> DomainError:
        """The use case is refused with ``code`` and publishes nothing."""
        before = len(self.published)
        with pytest.raises(error) as caught:
            self.run(action, today=today)
        assert caught.value.error_code == code, caught.value.to_dict()
        assert len(self.published) == before
        return caught.value

    def read(self, query: Callable[[Session], T]) -> T:
        with UnitOfWork(self.state.session_factory) as uow:
            uow.set_tenant(self.ctx)
            result = query(uow.session)
            uow.session.expunge_all()  # keep loaded rows readable after the rollback
            return result

    def ref(self, household_id: uuid.UUID) -> HouseholdRef:
        h = self.read(lambda s: repo.household(s, household_id))
        assert h is not None
        return HouseholdRef(household_id=household_id, version=h.version)

    def members(self, household_id: uuid.UUID, on: dt.date = TODAY) -> dict[uuid.UUID, str | None]:
        rows = self.read(lambda s: repo.household_members(s, household_id, on))
        return {m.person_id: m.relationship for m in rows}

    def record(self, person_id: uuid.UUID, **kw: Any) -> Any:
        return self.read(lambda s: queries.record(s, person_id, **kw))

    def current(self, person_id: uuid.UUID) -> ResidentCurrent:
        cur = self.read(lambda s: repo.current(s, person_id))
        assert cur is not None
        return cur

    def versions(self, person_id: uuid.UUID) -> list[ResidentRecordVersion]:
        return list(self.read(lambda s: repo.versions(s, person_id)))

    def alerts(self, household_id: uuid.UUID | None = None, kind: str | None = None) -> list[Any]:
        return list(self.read(lambda s: repo.open_alerts(s, household_id, kind)))

    def names(self) -> list[str]:
        return [e.name for e in self.published]

    def last(self) -> Any:
        return self.published[-1]

    def move_in(
        self,
        persons: list[PersonInput] | None = None,
        *,
        effective_on: dt.date | None = None,
        notified_on: dt.date | None = None,
        kind: EventKind = EventKind.MOVE_IN,
        join: HouseholdRef | None = None,
        address: AddressInput = HERE,
        today: dt.date = TODAY,
        **extra: Any,
    ) -> EventResult:
        cmd = MoveInCommand(
            effective_on=effective_on or today - dt.timedelta(days=3),
            notified_on=notified_on,
            persons=persons or [person()],
            address=address,
            previous_address=PREVIOUS,
            join_household=join,
            **extra,
        )
        return self.run(lambda r: r.move_in(cmd, kind), today=today)

    def family(self, *persons: PersonInput, today: dt.date = TODAY) -> tuple[uuid.UUID, ...]:
        """Move a household in; returns (household_id, *person_ids)."""
        result = self.move_in(list(persons) or [person(), wife(), child()], today=today)
        return (result.household_ids[0], *result.person_ids)


def _new_env(state: AppState) -> Env:
    tid = new_tenant(state)
    env = Env(state, tid)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        for code, name, kana in MACHIAZA:
            uow.session.add(Machiaza(code=code, name=name, kana=kana))
        uow.commit()
    return env


@pytest.fixture
def env(state: AppState) -> Env:
    return _new_env(state)


# === 転入・国外転入・職権記載・特例転入 =======================================================


def test_move_in_creates_a_household_with_its_members(env: Env) -> None:
    number = my_number("23456789012")
    result = env.move_in([person(my_number=number), wife(), child()], effective_on=days_ago(3))
    assert (result.kind, result.label, result.late_days) == ("move_in", "転入", 0)
    assert result.effective_on == days_ago(3)
    assert result.notified_on == TODAY  # 届出日 defaults to today
    (hid,) = result.household_ids
    head, spouse, kid = result.person_ids
    assert env.members(hid) == {head: "世帯主", spouse: "妻", kid: "子"}
    assert env.members(hid, days_ago(4)) == {}  # not residents before the move-in date
    record = env.record(head)
    assert record.status == RecordStatus.RESIDENT
    assert record.event_kind == "move_in"
    assert record.effective_on == days_ago(3)
    assert record.household_id == hid
    assert record.address == "大門 1番地"
    assert record.data["previous_address"] == PREVIOUS
    assert record.data["became_resident_on"] == days_ago(3).isoformat()
    assert record.data["birth_date"]["display"] == "昭和50年4月1日"
    assert record.my_number_masked == "************"
    assert env.record(spouse).my_number_masked is None
    h = env.read(lambda s: repo.household(s, hid))
    assert h is not None and h.version == 1
    assert env.names() == ["resident.moved_in"]
    event = env.last()
    assert event.kind == "move_in"
    assert event.person_ids == [head, spouse, kid]
    assert event.household_ids == [hid]
    assert event.tenant_id == env.tenant_id
    assert event.residency_event_id == result.event_id


def test_numbers_for_a_person_with_a_my_number_come_with_the_tenants_data_keys(env: Env) -> None:
    """The number counters and the data keys in one round trip: the numbers follow on from the
    last ones, and the keys read with them are the tenant's own, as a read of their own gives."""
    env.move_in([person(my_number=my_number("23456789012"))])

    def numbers(r: Register) -> tuple[dict[str, list[str]], Any, Any]:
        got = r._next_numbers({ATENA_SEQUENCE: 2, HOUSEHOLD_SEQUENCE: 1}, with_keys=True)
        assert r.keys.unread() is None  # read with the numbers
        taken = r.keys._rows()
        return got, taken, TenantKeys(r.session, r.ring)._rows()

    got, taken, separately = env.run(numbers)
    last = env.read(lambda s: repo.advance_sequences(s, {ATENA_SEQUENCE: 0, HOUSEHOLD_SEQUENCE: 0}))
    atena, household = got[ATENA_SEQUENCE], got[HOUSEHOLD_SEQUENCE]
    assert [int(n[:-1]) for n in atena] == [last[ATENA_SEQUENCE] - 2, last[ATENA_SEQUENCE] - 1]
    assert [int(n[:-1]) for n in household] == [last[HOUSEHOLD_SEQUENCE] - 1]
    assert all(is_valid_m11(n) for n in atena + household)
    assert taken == separately and {k.purpose for k in taken} >= {"encryption", "blind_index"}


def test_joining_an_existing_household_needs_its_current_version(env: Env) -> None:
    hid, head = env.family(person())
    ref = env.ref(hid)
    joined = env.move_in([wife(), child()], join=ref)
    assert joined.household_ids == [hid]
    spouse, kid = joined.person_ids
    assert env.members(hid) == {head: "世帯主", spouse: "妻", kid: "子"}
    assert env.ref(hid).version == ref.version + 1
    assert env.last().name == "resident.moved_in"
    assert env.last().person_ids == [spouse, kid]
    # The version read before the join is stale now: 409, nothing written.
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[child("次郎", "ジロウ")],
                address=HERE,
                previous_address=PREVIOUS,
                join_household=ref,
            )
        ),
        "household_version_conflict",
        Conflict,
    )
    assert len(env.members(hid)) == 3


def test_a_second_head_is_refused(env: Env) -> None:
    hid, _head = env.family(person())
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[person(given_name="二郎", given_name_kana="ジロウ")],
                address=HERE,
                previous_address=PREVIOUS,
                join_household=env.ref(hid),
            )
        ),
        "multiple_heads",
    )
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[person(), person(given_name="二郎", given_name_kana="ジロウ")],
                address=HERE,
                previous_address=PREVIOUS,
            )
        ),
        "multiple_heads",
    )
    assert len(env.members(hid)) == 1


def test_two_heads_joining_a_headless_household_are_refused(env: Env) -> None:
    hid, _lodger = env.family(person(relationship="同居人"))
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[person(given_name="一", given_name_kana="ハジメ"), person()],
                address=HERE,
                previous_address=PREVIOUS,
                join_household=env.ref(hid),
            )
        ),
        "multiple_heads",
    )


def test_a_household_may_have_no_head(env: Env) -> None:
    hid, a, b = env.family(
        person(relationship="同居人"), child("二郎", "ジロウ", relationship="同居人")
    )
    assert env.members(hid) == {a: "同居人", b: "同居人"}
    assert env.alerts(hid) == []


def test_immigration_is_late_after_fourteen_days_but_ex_officio_entry_never(env: Env) -> None:
    came = env.move_in(
        [foreigner()], kind=EventKind.IMMIGRATION, effective_on=days_ago(20), notified_on=TODAY
    )
    assert (came.kind, came.label, came.late_days) == ("immigration", "国外転入", 6)
    assert env.last().kind == "immigration"
    late = env.alerts(came.household_ids[0], "late_notification")
    assert [a.event_id for a in late] == [came.event_id]
    entered = env.move_in(
        [person(family_name="帰化", family_name_kana="キカ")],
        kind=EventKind.EX_OFFICIO_ENTRY,
        effective_on=days_ago(60),
    )
    assert (entered.kind, entered.label, entered.late_days) == ("ex_officio_entry", "職権記載", 0)
    assert env.alerts(entered.household_ids[0]) == []
    assert env.last().name == "resident.moved_in"
    assert env.last().kind == "ex_officio_entry"
    record = env.record(came.person_ids[0])
    assert record.data["foreign"]["nationality"] == "アメリカ合衆国"
    assert record.data["birth_date"]["display"] == "1960年1月1日"  # Western calendar (J:90)


def test_card_move_in_keeps_the_electronic_transfer(env: Env) -> None:
    transfer = uuid.uuid4()
    result = env.move_in(
        [person()],
        kind=EventKind.CARD_MOVE_IN,
        transfer_id=transfer,
        move_out_certificate={"issuer": "162019", "planned_move_out_on": "2026-11-20"},
    )
    assert (result.kind, result.label) == ("card_move_in", "特例転入")
    assert env.last().name == "resident.moved_in"
    assert env.last().kind == "card_move_in"
    event = env.read(lambda s: repo.event(s, result.event_id))
    assert event is not None
    assert event.details["transfer_id"] == str(transfer)
    assert event.details["move_out_certificate"]["issuer"] == "162019"


def test_a_machiaza_added_to_the_master_is_accepted_at_once_and_only_in_its_tenant(
    env: Env,
) -> None:
    """The master's codes are read once per tenant and process; a code not among them is asked
    again (a master may be extended meanwhile), and one tenant's codes never count for another."""
    code = "470000-0042"

    def move_in(r: Register) -> Any:
        return r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[person()],
                address=AddressInput(machiaza_code=code, banchi="1"),
                previous_address=PREVIOUS,
            )
        )

    env.fails(move_in, "unknown_machiaza")
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        uow.session.add(Machiaza(code=code, name="新町", kana="シンマチ"))
        uow.commit()
    assert env.run(move_in).kind == "move_in"
    Env(env.state, new_tenant(env.state)).fails(move_in, "unknown_machiaza")


def test_move_in_to_an_unknown_machiaza_or_without_kana_is_refused(env: Env) -> None:
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[person()],
                address=AddressInput(machiaza_code="470000-9999", banchi="1"),
                previous_address=PREVIOUS,
            )
        ),
        "unknown_machiaza",
    )
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[person(family_name_kana=None)],
                address=HERE,
                previous_address=PREVIOUS,
            )
        ),
        "missing_kana",
    )


# === 出生 ==================================================================================


def test_birth_joins_the_household_at_its_address(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    version = env.ref(hid).version
    baby = child("三郎", "サブロウ", birth_date="令和8年11月20日")
    born = env.run(
        lambda r: r.birth(
            BirthCommand(effective_on=days_ago(7), person=baby, household=env.ref(hid))
        )
    )
    assert (born.kind, born.label, born.late_days) == ("birth", "出生", 0)
    (new,) = born.person_ids
    assert env.members(hid) == {head: "世帯主", spouse: "妻", kid: "子", new: "子"}
    assert env.members(hid, days_ago(8)) == {head: "世帯主", spouse: "妻", kid: "子"}
    assert env.ref(hid).version == version + 1
    record = env.record(new)
    assert record.address == "大門 1番地"
    assert record.data["birth_date"]["value"] == "2026-11-20"
    assert record.data["became_resident_on"] == "2026-11-20"
    assert env.last().name == "resident.born"
    assert env.last().person_ids == [new]
    assert env.last().household_ids == [hid]


def test_birth_date_must_be_the_effective_date(env: Env) -> None:
    hid, *_ = env.family(today=days_ago(10))
    env.fails(
        lambda r: r.birth(
            BirthCommand(
                effective_on=days_ago(2),
                person=child("三郎", "サブロウ", birth_date="令和8年11月20日"),
                household=env.ref(hid),
            )
        ),
        "birth_date_mismatch",
    )
    assert len(env.members(hid)) == 3


def test_a_future_birth_is_refused(env: Env) -> None:
    hid, *_ = env.family(today=days_ago(10))
    tomorrow = TODAY + dt.timedelta(days=1)
    env.fails(
        lambda r: r.birth(
            BirthCommand(
                effective_on=tomorrow,
                notified_on=TODAY,
                person=child("三郎", "サブロウ", birth_date=tomorrow.isoformat()),
                household=env.ref(hid),
            )
        ),
        "future_effective_date",
    )
    assert len(env.members(hid)) == 3


def test_a_child_born_as_a_second_head_is_refused(env: Env) -> None:
    hid, *_ = env.family(today=days_ago(10))
    env.fails(
        lambda r: r.birth(
            BirthCommand(
                effective_on=days_ago(1),
                person=person(given_name="三郎", birth_date=days_ago(1).isoformat()),
                household=env.ref(hid),
            )
        ),
        "multiple_heads",
    )


# === 転居 ==================================================================================


def test_move_within_of_the_whole_household_keeps_the_household(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    moved = env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2),
                person_ids=[head, spouse, kid],
                address=THERE,
                household=env.ref(hid),
            )
        )
    )
    assert (moved.kind, moved.label, moved.household_ids) == ("move_within", "転居", [hid])
    assert env.members(hid) == {head: "世帯主", spouse: "妻", kid: "子"}
    record = env.record(head)
    assert record.address == "小島 2番地 コーポ小島101"
    assert record.data["previous_address"] == "大門 1番地"
    assert record.data["address_since"] == days_ago(2).isoformat()
    assert record.data["became_resident_on"] == days_ago(13).isoformat()  # unchanged
    assert env.record(head, as_of=days_ago(3)).address == "大門 1番地"
    assert env.last().name == "resident.moved_within"
    assert sorted(env.last().person_ids) == sorted([head, spouse, kid])
    assert env.last().household_ids == [hid]


def test_part_of_a_household_moving_within_forms_a_new_household(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    env.fails(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2), person_ids=[kid], address=THERE, household=env.ref(hid)
            )
        ),
        "relationships_required",
    )
    moved = env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2),
                person_ids=[kid],
                address=THERE,
                household=env.ref(hid),
                new_household_relationships={kid: "世帯主"},
            )
        )
    )
    (new_hid,) = set(moved.household_ids) - {hid}
    assert env.members(hid) == {head: "世帯主", spouse: "妻"}
    assert env.members(new_hid) == {kid: "世帯主"}
    before = env.record(kid, as_of=days_ago(3))
    assert (before.household_id, before.data["relationship"]) == (hid, "子")
    assert env.record(kid).household_id == new_hid
    old, new = env.read(lambda s: (repo.household(s, hid), repo.household(s, new_hid)))
    assert old is not None and new is not None
    assert new.household_number != old.household_number
    assert is_valid_m11(new.household_number)
    assert env.alerts(hid) == []  # the head stayed
    assert set(env.last().household_ids) == {hid, new_hid}


def test_head_moving_within_alone_leaves_two_members_and_an_alert(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    moved = env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2),
                person_ids=[head],
                address=THERE,
                household=env.ref(hid),
                new_household_relationships={head: "世帯主"},
            )
        )
    )
    assert any("世帯主変更" in a for a in moved.alerts)
    (alert,) = env.alerts(hid, "head_change_required")
    assert alert.event_id == moved.event_id
    assert env.members(hid) == {spouse: "妻", kid: "子"}
    changed = env.run(
        lambda r: r.head_change(
            HeadChangeCommand(
                effective_on=days_ago(1),
                household=env.ref(hid),
                relationships={spouse: "世帯主", kid: "子"},
            )
        )
    )
    assert env.members(hid) == {spouse: "世帯主", kid: "子"}
    assert env.alerts(hid, "head_change_required") == []
    resolved = env.read(
        lambda s: s.scalar(select(RegisterAlert).where(RegisterAlert.id == alert.id))
    )
    assert resolved is not None and resolved.resolved_by_event_id == changed.event_id
    assert env.last().name == "household.changed"
    assert env.last().kind == "head_change"


def test_head_moving_within_with_one_member_makes_the_last_one_head(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    moved = env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2),
                person_ids=[head, spouse],
                address=THERE,
                household=env.ref(hid),
                new_household_relationships={head: "世帯主", spouse: "妻"},
            )
        )
    )
    assert env.members(hid) == {kid: "世帯主"}
    assert any("世帯主になりました" in a for a in moved.alerts)
    assert env.alerts(hid, "head_change_required") == []
    assert env.record(kid).event_kind == "move_within"


def test_part_moving_within_cannot_form_a_household_with_two_heads(env: Env) -> None:
    hid, _head, spouse, kid = env.family(today=days_ago(10))
    env.fails(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2),
                person_ids=[spouse, kid],
                address=THERE,
                household=env.ref(hid),
                new_household_relationships={spouse: "世帯主", kid: "世帯主"},
            )
        ),
        "multiple_heads",
    )


# === 転出・国外転出・転出確定 ==================================================================


def _move_out(
    env: Env,
    hid: uuid.UUID,
    ids: list[uuid.UUID],
    planned: dt.date,
    *,
    kind: EventKind = EventKind.MOVE_OUT,
    today: dt.date = TODAY,
) -> EventResult:
    cmd = MoveOutCommand(
        effective_on=planned,
        person_ids=ids,
        household=env.ref(hid),
        destination_address="石川県金沢市広坂1丁目1番1号",
        destination_lg_code="172014",
    )
    return env.run(lambda r: r.move_out(cmd, kind), today=today)


def test_move_out_with_a_future_planned_date(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    planned = TODAY + dt.timedelta(days=10)
    out = _move_out(env, hid, [kid], planned)
    assert (out.kind, out.label, out.effective_on) == ("move_out", "転出", planned)
    assert env.members(hid) == {head: "世帯主", spouse: "妻", kid: "子"}  # still a resident
    assert env.members(hid, planned - dt.timedelta(days=1))[kid] == "子"
    assert env.members(hid, planned) == {head: "世帯主", spouse: "妻"}
    assert env.record(kid, as_of=TODAY).status == RecordStatus.RESIDENT
    on_planned = env.record(kid, as_of=planned)
    assert on_planned.status == RecordStatus.REMOVED
    assert on_planned.data["removal"]["planned_move_out_on"] == planned.isoformat()
    assert on_planned.data["removal"]["removed_on"] == planned.isoformat()
    assert on_planned.data["removal"]["destination_lg_code"] == "172014"
    cur = env.read(lambda s: repo.current(s, kid))
    assert cur is not None and cur.resident_until == planned
    assert env.last().name == "resident.moved_out"
    assert (env.last().kind, env.last().destination_lg_code) == ("move_out", "172014")
    assert env.last().person_ids == [kid]


def test_emigration(env: Env) -> None:
    hid, head = env.family(person(), today=days_ago(10))
    out = _move_out(env, hid, [head], days_ago(1), kind=EventKind.EMIGRATION)
    assert (out.kind, out.label) == ("emigration", "国外転出")
    assert env.members(hid) == {}
    assert env.record(head).status == RecordStatus.REMOVED
    assert env.last().name == "resident.moved_out"
    assert env.last().kind == "emigration"


def test_confirmation_earlier_than_planned_removes_on_the_earlier_date(env: Env) -> None:
    notified = dt.date(2026, 11, 1)
    hid, head, spouse = env.family(person(), wife(), today=dt.date(2026, 10, 1))
    planned = dt.date(2026, 11, 20)
    _move_out(env, hid, [head, spouse], planned, today=notified)
    actual = dt.date(2026, 11, 12)
    confirmed = env.run(
        lambda r: r.confirm_move_out(
            MoveOutConfirmCommand(
                person_ids=[head, spouse], moved_in_on=actual, destination_lg_code="172014"
            )
        )
    )
    assert (confirmed.kind, confirmed.effective_on) == ("move_out_confirmed", actual)
    for pid in (head, spouse):
        between = env.record(pid, as_of=dt.date(2026, 11, 15))
        assert between.status == RecordStatus.REMOVED
        removal = between.data["removal"]
        assert removal["planned_move_out_on"] == planned.isoformat()
        assert removal["move_out_confirmed_on"] == actual.isoformat()
        assert removal["removed_on"] == actual.isoformat()
        assert env.record(pid, as_of=planned).data["removal"] == removal
        assert env.record(pid, as_of=dt.date(2026, 11, 11)).status == RecordStatus.RESIDENT
        assert env.current(pid).resident_until == actual
    assert env.members(hid, dt.date(2026, 11, 11)) == {head: "世帯主", spouse: "妻"}
    assert env.members(hid, dt.date(2026, 11, 12)) == {}
    assert env.last().name == "resident.move_out_confirmed"
    assert env.last().person_ids == [head, spouse]
    # Confirmed once; there is no pending move-out any more.
    env.fails(
        lambda r: r.confirm_move_out(MoveOutConfirmCommand(person_ids=[head], moved_in_on=actual)),
        "no_move_out",
    )


def test_confirmation_later_than_planned_keeps_the_planned_date(env: Env) -> None:
    hid, head = env.family(person(), today=dt.date(2026, 10, 1))
    planned = dt.date(2026, 11, 10)
    _move_out(env, hid, [head], planned, today=dt.date(2026, 11, 1))
    env.run(
        lambda r: r.confirm_move_out(
            MoveOutConfirmCommand(person_ids=[head], moved_in_on=dt.date(2026, 11, 14))
        )
    )
    removal = env.record(head).data["removal"]
    assert removal["removed_on"] == planned.isoformat()
    assert removal["move_out_confirmed_on"] == "2026-11-14"
    assert env.record(head, as_of=dt.date(2026, 11, 9)).status == RecordStatus.RESIDENT


def test_confirmation_without_a_move_out_is_refused(env: Env) -> None:
    _hid, head = env.family(person(), today=days_ago(10))
    env.fails(
        lambda r: r.confirm_move_out(
            MoveOutConfirmCommand(person_ids=[head], moved_in_on=days_ago(1))
        ),
        "no_move_out",
    )
    env.fails(
        lambda r: r.confirm_move_out(
            MoveOutConfirmCommand(person_ids=[head], moved_in_on=TODAY + dt.timedelta(days=1))
        ),
        "future_effective_date",
    )


def test_confirmation_uses_each_persons_own_planned_date(env: Env) -> None:
    hid, _head, spouse, kid = env.family(today=dt.date(2026, 10, 1))
    _move_out(env, hid, [spouse], dt.date(2026, 11, 20), today=dt.date(2026, 11, 1))
    _move_out(env, hid, [kid], dt.date(2026, 11, 5), today=dt.date(2026, 11, 1))
    env.run(
        lambda r: r.confirm_move_out(
            MoveOutConfirmCommand(person_ids=[spouse, kid], moved_in_on=dt.date(2026, 11, 12))
        )
    )
    assert env.record(spouse).data["removal"]["removed_on"] == "2026-11-12"
    assert env.record(kid).data["removal"]["removed_on"] == "2026-11-05"
    assert env.record(kid, as_of=dt.date(2026, 11, 6)).status == RecordStatus.REMOVED


def test_confirmation_after_a_correction_of_a_moved_out_person(env: Env) -> None:
    hid, head = env.family(person(), today=dt.date(2026, 10, 1))
    _move_out(env, hid, [head], dt.date(2026, 11, 20), today=dt.date(2026, 11, 1))
    env.run(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY, person_id=head, changes={"given_name": "大郎"}, reason="誤記"
            ),
            EventKind.CLERICAL_CORRECTION,
        )
    )
    env.run(
        lambda r: r.confirm_move_out(
            MoveOutConfirmCommand(person_ids=[head], moved_in_on=dt.date(2026, 11, 12))
        )
    )
    assert env.record(head).data["removal"]["removed_on"] == "2026-11-12"


# === 死亡・職権消除・世帯主の規則 ================================================================


def test_death_with_one_member_left_makes_that_member_head(env: Env) -> None:
    hid, head, spouse = env.family(person(), wife(), today=days_ago(10))
    died = env.run(
        lambda r: r.death(
            DeathCommand(
                effective_on=days_ago(1),
                person_id=head,
                household=env.ref(hid),
                date_of_death_text="令和8年11月26日頃",
            )
        )
    )
    assert (died.kind, died.label) == ("death", "死亡")
    assert env.members(hid) == {spouse: "世帯主"}
    record = env.record(head)
    assert record.status == RecordStatus.REMOVED
    assert record.data["removal"]["reason"] == "死亡"
    assert record.data["removal"]["date_of_death_text"] == "令和8年11月26日頃"
    assert record.data["removal"]["removed_on"] == days_ago(1).isoformat()
    assert env.record(spouse).event_kind == "death"  # the head rule rode on the same event
    assert env.alerts(hid, "head_change_required") == []
    assert env.last().name == "resident.died"
    assert env.last().person_ids == [head]


def test_ex_officio_removal_with_two_left_needs_a_head_change(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    removed = env.run(
        lambda r: r.ex_officio_removal(
            RemovalCommand(
                effective_on=days_ago(1),
                person_id=head,
                household=env.ref(hid),
                reason="実態調査の結果、居住の事実なし",
            )
        )
    )
    assert (removed.kind, removed.label) == ("ex_officio_removal", "職権消除")
    assert env.last().name == "resident.removed"
    assert env.record(head).data["removal"]["ex_officio_reason"] == "実態調査の結果、居住の事実なし"
    assert env.members(hid) == {spouse: "妻", kid: "子"}  # nobody became head by itself
    assert [a.event_id for a in env.alerts(hid, "head_change_required")] == [removed.event_id]
    # 世帯主変更 needs every member's 続柄 and exactly one head.
    env.fails(
        lambda r: r.head_change(
            HeadChangeCommand(
                effective_on=TODAY, household=env.ref(hid), relationships={spouse: "世帯主"}
            )
        ),
        "relationships_required",
    )
    env.fails(
        lambda r: r.head_change(
            HeadChangeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                relationships={spouse: "世帯主", kid: "世帯主"},
            )
        ),
        "head_required",
    )
    env.fails(
        lambda r: r.head_change(
            HeadChangeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                relationships={spouse: "妻", kid: "子"},
            )
        ),
        "head_required",
    )
    assert env.alerts(hid, "head_change_required") != []
    env.run(
        lambda r: r.head_change(
            HeadChangeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                relationships={spouse: "母", kid: "世帯主"},
            )
        )
    )
    assert env.members(hid) == {spouse: "母", kid: "世帯主"}
    assert env.alerts(hid, "head_change_required") == []


def test_removing_a_non_resident_or_someone_of_another_household_is_refused(env: Env) -> None:
    hid, head = env.family(person(), today=days_ago(10))
    other, lodger = env.family(person(relationship="同居人"), today=days_ago(10))
    env.fails(
        lambda r: r.death(
            DeathCommand(effective_on=days_ago(1), person_id=lodger, household=env.ref(hid))
        ),
        "not_in_household",
    )
    env.run(
        lambda r: r.death(
            DeathCommand(effective_on=days_ago(1), person_id=head, household=env.ref(hid))
        )
    )
    env.fails(
        lambda r: r.death(DeathCommand(effective_on=TODAY, person_id=head, household=env.ref(hid))),
        "not_a_resident",
    )
    assert env.members(other) == {lodger: "同居人"}


def test_head_rule_keeps_the_planned_move_out_of_the_remaining_member(env: Env) -> None:
    hid, head, kid = env.family(person(), child(), today=days_ago(10))
    planned = TODAY + dt.timedelta(days=10)
    _move_out(env, hid, [kid], planned)
    env.run(
        lambda r: r.death(DeathCommand(effective_on=TODAY, person_id=head, household=env.ref(hid)))
    )
    assert env.members(hid) == {kid: "世帯主"}
    assert env.members(hid, planned) == {}  # the planned move-out still removes the child
    cur = env.read(lambda s: repo.current(s, kid))
    assert cur is not None and cur.resident_until == planned


def test_member_left_by_a_planned_move_out_can_still_die_before_that_date(env: Env) -> None:
    hid, head, spouse = env.family(person(), wife(), today=days_ago(10))
    _move_out(env, hid, [head], TODAY + dt.timedelta(days=10))
    env.run(
        lambda r: r.death(
            DeathCommand(effective_on=TODAY, person_id=spouse, household=env.ref(hid))
        )
    )
    assert env.record(spouse, as_of=TODAY).status == RecordStatus.REMOVED
    assert env.members(hid) == {head: "世帯主"}


# === 世帯分離・世帯合併・世帯変更・世帯主変更 ============================================


def test_household_split_forms_a_new_household_with_its_own_head(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    env.fails(
        lambda r: r.household_split(
            HouseholdSplitCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                relationships={head: "世帯主", spouse: "妻", kid: "子"},
            )
        ),
        "invalid_split",
    )
    env.fails(
        lambda r: r.household_split(
            HouseholdSplitCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                relationships={spouse: "世帯主", kid: "世帯主"},
            )
        ),
        "multiple_heads",
    )
    split = env.run(
        lambda r: r.household_split(
            HouseholdSplitCommand(
                effective_on=TODAY, household=env.ref(hid), relationships={kid: "世帯主"}
            )
        )
    )
    assert (split.kind, split.label) == ("household_split", "世帯分離")
    (new_hid,) = set(split.household_ids) - {hid}
    assert env.members(hid) == {head: "世帯主", spouse: "妻"}
    assert env.members(new_hid) == {kid: "世帯主"}
    assert env.record(kid).address == "大門 1番地"  # same address
    assert env.last().name == "household.changed"
    assert env.last().kind == "household_split"
    assert set(env.last().household_ids) == {hid, new_hid}


def test_household_merge_moves_every_member_of_the_merged_household(env: Env) -> None:
    hid, head, spouse = env.family(person(), wife(), today=days_ago(10))
    other, mother, sister = env.family(
        person(
            given_name="トメ", given_name_kana="トメ", sex="female", birth_date="昭和20年1月1日"
        ),
        child("次子", "ツギコ", sex="female", relationship="子"),
        today=days_ago(10),
    )
    env.fails(
        lambda r: r.household_merge(
            HouseholdMergeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                merged=env.ref(other),
                relationships={mother: "母"},
            )
        ),
        "invalid_merge",
    )
    env.fails(
        lambda r: r.household_merge(
            HouseholdMergeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                merged=env.ref(other),
                relationships={mother: "世帯主", sister: "姉"},
            )
        ),
        "multiple_heads",
    )
    merged = env.run(
        lambda r: r.household_merge(
            HouseholdMergeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                merged=env.ref(other),
                relationships={mother: "母", sister: "姉"},
            )
        )
    )
    assert (merged.kind, merged.label) == ("household_merge", "世帯合併")
    assert env.members(hid) == {head: "世帯主", spouse: "妻", mother: "母", sister: "姉"}
    assert env.members(other) == {}
    assert env.record(mother, as_of=days_ago(1)).household_id == other
    assert env.record(mother).data["relationship"] == "母"
    assert env.alerts(other) == []  # the merged household simply ends
    assert env.last().kind == "household_merge"
    assert sorted(env.last().person_ids) == sorted([mother, sister])


def test_household_as_of_a_past_date_shows_the_members_of_that_date(env: Env) -> None:
    hid, _head = env.family(person(), today=days_ago(10))
    other, mother, sister = env.family(
        person(given_name="トメ", given_name_kana="トメ", sex="female"),
        child("次子", "ツギコ", sex="female"),
        today=days_ago(10),
    )
    env.run(
        lambda r: r.household_merge(
            HouseholdMergeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                merged=env.ref(other),
                relationships={mother: "母", sister: "姉"},
            )
        )
    )
    then = env.read(lambda s: queries.household(s, other, on=days_ago(1)))
    assert [(m.person_id, m.relationship) for m in then.members] == [
        (mother, "世帯主"),
        (sister, "子"),
    ]


def test_household_change_moves_members_to_another_existing_household(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    other, grandma = env.family(
        person(given_name="トメ", given_name_kana="トメ", sex="female"), today=days_ago(10)
    )
    env.fails(
        lambda r: r.household_change(
            HouseholdChangeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                target=env.ref(other),
                relationships={head: "世帯主"},
            )
        ),
        "multiple_heads",
    )
    env.fails(
        lambda r: r.household_change(
            HouseholdChangeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                target=env.ref(other),
                relationships={grandma: "子"},
            )
        ),
        "invalid_change",
    )
    changed = env.run(
        lambda r: r.household_change(
            HouseholdChangeCommand(
                effective_on=TODAY,
                household=env.ref(hid),
                target=env.ref(other),
                relationships={kid: "子の子"},
            )
        )
    )
    assert (changed.kind, changed.label) == ("household_change", "世帯変更")
    assert env.members(hid) == {head: "世帯主", spouse: "妻"}
    assert env.members(other) == {grandma: "世帯主", kid: "子の子"}
    assert env.last().name == "household.changed"
    assert env.last().kind == "household_change"


# === 職権修正・誤記修正 =====================================================================


def test_corrections_append_a_version_on_the_same_effective_date(env: Env) -> None:
    _hid, head = env.family(person(family_name="誤記"), today=days_ago(10))
    first = env.record(head)
    fixed = env.run(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY,
                person_id=head,
                changes={"family_name": "吾木"},
                reason="入力誤り",
            ),
            EventKind.CLERICAL_CORRECTION,
        )
    )
    assert (fixed.kind, fixed.label) == ("clerical_correction", "誤記修正")
    second = env.record(head)
    assert second.data["family_name"] == "吾木"
    assert second.effective_on == first.effective_on == days_ago(13)
    assert second.recorded_at > first.recorded_at
    known_before = env.record(head, as_of=TODAY, known_at=first.recorded_at)
    assert known_before.data["family_name"] == "誤記"
    assert env.last().name == "resident.corrected"
    assert (env.last().kind, env.last().fields) == ("clerical_correction", ["family_name"])
    env.run(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY,
                person_id=head,
                changes={"honseki": "富山県射水市新開発410番地1", "koseki_head": "吾木 太郎"},
                reason="戸籍照会の結果",
            ),
            EventKind.EX_OFFICIO_CORRECTION,
        )
    )
    assert env.last().kind == "ex_officio_correction"
    assert env.last().fields == ["honseki", "koseki_head"]
    history = env.read(lambda s: queries.history(s, head))
    assert [h["event_kind"] for h in history] == [
        "move_in",
        "clerical_correction",
        "ex_officio_correction",
    ]
    assert [h["data"]["family_name"] for h in history] == ["誤記", "吾木", "吾木"]
    assert {h["effective_on"] for h in history} == {days_ago(13)}
    cur = env.read(lambda s: repo.current(s, head))
    assert cur is not None and cur.family_name == "吾木"


def test_correcting_an_unknown_field_is_refused(env: Env) -> None:
    _hid, head = env.family(person(), today=days_ago(10))
    for changes in ({"nickname": "タロ"}, {"relationship": "子"}, {"my_number": "1"}):
        cmd = CorrectionCommand(effective_on=TODAY, person_id=head, changes=changes, reason="x")
        env.fails(
            partial(Register.correct, cmd=cmd, kind=EventKind.EX_OFFICIO_CORRECTION),
            "unknown_field",
        )
    env.fails(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY, person_id=head, changes={"sex": "other"}, reason="試験"
            ),
            EventKind.EX_OFFICIO_CORRECTION,
        ),
        "validation_error",
    )
    assert len(env.versions(head)) == 1


def test_birth_date_corrected_to_an_uncertain_form_prints_as_entered(env: Env) -> None:
    _hid, head = env.family(person(), today=days_ago(10))
    env.run(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY,
                person_id=head,
                changes={"birth_date": "昭和30年頃"},
                reason="戸籍の記載による",
            ),
            EventKind.EX_OFFICIO_CORRECTION,
        )
    )
    birth = env.record(head).data["birth_date"]
    assert birth["text"] == birth["display"] == "昭和30年頃"
    assert birth["kind"] == "about_year"
    assert birth["value"] == "1955-01-01"
    version = env.versions(head)[-1]
    assert version.birth_date == dt.date(1955, 1, 1)


def test_correction_cannot_erase_the_kana_of_a_japanese_resident(env: Env) -> None:
    _hid, head = env.family(person(), today=days_ago(10))
    env.fails(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY,
                person_id=head,
                changes={"family_name_kana": None},
                reason="誤記",
            ),
            EventKind.CLERICAL_CORRECTION,
        ),
        "missing_kana",
    )


def test_correction_before_a_planned_move_out_fixes_todays_record(env: Env) -> None:
    hid, head = env.family(person(family_name="誤記"), today=days_ago(10))
    _move_out(env, hid, [head], TODAY + dt.timedelta(days=10))
    env.run(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY, person_id=head, changes={"family_name": "吾木"}, reason="誤記"
            ),
            EventKind.CLERICAL_CORRECTION,
        )
    )
    assert env.record(head, as_of=TODAY).data["family_name"] == "吾木"


# === 氏名・旧氏・通称 =======================================================================


def test_name_former_surname_and_alias_changes(env: Env) -> None:
    _hid, head = env.family(person(), today=days_ago(10))
    renamed = env.run(
        lambda r: r.change_name(
            NameChangeCommand(
                effective_on=days_ago(5),
                person_id=head,
                family_name="高岡",
                family_name_kana="タカオカ",
            )
        )
    )
    assert (renamed.kind, renamed.label) == ("name_change", "氏名変更")
    assert env.last().name == "resident.corrected"
    assert env.last().fields == ["family_name", "family_name_kana"]
    assert env.record(head).data["family_name"] == "高岡"
    assert env.record(head, as_of=days_ago(6)).data["family_name"] == "射水"
    former = env.run(
        lambda r: r.change_name(
            NameChangeCommand(
                effective_on=days_ago(4),
                person_id=head,
                former_surname="射水",
                former_surname_kana="イミズ",
            )
        )
    )
    assert (former.kind, former.label) == ("former_surname_change", "旧氏変更")
    assert env.record(head).data["former_surname"] == "射水"
    env.fails(
        lambda r: r.change_name(
            NameChangeCommand(effective_on=days_ago(3), person_id=head, alias_name="タロー")
        ),
        "alias_for_foreigners_only",
    )
    env.fails(
        lambda r: r.change_name(NameChangeCommand(effective_on=days_ago(3), person_id=head)),
        "nothing_to_change",
    )
    cur = env.read(lambda s: repo.current(s, head))
    assert cur is not None and cur.family_name == "高岡"


def test_alias_of_a_foreign_resident_keeps_its_history(env: Env) -> None:
    _hid, jane = env.family(foreigner(), today=days_ago(10))
    for day, alias in ((days_ago(5), "山田 花子"), (days_ago(2), "川田 花子")):
        cmd = NameChangeCommand(
            effective_on=day, person_id=jane, alias_name=alias, alias_name_kana="ハナコ"
        )
        changed = env.run(partial(Register.change_name, cmd=cmd))
        assert (changed.kind, changed.label) == ("alias_change", "通称変更")
        assert env.last().kind == "alias_change"
    aliases = [
        (v.event_kind, (v.data["foreign"] or {}).get("alias_name")) for v in env.versions(jane)
    ]
    assert aliases == [
        ("move_in", None),
        ("alias_change", "山田 花子"),
        ("alias_change", "川田 花子"),
    ]
    assert env.record(jane, as_of=days_ago(3)).data["foreign"]["alias_name"] == "山田 花子"
    cur = env.read(lambda s: repo.current(s, jane))
    assert cur is not None and cur.kana_key != ""  # found by the alias's reading


# === 取消 =================================================================================


def _cancel(env: Env, event_id: uuid.UUID, reason: str = "届出の取り違え") -> EventResult:
    return env.run(lambda r: r.cancel(event_id, CancelCommand(reason=reason)))


def test_cancelling_a_move_in_voids_the_persons(env: Env) -> None:
    moved = env.move_in([person(), child()], effective_on=days_ago(3))
    hid = moved.household_ids[0]
    cancelled = _cancel(env, moved.event_id)
    assert (cancelled.kind, cancelled.label) == ("cancellation", "取消")
    assert cancelled.effective_on == days_ago(3)
    assert env.members(hid) == {}
    for pid in moved.person_ids:
        assert [v.status for v in env.versions(pid)] == ["resident", "voided"]
        assert env.record(pid).status == RecordStatus.VOIDED
    found, total = env.read(
        lambda s: repo.search(
            s, repo.SearchQuery(kana="イミズ", include_removed=True), limit=10, offset=0
        )
    )
    assert total == 0 and list(found) == []
    env.fails(
        lambda r: r.death(
            DeathCommand(effective_on=TODAY, person_id=moved.person_ids[0], household=env.ref(hid))
        ),
        "resident_not_found",
        NotFound,
    )
    event = env.last()
    assert event.name == "resident.event_cancelled"
    assert (event.cancelled_event_id, event.cancelled_kind) == (moved.event_id, "move_in")
    assert event.person_ids == sorted(moved.person_ids)
    stored = env.read(lambda s: repo.event(s, cancelled.event_id))
    assert stored is not None and stored.cancels_event_id == moved.event_id


def test_cancelling_a_move_out_restores_residency(env: Env) -> None:
    hid, head, spouse = env.family(person(), wife(), today=days_ago(10))
    planned = TODAY + dt.timedelta(days=5)
    out = _move_out(env, hid, [spouse], planned)
    version = env.ref(hid).version
    _cancel(env, out.event_id, "転出の取りやめ")
    assert env.ref(hid).version == version + 1  # a clerk holding the old version must reload
    assert env.members(hid, planned) == {head: "世帯主", spouse: "妻"}
    cur = env.read(lambda s: repo.current(s, spouse))
    assert cur is not None
    assert (cur.status, cur.resident_until) == (RecordStatus.RESIDENT, None)
    assert env.record(spouse, as_of=planned).status == RecordStatus.RESIDENT
    assert [v.event_kind for v in env.versions(spouse)] == ["move_in", "move_out", "cancellation"]


def test_cancelling_a_death_restores_the_person_and_the_old_head(env: Env) -> None:
    hid, head, spouse = env.family(person(), wife(), today=days_ago(10))
    died = env.run(
        lambda r: r.death(
            DeathCommand(effective_on=days_ago(1), person_id=head, household=env.ref(hid))
        )
    )
    assert env.members(hid) == {spouse: "世帯主"}
    _cancel(env, died.event_id, "別人の死亡届")
    assert env.members(hid) == {head: "世帯主", spouse: "妻"}
    assert env.record(head).status == RecordStatus.RESIDENT
    assert [v.status for v in env.versions(head)] == ["resident", "removed", "resident"]
    assert [v.data["relationship"] for v in env.versions(spouse)] == ["妻", "世帯主", "妻"]
    assert sorted(env.last().person_ids) == sorted([head, spouse])


def test_cancelling_a_confirmation_restores_the_planned_removal(env: Env) -> None:
    hid, head, spouse = env.family(person(), wife(), today=dt.date(2026, 10, 1))
    planned, actual = dt.date(2026, 11, 20), dt.date(2026, 11, 12)
    _move_out(env, hid, [head, spouse], planned, today=dt.date(2026, 11, 1))
    confirmed = env.run(
        lambda r: r.confirm_move_out(
            MoveOutConfirmCommand(person_ids=[head, spouse], moved_in_on=actual)
        )
    )
    _cancel(env, confirmed.event_id, "別人の転入通知")
    for pid in (head, spouse):
        assert env.record(pid, as_of=dt.date(2026, 11, 15)).status == RecordStatus.RESIDENT
        on_planned = env.record(pid, as_of=planned)
        assert on_planned.status == RecordStatus.REMOVED
        assert "move_out_confirmed_on" not in on_planned.data["removal"]
        assert env.current(pid).resident_until == planned
    assert env.members(hid, dt.date(2026, 11, 15)) == {head: "世帯主", spouse: "妻"}
    assert env.last().cancelled_kind == "move_out_confirmed"


def test_cancel_twice_cancel_of_a_cancel_and_later_events(env: Env) -> None:
    moved = env.move_in([person()], effective_on=days_ago(5))
    hid, head = moved.household_ids[0], moved.person_ids[0]
    env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2), person_ids=[head], address=THERE, household=env.ref(hid)
            )
        )
    )
    err = env.fails(
        lambda r: r.cancel(moved.event_id, CancelCommand(reason="x")), "later_events_exist"
    )
    assert err.details == {"person_id": str(head)}
    later = env.read(lambda s: repo.versions(s, head))[-1].event_id
    cancelled = _cancel(env, later)
    env.fails(lambda r: r.cancel(later, CancelCommand(reason="x")), "already_cancelled", Conflict)
    env.fails(lambda r: r.cancel(cancelled.event_id, CancelCommand(reason="x")), "cannot_cancel")
    env.fails(
        lambda r: r.cancel(uuid.uuid4(), CancelCommand(reason="x")), "event_not_found", NotFound
    )
    assert env.record(head).address == "大門 1番地"
    assert [v.event_kind for v in env.versions(head)] == ["move_in", "move_within", "cancellation"]


# === 日付の規則 ============================================================================


def test_future_dates_are_refused_except_a_planned_move_out(env: Env) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=tomorrow, persons=[person()], address=HERE, previous_address=PREVIOUS
            )
        ),
        "future_effective_date",
    )
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=TODAY,
                notified_on=tomorrow,
                persons=[person()],
                address=HERE,
                previous_address=PREVIOUS,
            )
        ),
        "future_notified_date",
    )
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                notified_on=days_ago(2),
                persons=[person()],
                address=HERE,
                previous_address=PREVIOUS,
            )
        ),
        "notified_before_effective",
    )
    env.fails(
        lambda r: r.move_in(
            MoveInCommand(
                effective_on=days_ago(1),
                persons=[person(birth_date=tomorrow.isoformat())],
                address=HERE,
                previous_address=PREVIOUS,
            )
        ),
        "future_birth_date",
    )
    hid, head, spouse = env.family(person(), wife(), today=days_ago(10))
    env.fails(
        lambda r: r.death(
            DeathCommand(effective_on=tomorrow, person_id=head, household=env.ref(hid))
        ),
        "future_effective_date",
    )
    env.fails(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=tomorrow,
                person_ids=[head, spouse],
                address=THERE,
                household=env.ref(hid),
            )
        ),
        "future_effective_date",
    )
    env.fails(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=tomorrow, person_id=head, changes={"given_name": "大郎"}, reason="x"
            ),
            EventKind.CLERICAL_CORRECTION,
        ),
        "future_effective_date",
    )
    env.fails(
        lambda r: r.move_out(
            MoveOutCommand(
                effective_on=tomorrow,
                notified_on=tomorrow,
                person_ids=[head],
                household=env.ref(hid),
                destination_address="金沢市",
            )
        ),
        "future_notified_date",
    )
    # A 転出 is notified before the planned date: future 異動日 and 届出日 < 異動日 are fine.
    out = _move_out(env, hid, [head, spouse], TODAY + dt.timedelta(days=30))
    assert out.notified_on == TODAY
    assert out.late_days == 0


def test_fifteen_days_is_late_fourteen_is_not(env: Env) -> None:
    on_time = env.move_in([person()], effective_on=days_ago(14))
    assert on_time.late_days == 0
    assert env.alerts(on_time.household_ids[0], "late_notification") == []
    late = env.move_in([person(family_name_kana="オクレ")], effective_on=days_ago(15))
    assert late.late_days == 1
    (alert,) = env.alerts(late.household_ids[0], "late_notification")
    assert alert.event_id == late.event_id
    assert "1日過ぎています" in alert.message
    stored = env.read(lambda s: repo.event(s, late.event_id))
    assert stored is not None and stored.late_days == 1
    # The deadline counts from 異動日 to 届出日, not to the processing day.
    hid, *_ = env.family(today=days_ago(40))
    moved = env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(30),
                notified_on=days_ago(16),
                person_ids=list(env.members(hid)),
                address=THERE,
                household=env.ref(hid),
            )
        )
    )
    assert moved.late_days == 0
    moved = env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(10),
                person_ids=list(env.members(hid)),
                address=HERE,
                household=env.ref(hid),
            ),
        ),
        today=days_ago(10) + dt.timedelta(days=20),
    )
    assert moved.late_days == 6


def test_an_event_dated_before_the_latest_entry_is_refused(env: Env) -> None:
    hid, head, spouse = env.family(person(), wife(), today=days_ago(10))
    env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2),
                person_ids=[head, spouse],
                address=THERE,
                household=env.ref(hid),
            )
        )
    )
    env.fails(
        lambda r: r.death(
            DeathCommand(effective_on=days_ago(5), person_id=head, household=env.ref(hid))
        ),
        "effective_date_before_latest",
    )
    env.fails(
        lambda r: r.change_name(
            NameChangeCommand(effective_on=days_ago(3), person_id=head, given_name="大郎")
        ),
        "effective_date_before_latest",
    )
    assert env.members(hid) == {head: "世帯主", spouse: "妻"}
    assert [v.event_kind for v in env.versions(head)] == ["move_in", "move_within"]


# === 宛名番号・世帯番号 ====================================================================


def test_numbers_are_sequential_per_tenant_with_an_m11_check_digit(
    env: Env, state: AppState
) -> None:
    first = env.move_in([person(), wife()])
    second = env.move_in([person(family_name_kana="ツギ")])
    other = _new_env(state)
    elsewhere = other.move_in([person()])

    def numbers(e: Env, r: EventResult) -> tuple[list[str], list[str]]:
        def q(s: Session) -> tuple[list[str], list[str]]:
            atena = [repo.person(s, p).atena_number for p in r.person_ids]  # type: ignore[union-attr]
            hh = [repo.household(s, h).household_number for h in r.household_ids]  # type: ignore[union-attr]
            return atena, hh

        return e.read(q)

    assert numbers(env, first) == (["0000000019", "0000000027"], ["0000000019"])
    assert numbers(env, second) == (["0000000035"], ["0000000027"])
    assert numbers(other, elsewhere) == (["0000000019"], ["0000000019"])
    for n in ("0000000019", "0000000027", "0000000035"):
        assert is_valid_m11(n)
        assert not is_valid_m11(n[:-1] + str((int(n[-1]) + 1) % 10))


# === 個人番号 =============================================================================


def test_my_number_is_stored_encrypted_and_carried_forward(env: Env) -> None:
    number = my_number("12345678901")
    hid, head = env.family(person(my_number=number), today=days_ago(10))
    env.run(
        lambda r: r.move_within(
            MoveWithinCommand(
                effective_on=days_ago(2), person_ids=[head], address=THERE, household=env.ref(hid)
            )
        )
    )
    env.run(
        lambda r: r.correct(
            CorrectionCommand(
                effective_on=TODAY, person_id=head, changes={"given_name": "大郎"}, reason="x"
            ),
            EventKind.CLERICAL_CORRECTION,
        )
    )
    versions = env.versions(head)
    assert len(versions) == 3
    ciphers = [v.my_number_cipher for v in versions]
    assert all(c is not None for c in ciphers)
    assert len(set(ciphers)) == 1  # carried forward as is
    for v in versions:
        assert v.my_number_cipher is not None
        assert number.encode() not in v.my_number_cipher
        assert number not in json.dumps(v.data, ensure_ascii=False)
        assert "my_number" not in v.data
    cur = env.read(lambda s: repo.current(s, head))
    assert cur is not None and cur.my_number_index is not None
    assert re.fullmatch(r"[0-9a-f]{64}", cur.my_number_index)
    assert number not in cur.my_number_index

    def reveal_and_index(s: Session) -> tuple[str | None, str]:
        keys = TenantKeys(s, env.state.ring)
        return queries.reveal_my_number(s, keys, head), queries.my_number_index(keys, number)

    revealed, index = env.read(reveal_and_index)
    assert revealed == number
    assert index == cur.my_number_index


# === イベント・アウトボックス・監査 ===========================================================


def test_every_event_lands_in_the_outbox_and_the_audit_chain(env: Env) -> None:
    hid, head, spouse, kid = env.family(today=days_ago(10))
    env.run(
        lambda r: r.household_split(
            HouseholdSplitCommand(
                effective_on=days_ago(5), household=env.ref(hid), relationships={kid: "世帯主"}
            )
        )
    )
    died = env.run(
        lambda r: r.death(
            DeathCommand(effective_on=days_ago(2), person_id=head, household=env.ref(hid))
        )
    )
    _cancel(env, died.event_id)
    assert env.names() == [
        "resident.moved_in",
        "household.changed",
        "resident.died",
        "resident.event_cancelled",
    ]

    def stored(s: Session) -> tuple[list[OutboxMessage], list[ResidencyEvent], list[Any]]:
        outbox = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))
        events = list(s.scalars(select(ResidencyEvent).order_by(ResidencyEvent.recorded_at)))
        entries = list(
            s.scalars(
                select(audit.AuditEntry)
                .where(audit.AuditEntry.subject_type == "residency_event")
                .order_by(audit.AuditEntry.seq)
            )
        )
        return outbox, events, entries

    outbox, events, entries = env.read(stored)
    assert [m.id for m in outbox] == [e.event_id for e in env.published]
    assert [m.event_name for m in outbox] == env.names()
    for message, event in zip(outbox, env.published, strict=True):
        assert isinstance(event, ResidentEvent)
        assert message.payload["person_ids"] == [str(p) for p in event.person_ids]
        assert message.payload["residency_event_id"] == str(event.residency_event_id)
        assert message.published_at is None
    assert [e.kind for e in events] == ["move_in", "household_split", "death", "cancellation"]
    assert [(a.action, a.subject_id) for a in entries] == [
        (f"resident.{e.kind}", str(e.id)) for e in events
    ]
    assert all(a.actor_kind == "staff" and a.actor_id == "tests" for a in entries)
    chain = env.read(audit.verify_current)
    assert chain.ok
    assert spouse in env.members(hid)


def test_a_failing_handler_rolls_back_the_whole_use_case(env: Env) -> None:
    class Boom(RuntimeError):
        pass

    def explode(_event: DomainEvent, _uow: UnitOfWork) -> None:
        raise Boom

    bus = EventBus()
    bus.subscribe(DomainEvent, explode)
    cmd = MoveInCommand(
        effective_on=days_ago(1), persons=[person()], address=HERE, previous_address=PREVIOUS
    )

    def attempt() -> None:
        with UnitOfWork(env.state.session_factory, bus) as uow:
            uow.set_tenant(env.ctx)
            Register(uow, ACTOR, env.state.ring, today=TODAY).move_in(cmd)
            uow.commit()

    with pytest.raises(Boom):
        attempt()

    def count(s: Session) -> tuple[int, int, int]:
        return (
            len(list(s.scalars(select(ResidencyEvent)))),
            len(list(s.scalars(select(OutboxMessage)))),
            len(
                list(
                    s.scalars(
                        select(audit.AuditEntry).where(
                            audit.AuditEntry.subject_type == "residency_event"
                        )
                    )
                )
            ),
        )

    assert env.read(count) == (0, 0, 0)


# === 人口統計 =============================================================================


def test_statistics_as_of_a_past_date_and_today(env: Env) -> None:
    moved_in_on = dt.date(2026, 10, 1)
    hid, man, old_woman = env.family(
        person(birth_date="昭和50年4月1日"),
        wife(birth_date="昭和20年5月5日"),
        today=dt.date(2026, 10, 5),
    )
    env.move_in(
        [foreigner(relationship="世帯主")],
        kind=EventKind.IMMIGRATION,
        effective_on=moved_in_on,
        address=THERE,
        today=dt.date(2026, 10, 5),
    )
    env.run(
        lambda r: r.birth(
            BirthCommand(
                effective_on=dt.date(2026, 11, 20),
                person=child("三郎", "サブロウ", birth_date="令和8年11月20日"),
                household=env.ref(hid),
            )
        )
    )
    env.run(
        lambda r: r.death(
            DeathCommand(effective_on=days_ago(1), person_id=old_woman, household=env.ref(hid))
        )
    )
    assert env.members(hid)[man] == "世帯主"

    before = env.read(lambda s: queries.statistics(s, dt.date(2026, 9, 30)))
    assert before.total == 0 and before.households == 0

    past = env.read(lambda s: queries.statistics(s, dt.date(2026, 11, 1)))
    assert past.total == 3
    assert past.by_sex == {"male": 1, "female": 2}
    assert past.by_age_band == {"0-14": 0, "15-64": 1, "65-74": 1, "75+": 1}
    assert past.by_machiaza == {DAIMON: 2, OSHIMA: 1}
    assert (past.japanese, past.foreign, past.households) == (2, 1, 2)

    now = env.read(lambda s: queries.statistics(s, TODAY))
    assert now.as_of == TODAY
    assert now.total == 3
    assert now.by_sex == {"male": 2, "female": 1}
    assert now.by_age_band == {"0-14": 1, "15-64": 1, "65-74": 1, "75+": 0}
    assert now.by_machiaza == {DAIMON: 2, OSHIMA: 1}
    assert (now.japanese, now.foreign, now.households) == (2, 1, 2)


# === 同時実行 =============================================================================


def test_concurrent_births_into_one_household_one_wins(env: Env) -> None:
    hid, *_members = env.family(today=days_ago(10))
    ref = env.ref(hid)
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[EventResult | BaseException] = []
    lock = threading.Lock()

    def clerk(given: str, kana: str) -> None:
        cmd = BirthCommand(
            effective_on=days_ago(1),
            person=child(given, kana, birth_date=days_ago(1).isoformat()),
            household=ref,
        )
        try:
            with UnitOfWork(env.state.session_factory, env.bus()) as uow:
                uow.set_tenant(env.ctx)
                register = Register(uow, ACTOR, env.state.ring, today=TODAY)
                barrier.wait()
                result = register.birth(cmd)
                uow.commit()
            outcome: EventResult | BaseException = result
        except BaseException as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [
        threading.Thread(target=clerk, args=("三郎", "サブロウ")),
        threading.Thread(target=clerk, args=("四郎", "シロウ")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    wins = [o for o in outcomes if isinstance(o, EventResult)]
    losses = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(wins) == 1, outcomes
    assert len(losses) == 1
    assert isinstance(losses[0], Conflict), repr(losses[0])
    assert losses[0].error_code == "household_version_conflict"
    members = env.members(hid)
    assert len(members) == 4
    assert wins[0].person_ids[0] in members
    assert env.ref(hid).version == ref.version + 1
    assert [e.name for e in env.published].count("resident.born") == 1


def test_two_first_move_ins_of_a_new_municipality_at_once_both_register(env: Env) -> None:
    """The counters do not exist yet: both transactions create them without colliding, and the
    numbers they hand out are distinct."""
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[EventResult | BaseException] = []
    lock = threading.Lock()

    def clerk(family: str) -> None:
        cmd = MoveInCommand(
            effective_on=days_ago(1),
            persons=[person(family_name=family)],
            address=HERE,
            previous_address=PREVIOUS,
        )
        try:
            with UnitOfWork(env.state.session_factory, env.bus()) as uow:
                uow.set_tenant(env.ctx)
                register = Register(uow, ACTOR, env.state.ring, today=TODAY)
                barrier.wait()
                result = register.move_in(cmd)
                uow.commit()
            outcome: EventResult | BaseException = result
        except BaseException as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=clerk, args=(f,)) for f in ("先着", "後着")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(isinstance(o, EventResult) for o in outcomes), outcomes
    atena = {env.current(o.person_ids[0]).atena_number for o in outcomes}  # type: ignore[union-attr]
    assert len(atena) == 2
    assert all(is_valid_m11(a) for a in atena)
