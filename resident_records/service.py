"""Residency events (異動) as use cases. Services flush; the unit of work commits.

Every use case validates its dates (J:210), claims the households it changes (optimistic
lock), appends one version per affected person (history is never rewritten), refreshes the
search projection, applies the household-head rule (J:490, J:500), writes an audit entry and
publishes a domain event for the other business areas.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from core import audit
from core.crypto import MasterKeyRing, TenantKeys
from core.db import add_new, new_row, rows_together, utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.ids import new_id
from core.japanese.checkdigits import with_m11
from core.japanese.kana import search_key, strip_variation_selectors
from core.scoping import require_context
from core.uow import UnitOfWork
from resident_records import events as ev
from resident_records import queries
from resident_records import repository as repo
from resident_records.models import (
    EVENT_LABELS,
    MY_NUMBER_CONTEXT,
    EventKind,
    Household,
    Person,
    PersonKind,
    RecordStatus,
    RegisterAlert,
    ResidencyEvent,
    ResidentCurrent,
    ResidentRecordVersion,
)
from resident_records.rules.register_dates import RegisterDate, parse_register_date
from resident_records.rules.relationship import is_head
from resident_records.schemas import (
    AddressInput,
    BirthCommand,
    CancelCommand,
    CorrectionCommand,
    DeathCommand,
    EventBase,
    EventResult,
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
    NonResidentCommand,
    PersonInput,
    RemovalCommand,
)

NOTIFICATION_DEADLINE_DAYS = 14  # 法22条・23条: 転入・転居 within 14 days
HEAD = "世帯主"
ATENA_SEQUENCE = "atena_number"
HOUSEHOLD_SEQUENCE = "household_number"
NUMBER_BODY_DIGITS = 9


def _field_error(field_name: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(
        f"入力内容に誤りがあります。（{field_name}: {message}）",
        code=code,
        details=[{"field": field_name, "type": code, "message": message}],
    )


@dataclass
class Register:
    """One clerk's work on the current tenant's register within one unit of work."""

    uow: UnitOfWork
    actor: audit.Actor
    ring: MasterKeyRing
    today: dt.date = field(default_factory=dt.date.today)
    _keys: TenantKeys | None = None

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def keys(self) -> TenantKeys:
        if self._keys is None:
            self._keys = TenantKeys(self.session, self.ring)
        return self._keys

    # --- validation --------------------------------------------------------------------------

    def _check_dates(
        self, cmd: EventBase, *, future_allowed: bool = False, notified_before_allowed: bool = False
    ) -> dt.date:
        """異動日 never in the future (but a planned 転出); 届出日 never in the future (J:210)."""
        notified = cmd.notified_on or self.today
        if cmd.effective_on > self.today and not future_allowed:
            raise _field_error(
                "effective_on", "異動日に未来の日付は指定できません。", "future_effective_date"
            )
        if notified > self.today:
            raise _field_error(
                "notified_on", "届出日に未来の日付は指定できません。", "future_notified_date"
            )
        if notified < cmd.effective_on and not notified_before_allowed:
            raise _field_error(
                "notified_on", "届出日が異動日より前になっています。", "notified_before_effective"
            )
        return notified

    def _check_address(self, address: AddressInput) -> None:
        if not repo.machiaza_known(self.session, address.machiaza_code):
            raise _field_error(
                "address.machiaza_code",
                "町字が町字マスタに登録されていません。",
                "unknown_machiaza",
            )

    # --- numbers, persons, households ---------------------------------------------------------

    def _next_numbers(
        self, counts: dict[str, int], *, with_keys: bool = False
    ) -> dict[str, list[str]]:
        """宛名番号・世帯番号: sequential per municipality with the M11 check digit (J:130).

        ``with_keys``: the tenant's data keys are read in the same round trip, for a use case
        that is about to encrypt a 個人番号 (the keys are read once per unit of work anyway).
        Every use case that numbers records an audit entry: the audit chain's lock and head go
        in that round trip too (``audit.chain_statements``)."""
        # One round trip for every counter asked for: the UPDATE takes the row locks and hands
        # back the new values.
        keys = self.keys.unread() if with_keys else None
        chain = audit.chain_statements(self.session)
        numbers, *rest = rows_together(
            self.session,
            repo.advance_statement(self.session, counts),
            *([keys] if keys else []),
            *chain,
        )
        ends = repo.advanced(numbers)
        if keys:
            self.keys.take_rows(rest[0])
        if chain:
            audit.take_head(self.session, rest[-1])
        missing = [name for name in counts if name not in ends]
        if missing:  # the municipality's first number of this kind
            repo.ensure_sequences(self.session, missing)
            ends |= repo.advance_sequences(self.session, {n: counts[n] for n in missing})
        return {
            name: [
                with_m11(str(n).zfill(NUMBER_BODY_DIGITS))
                for n in range(ends[name] - count, ends[name])
            ]
            for name, count in counts.items()
        }

    def _new_household(self, number: str | None = None) -> Household:
        if number is None:
            (number,) = self._next_numbers({HOUSEHOLD_SEQUENCE: 1})[HOUSEHOLD_SEQUENCE]
        # The id is set here, not by the flush: the rows that point at it go out in one flush.
        h = new_row(Household, id=new_id(), household_number=number, version=1)
        add_new(self.session, h)
        return h

    def _claim_household(self, ref: HouseholdRef) -> Household:
        """Compare-and-set on the household's version: a stale or concurrent edit gets 409."""
        h = repo.household(self.session, ref.household_id)
        if h is None:
            raise NotFound("指定された世帯は見つかりません。", code="household_not_found")
        result = self.session.execute(
            update(Household)
            .where(Household.id == ref.household_id, Household.version == ref.version)
            .values(version=ref.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                "この世帯は他の処理で先に更新されています。最新の内容を読み込んでからやり直してください。",
                code="household_version_conflict",
            )
        self.session.expire(h)
        return h

    def _person_current(
        self, person_id: uuid.UUID
    ) -> tuple[ResidentCurrent, ResidentRecordVersion]:
        cur = repo.current(self.session, person_id)
        latest = repo.latest_version(self.session, person_id)
        if cur is None or latest is None or cur.status == RecordStatus.VOIDED:
            raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
        return cur, latest

    def _require_resident(
        self, person_id: uuid.UUID, household_id: uuid.UUID | None = None, on: dt.date | None = None
    ) -> tuple[ResidentCurrent, ResidentRecordVersion]:
        cur, latest = self._person_current(person_id)
        day = on or self.today
        resident = cur.status == RecordStatus.RESIDENT or (
            cur.status == RecordStatus.REMOVED
            and cur.resident_until is not None
            and cur.resident_until > day
        )
        if not resident or latest.status != RecordStatus.RESIDENT:
            raise ValidationFailed(
                "この住民は既に除票となっているか、転出等が予定されています。",
                code="not_a_resident",
                details={"person_id": str(person_id)},
            )
        if household_id is not None and cur.household_id != household_id:
            raise ValidationFailed(
                "指定された世帯の世帯員ではありません。",
                code="not_in_household",
                details={"person_id": str(person_id)},
            )
        return cur, latest

    def _check_not_before_latest(
        self, latest: ResidentRecordVersion, effective_on: dt.date
    ) -> None:
        # A back-dated event under an entry already in force would leave that entry stale; the
        # counter cancels it first (取消) and registers both in order. Entries dated in the
        # future (a planned move-out) do not block: _append re-bases them.
        present = latest
        if latest.effective_on > max(self.today, effective_on):
            present = (
                repo.version_as_of(self.session, latest.person_id, self.today, utcnow()) or latest
            )
        if effective_on < present.effective_on:
            raise _field_error(
                "effective_on",
                f"この住民には{present.effective_on.isoformat()}付けの異動が記録されています。"
                "それより前の日付の異動は、先にその異動を取消してから登録してください。",
                "effective_date_before_latest",
            )

    def _base(self, person_id: uuid.UUID, on: dt.date) -> ResidentRecordVersion:
        """The entry in force on ``on`` as the register knows it now: what a change builds on."""
        base = repo.version_as_of(self.session, person_id, on, utcnow())
        if base is None:
            raise NotFound("指定された時点の記録はありません。", code="no_record_at_that_time")
        return base

    # --- events, versions, projection ---------------------------------------------------------

    def _event(
        self,
        kind: EventKind,
        cmd: EventBase | None,
        *,
        effective_on: dt.date,
        notified_on: dt.date | None,
        household_id: uuid.UUID | None,
        person_ids: Sequence[uuid.UUID],
        details: dict[str, Any],
        deadline_days: int | None = None,
        cancels: uuid.UUID | None = None,
    ) -> ResidencyEvent:
        late = 0
        if deadline_days is not None and notified_on is not None:
            late = max(0, (notified_on - effective_on).days - deadline_days)
        if cmd is not None:
            if cmd.notifier:
                details["notifier"] = cmd.notifier
            if cmd.memo:
                details["memo"] = cmd.memo
        event = new_row(
            ResidencyEvent,
            id=new_id(),
            kind=kind.value,
            effective_on=effective_on,
            notified_on=notified_on,
            recorded_by=self.actor.id,
            late_days=late,
            household_id=household_id,
            person_ids=[str(p) for p in person_ids],
            details=details,
            cancels_event_id=cancels,
        )
        add_new(self.session, event)
        if late:
            self._alert(
                "late_notification",
                event,
                household_id,
                f"{EVENT_LABELS[kind]}の届出が期限（{deadline_days}日）を{late}日過ぎています。"
                "簡易裁判所への通知の対象です（法52条）。",
            )
        return event

    def _alert(
        self, kind: str, event: ResidencyEvent, household_id: uuid.UUID | None, message: str
    ) -> None:
        self.session.add(
            RegisterAlert(kind=kind, message=message, household_id=household_id, event_id=event.id)
        )

    def _append(
        self,
        *,
        person: Person | ResidentCurrent,
        data: dict[str, Any],
        status: str,
        event: ResidencyEvent,
        effective_on: dt.date,
        household_id: uuid.UUID | None,
        my_number: str | None = None,
        previous: ResidentRecordVersion | None = None,
        new_person: bool = False,
    ) -> ResidentRecordVersion:
        """Append one version, re-base entries dated after it, refresh the projection.

        An entry dated in the future (a planned move-out, the head that follows from it) was
        built on the state before this change; it is re-appended with the change carried into
        it, so that reading any later date shows the change too. A removal or a voiding is
        carried whole; any other change is carried as the items it changed.
        """
        person_id = person.id if isinstance(person, Person) else person.person_id
        # A person created by this event has no other entry to re-base and no projection row.
        future = [] if new_person else repo.future_versions(self.session, person_id, effective_on)
        before = (
            repo.version_as_of(self.session, person_id, effective_on, utcnow()) if future else None
        )
        cipher = previous.my_number_cipher if previous is not None else None
        if my_number is not None:
            cipher = self.keys.encrypt(my_number, context=MY_NUMBER_CONTEXT)
        version = self._new_version(
            person_id, event, effective_on, status, data, household_id, cipher
        )
        newest = version
        terminal = status in {RecordStatus.REMOVED, RecordStatus.VOIDED} and (
            before is None or before.status != status
        )
        for later in future:
            if terminal:
                later_data, later_status, later_household = data, status, household_id
            else:
                changed = {
                    k: v for k, v in data.items() if before is None or before.data.get(k) != v
                }
                later_data = dict(later.data, **changed)
                later_status = later.status
                moved = before is None or before.household_id != household_id
                later_household = household_id if moved else later.household_id
            newest = self._new_version(
                person_id,
                event,
                later.effective_on,
                later_status,
                later_data,
                later_household,
                cipher,
            )
        self._project(person, newest, newest.data, my_number, new_person=new_person)
        return version

    def _new_version(
        self,
        person_id: uuid.UUID,
        event: ResidencyEvent,
        effective_on: dt.date,
        status: str,
        data: dict[str, Any],
        household_id: uuid.UUID | None,
        cipher: bytes | None,
    ) -> ResidentRecordVersion:
        birth = RegisterDate.from_json(data["birth_date"])
        version = new_row(
            ResidentRecordVersion,
            id=new_id(),  # the projection points at it before the flush assigns defaults
            person_id=person_id,
            event_id=event.id,
            event_kind=event.kind,
            effective_on=effective_on,
            recorded_at=utcnow(),
            status=status,
            data=data,
            household_id=household_id,
            my_number_cipher=cipher,
            machiaza_code=data.get("machiaza_code"),
            birth_date=birth.value,
            sex=data.get("sex"),
            is_foreign=data.get("foreign") is not None,
            relationship=data.get("relationship"),
        )
        add_new(self.session, version)
        return version

    def _project(
        self,
        person: Person | ResidentCurrent,
        version: ResidentRecordVersion,
        data: dict[str, Any],
        my_number: str | None,
        *,
        new_person: bool = False,
    ) -> None:
        if isinstance(person, Person):
            cur = None if new_person else repo.current(self.session, person.id)
            atena = person.atena_number
        else:
            cur, atena = person, person.atena_number
        family_kana = data.get("family_name_kana") or ""
        given_kana = data.get("given_name_kana") or ""
        foreign = data.get("foreign") or {}
        # Foreign residents are found by their alphabet name and by their 通称's reading too.
        kana_source = family_kana + given_kana or (foreign.get("alias_name_kana") or "")
        became = data.get("became_resident_on")
        until = None
        if version.status == RecordStatus.REMOVED:
            removed = (data.get("removal") or {}).get("removed_on")
            until = dt.date.fromisoformat(removed) if removed else version.effective_on
        values: dict[str, Any] = {
            "version_id": version.id,
            "status": version.status,
            "household_id": version.household_id,
            "relationship": data.get("relationship"),
            "family_name": data["family_name"],
            "given_name": data["given_name"],
            "kana_key": search_key(kana_source) if kana_source else "",
            "given_kana_key": search_key(given_kana) if given_kana else "",
            "name_key": strip_variation_selectors(
                (data["family_name"] + data["given_name"]).replace(" ", "").replace("\u3000", "")
            ),
            "birth_date": version.birth_date,
            "sex": data.get("sex"),
            "is_foreign": bool(foreign),
            "machiaza_code": data.get("machiaza_code"),
            "banchi": data.get("banchi"),
            "juminhyo_code": data.get("juminhyo_code"),
            "resident_from": dt.date.fromisoformat(became) if became else None,
            "resident_until": until,
        }
        if my_number is not None:
            values["my_number_index"] = self.keys.blind_index(my_number, context=MY_NUMBER_CONTEXT)
        if cur is None:
            # A new person's row is inserted once, complete; an existing one is updated.
            add_new(
                self.session,
                new_row(ResidentCurrent, person_id=version.person_id, atena_number=atena, **values),
            )
            return
        for key, value in values.items():
            setattr(cur, key, value)

    def _data_for(
        self,
        p: PersonInput,
        address: AddressInput,
        effective_on: dt.date,
        notified_on: dt.date,
        previous_address: str | None,
    ) -> dict[str, Any]:
        birth = parse_register_date(p.birth_date, allow_uncertain=True)
        if birth.value is not None and birth.value > self.today:
            raise _field_error(
                "birth_date", "生年月日に未来の日付は指定できません。", "future_birth_date"
            )
        data = p.model_dump(mode="json", exclude={"my_number", "birth_date"})
        data.update(
            birth_date=birth.to_json(),
            machiaza_code=address.machiaza_code,
            banchi=address.banchi,
            katagaki=address.katagaki,
            address_since=effective_on.isoformat(),
            became_resident_on=effective_on.isoformat(),
            notified_on=notified_on.isoformat(),
            previous_address=previous_address,
        )
        if p.foreign is None:
            # 氏名の振り仮名 is a record item for Japanese residents (since 2025-05-26).
            for key in ("family_name_kana", "given_name_kana"):
                if not data.get(key):
                    raise _field_error(key, "振り仮名を入力してください。", "missing_kana")
        return data

    def _result(
        self, event: ResidencyEvent, households: Iterable[uuid.UUID], alerts: list[str]
    ) -> EventResult:
        return EventResult(
            event_id=event.id,
            kind=event.kind,
            label=EVENT_LABELS[event.kind],
            effective_on=event.effective_on,
            notified_on=event.notified_on,
            late_days=event.late_days,
            person_ids=[uuid.UUID(p) for p in event.person_ids],
            household_ids=sorted(set(households)),
            alerts=alerts,
        )

    def _audit(self, event: ResidencyEvent, action: str | None = None) -> None:
        audit.record(
            self.session,
            actor=self.actor,
            action=action or f"resident.{event.kind}",
            subject_type="residency_event",
            subject_id=str(event.id),
            details={"persons": len(event.person_ids), "late_days": event.late_days},
        )

    def _publish(
        self,
        cls: type[ev.ResidentEvent],
        event: ResidencyEvent,
        households: Iterable[uuid.UUID],
        **extra: Any,
    ) -> None:
        tenant_id = int(require_context(self.session).tenant_id)
        self.uow.publish(
            cls(
                tenant_id=tenant_id,
                residency_event_id=event.id,
                person_ids=[uuid.UUID(p) for p in event.person_ids],
                household_ids=sorted(set(households)),
                effective_on=event.effective_on,
                **extra,
            )
        )

    def _head_rule(
        self, household_id: uuid.UUID, leaving: set[uuid.UUID], event: ResidencyEvent, on: dt.date
    ) -> list[str]:
        """When the head leaves: one remaining member becomes head; two or more → alert (J:490)."""
        members = repo.household_members(self.session, household_id, on)
        head_left = any(
            m.person_id in leaving and m.relationship and is_head(m.relationship) for m in members
        )
        remaining = [m for m in members if m.person_id not in leaving]
        if not head_left or not remaining:
            return []
        if len(remaining) == 1:
            sole = remaining[0]
            base = self._base(sole.person_id, on)
            # The member becomes head on the day the head leaves (a planned move-out: then).
            self._append(
                person=sole,
                data=dict(base.data, relationship=HEAD),
                status=base.status,
                event=event,
                effective_on=on,
                household_id=household_id,
                previous=base,
            )
            return [f"{sole.family_name} {sole.given_name}さんが世帯主になりました。"]
        message = (
            "世帯主が世帯を離れました。"
            "残る世帯員が2人以上のため、世帯主変更届を受け付けてください。"
        )
        self._alert("head_change_required", event, household_id, message)
        return [message]

    # === additions ===========================================================================

    def move_in(self, cmd: MoveInCommand, kind: EventKind = EventKind.MOVE_IN) -> EventResult:
        """転入 (法22条), 特例転入 (法24条の2), 国外転入, 職権記載: persons enter the register."""
        notified = self._check_dates(cmd)
        self._check_address(cmd.address)
        newcomers = {uuid.uuid4(): p.relationship for p in cmd.persons}
        encrypting = any(p.my_number is not None for p in cmd.persons)
        if cmd.join_household is None:
            self._check_heads(newcomers, [], "persons")
            numbers = self._next_numbers(
                {HOUSEHOLD_SEQUENCE: 1, ATENA_SEQUENCE: len(cmd.persons)}, with_keys=encrypting
            )
            household = self._new_household(numbers[HOUSEHOLD_SEQUENCE][0])
        else:
            household = self._claim_household(cmd.join_household)
            existing = repo.household_members(self.session, household.id, cmd.effective_on)
            self._check_heads(newcomers, existing, "persons")
            numbers = self._next_numbers({ATENA_SEQUENCE: len(cmd.persons)}, with_keys=encrypting)
        persons = [
            new_row(Person, id=new_id(), atena_number=n, kind=PersonKind.RESIDENT)
            for n in numbers[ATENA_SEQUENCE]
        ]
        add_new(self.session, *persons)
        details: dict[str, Any] = {"previous_address": cmd.previous_address}
        if cmd.move_out_certificate:
            details["move_out_certificate"] = cmd.move_out_certificate
        if cmd.transfer_id:
            details["transfer_id"] = str(cmd.transfer_id)
        deadline = None if kind == EventKind.EX_OFFICIO_ENTRY else NOTIFICATION_DEADLINE_DAYS
        event = self._event(
            kind,
            cmd,
            effective_on=cmd.effective_on,
            notified_on=notified,
            household_id=household.id,
            person_ids=[p.id for p in persons],
            details=details,
            deadline_days=deadline,
        )
        for person, p in zip(persons, cmd.persons, strict=True):
            data = self._data_for(p, cmd.address, cmd.effective_on, notified, cmd.previous_address)
            self._append(
                person=person,
                data=data,
                status=RecordStatus.RESIDENT,
                event=event,
                effective_on=cmd.effective_on,
                household_id=household.id,
                my_number=p.my_number,
                new_person=True,
            )
        self._audit(event)
        self._publish(ev.ResidentMovedIn, event, [household.id], kind=kind.value)
        return self._result(event, [household.id], [])

    def birth(self, cmd: BirthCommand) -> EventResult:
        """出生: the child joins a household; 異動日 is the date of birth."""
        notified = self._check_dates(cmd)
        household = self._claim_household(cmd.household)
        members = repo.household_members(self.session, household.id, cmd.effective_on)
        if not members:
            raise _field_error(
                "household", "世帯員のいない世帯には出生を記載できません。", "empty_household"
            )
        self._check_heads({uuid.uuid4(): cmd.person.relationship}, members, "person.relationship")
        anchor = self._base(members[0].person_id, cmd.effective_on)
        address = AddressInput(
            machiaza_code=anchor.data["machiaza_code"],
            banchi=anchor.data["banchi"],
            katagaki=anchor.data.get("katagaki"),
        )
        birth_text = cmd.person.birth_date
        birth = parse_register_date(birth_text, allow_uncertain=True)
        if birth.value != cmd.effective_on:
            raise _field_error(
                "person.birth_date", "出生の異動日と生年月日が一致しません。", "birth_date_mismatch"
            )
        numbers = self._next_numbers(
            {ATENA_SEQUENCE: 1}, with_keys=cmd.person.my_number is not None
        )
        (number,) = numbers[ATENA_SEQUENCE]
        person = new_row(Person, id=new_id(), atena_number=number, kind=PersonKind.RESIDENT)
        add_new(self.session, person)
        event = self._event(
            EventKind.BIRTH,
            cmd,
            effective_on=cmd.effective_on,
            notified_on=notified,
            household_id=household.id,
            person_ids=[person.id],
            details={},
            deadline_days=NOTIFICATION_DEADLINE_DAYS,
        )
        data = self._data_for(cmd.person, address, cmd.effective_on, notified, None)
        self._append(
            person=person,
            data=data,
            status=RecordStatus.RESIDENT,
            event=event,
            effective_on=cmd.effective_on,
            household_id=household.id,
            my_number=cmd.person.my_number,
            new_person=True,
        )
        self._audit(event)
        self._publish(ev.ResidentBorn, event, [household.id])
        return self._result(event, [household.id], [])

    def register_non_resident(self, cmd: NonResidentCommand) -> EventResult:
        """住登外者の登録: a 宛名 without a resident record, kept for tax and benefits."""
        birth = parse_register_date(cmd.birth_date, allow_uncertain=True)
        if birth.value is not None and birth.value > self.today:
            raise _field_error(
                "birth_date", "生年月日に未来の日付は指定できません。", "future_birth_date"
            )
        if cmd.foreign is None and not (cmd.family_name_kana and cmd.given_name_kana):
            raise _field_error("family_name_kana", "振り仮名を入力してください。", "missing_kana")
        numbers = self._next_numbers({ATENA_SEQUENCE: 1}, with_keys=cmd.my_number is not None)
        (number,) = numbers[ATENA_SEQUENCE]
        person = new_row(Person, id=new_id(), atena_number=number, kind=PersonKind.NON_RESIDENT)
        add_new(self.session, person)
        event = self._event(
            EventKind.NON_RESIDENT_REGISTRATION,
            None,
            effective_on=self.today,
            notified_on=self.today,
            household_id=None,
            person_ids=[person.id],
            details={"reason": cmd.reason},
        )
        data = cmd.model_dump(mode="json", exclude={"my_number", "birth_date", "reason"})
        data.update(
            birth_date=birth.to_json(),
            outside_address=data.pop("address"),
            relationship=None,
            entitlements={},
        )
        self._append(
            person=person,
            data=data,
            status=RecordStatus.NON_RESIDENT,
            event=event,
            effective_on=self.today,
            household_id=None,
            my_number=cmd.my_number,
            new_person=True,
        )
        self._audit(event)
        return self._result(event, [], [])

    # === changes of address and household ====================================================

    def move_within(self, cmd: MoveWithinCommand) -> EventResult:
        """転居 (法23条): a new address in the municipality; movers leaving part of a household
        form a new household with the given 続柄."""
        notified = self._check_dates(cmd)
        self._check_address(cmd.address)
        household = self._claim_household(cmd.household)
        members = repo.household_members(self.session, household.id, self.today)
        movers = set(cmd.person_ids)
        for pid in movers:
            self._require_resident(pid, household.id)
        whole = movers == {m.person_id for m in members}
        target_id = household.id
        alerts: list[str] = []
        if not whole:
            if (
                not cmd.new_household_relationships
                or set(cmd.new_household_relationships) != movers
            ):
                raise _field_error(
                    "new_household_relationships",
                    "世帯の一部が転居する場合は、転居する全員の新しい続柄を指定してください。",
                    "relationships_required",
                )
            self._check_heads(cmd.new_household_relationships, [], "new_household_relationships")
            target_id = self._new_household().id
        event = self._event(
            EventKind.MOVE_WITHIN,
            cmd,
            effective_on=cmd.effective_on,
            notified_on=notified,
            household_id=household.id,
            person_ids=sorted(movers),
            details={"new_household_id": str(target_id)},
            deadline_days=NOTIFICATION_DEADLINE_DAYS,
        )
        if not whole:
            alerts = self._head_rule(household.id, movers, event, cmd.effective_on)
        for pid in sorted(movers):
            cur, latest = self._person_current(pid)
            self._check_not_before_latest(latest, cmd.effective_on)
            latest = self._base(pid, cmd.effective_on)
            data = dict(latest.data)
            previous = queries.address_text(self.session, latest.data)
            data.update(
                machiaza_code=cmd.address.machiaza_code,
                banchi=cmd.address.banchi,
                katagaki=cmd.address.katagaki,
                address_since=cmd.effective_on.isoformat(),
                previous_address=previous,
                notified_on=notified.isoformat(),
            )
            if not whole:
                data["relationship"] = cmd.new_household_relationships[pid]  # type: ignore[index]
            self._append(
                person=cur,
                data=data,
                status=RecordStatus.RESIDENT,
                event=event,
                effective_on=cmd.effective_on,
                household_id=target_id,
                previous=latest,
            )
        self._audit(event)
        self._publish(ev.ResidentMovedWithin, event, {household.id, target_id})
        return self._result(event, {household.id, target_id}, alerts)

    def _regroup(
        self,
        kind: EventKind,
        cmd: EventBase,
        source: Household,
        target: Household,
        relationships: dict[uuid.UUID, str],
        details: dict[str, Any],
    ) -> EventResult:
        """Move members between households at the same address, with their new 続柄."""
        notified = self._check_dates(cmd)
        movers = set(relationships)
        event = self._event(
            kind,
            cmd,
            effective_on=cmd.effective_on,
            notified_on=notified,
            household_id=source.id,
            person_ids=sorted(movers),
            details=details,
        )
        alerts = (
            []
            if source.id == target.id
            else self._head_rule(source.id, movers, event, cmd.effective_on)
        )
        for pid in sorted(movers):
            cur, latest = self._person_current(pid)
            self._check_not_before_latest(latest, cmd.effective_on)
            base = self._base(pid, cmd.effective_on)
            data = dict(base.data, relationship=relationships[pid])
            self._append(
                person=cur,
                data=data,
                status=base.status,
                event=event,
                effective_on=cmd.effective_on,
                household_id=target.id,
                previous=base,
            )
        for alert in repo.open_alerts(self.session, target.id, "head_change_required"):
            if any(is_head(r) for r in relationships.values()):
                alert.resolved_at = utcnow()
                alert.resolved_by_event_id = event.id
        self._audit(event)
        self._publish(ev.HouseholdChanged, event, {source.id, target.id}, kind=kind.value)
        return self._result(event, {source.id, target.id}, alerts)

    def _check_heads(
        self,
        relationships: dict[uuid.UUID, str],
        others: Sequence[ResidentCurrent],
        field_name: str = "relationships",
    ) -> None:
        heads = [p for p, r in relationships.items() if is_head(r)]
        heads += [
            m.person_id
            for m in others
            if m.person_id not in relationships and m.relationship and is_head(m.relationship)
        ]
        if len(heads) > 1:
            raise _field_error(field_name, "世帯主は1人だけ指定してください。", "multiple_heads")

    def household_split(self, cmd: HouseholdSplitCommand) -> EventResult:
        """世帯分離: some members form a new household (one of them its head)."""
        source = self._claim_household(cmd.household)
        members = repo.household_members(self.session, source.id, self.today)
        ids = {m.person_id for m in members}
        moving = set(cmd.relationships)
        if not moving or not moving <= ids or moving == ids:
            raise _field_error(
                "relationships",
                "分離する世帯員（全員ではない一部）を指定してください。",
                "invalid_split",
            )
        self._check_heads(cmd.relationships, [])
        # A 世帯分離届 declares the new household's head (a household may lose its head later,
        # when the head leaves, but it is not founded without one).
        if not any(is_head(r) for r in cmd.relationships.values()):
            raise _field_error(
                "relationships",
                "新しい世帯の世帯主を1人指定してください。",
                "split_without_head",
            )
        target = self._new_household()
        return self._regroup(
            EventKind.HOUSEHOLD_SPLIT,
            cmd,
            source,
            target,
            cmd.relationships,
            {"new_household_id": str(target.id)},
        )

    def household_merge(self, cmd: HouseholdMergeCommand) -> EventResult:
        """世帯合併: every member of the merged household joins the other."""
        target = self._claim_household(cmd.household)
        merged = self._claim_household(cmd.merged)
        moving = {m.person_id for m in repo.household_members(self.session, merged.id, self.today)}
        if set(cmd.relationships) != moving or not moving:
            raise _field_error(
                "relationships", "合併される世帯の全員の続柄を指定してください。", "invalid_merge"
            )
        self._check_heads(
            cmd.relationships, repo.household_members(self.session, target.id, self.today)
        )
        return self._regroup(
            EventKind.HOUSEHOLD_MERGE,
            cmd,
            merged,
            target,
            cmd.relationships,
            {"merged_household_id": str(merged.id)},
        )

    def household_change(self, cmd: HouseholdChangeCommand) -> EventResult:
        """世帯変更: members move from one existing household to another."""
        source = self._claim_household(cmd.household)
        target = self._claim_household(cmd.target)
        ids = {m.person_id for m in repo.household_members(self.session, source.id, self.today)}
        if not cmd.relationships or not set(cmd.relationships) <= ids:
            raise _field_error(
                "relationships", "移る世帯員とその続柄を指定してください。", "invalid_change"
            )
        self._check_heads(
            cmd.relationships, repo.household_members(self.session, target.id, self.today)
        )
        return self._regroup(
            EventKind.HOUSEHOLD_CHANGE,
            cmd,
            source,
            target,
            cmd.relationships,
            {"target_household_id": str(target.id)},
        )

    def head_change(self, cmd: HeadChangeCommand) -> EventResult:
        """世帯主変更: a new head; every member's 続柄 is re-expressed relative to them."""
        household = self._claim_household(cmd.household)
        ids = {m.person_id for m in repo.household_members(self.session, household.id, self.today)}
        if set(cmd.relationships) != ids:
            raise _field_error(
                "relationships",
                "世帯員全員の新しい続柄を指定してください。",
                "relationships_required",
            )
        if sum(1 for r in cmd.relationships.values() if is_head(r)) != 1:
            raise _field_error(
                "relationships", "新しい世帯主を1人指定してください。", "head_required"
            )
        return self._regroup(
            EventKind.HEAD_CHANGE, cmd, household, household, cmd.relationships, {}
        )

    # === removals ============================================================================

    def _remove(
        self,
        event_kind: EventKind,
        cmd: EventBase,
        household_ref: HouseholdRef,
        person_ids: Sequence[uuid.UUID],
        removal: dict[str, Any],
        *,
        future_allowed: bool = False,
        deadline_days: int | None = None,
        publish: type[ev.ResidentEvent],
        publish_extra: dict[str, Any] | None = None,
    ) -> EventResult:
        notified = self._check_dates(
            cmd, future_allowed=future_allowed, notified_before_allowed=future_allowed
        )
        household = self._claim_household(household_ref)
        for pid in person_ids:
            self._require_resident(pid, household.id)
        event = self._event(
            event_kind,
            cmd,
            effective_on=cmd.effective_on,
            notified_on=notified,
            household_id=household.id,
            person_ids=list(person_ids),
            details=dict(removal),
            deadline_days=deadline_days,
        )
        alerts = self._head_rule(household.id, set(person_ids), event, cmd.effective_on)
        for pid in person_ids:
            cur, latest = self._person_current(pid)
            self._check_not_before_latest(latest, cmd.effective_on)
            base = self._base(pid, cmd.effective_on)
            data = dict(
                base.data,
                removal=dict(
                    removal,
                    removed_on=cmd.effective_on.isoformat(),
                    reason=EVENT_LABELS[event_kind],
                ),
            )
            self._append(
                person=cur,
                data=data,
                status=RecordStatus.REMOVED,
                event=event,
                effective_on=cmd.effective_on,
                household_id=household.id,
                previous=base,
            )
        self._audit(event)
        self._publish(publish, event, [household.id], **(publish_extra or {}))
        return self._result(event, [household.id], alerts)

    def move_out(self, cmd: MoveOutCommand, kind: EventKind = EventKind.MOVE_OUT) -> EventResult:
        """転出 (法24条) / 国外転出: notified in advance with the planned date (異動日).

        When the destination is another member of this deployment, the move-out data goes to
        it electronically (no paper certificate, 法24条の2)."""
        from resident_records import transfers

        dest = transfers.deliverable(self.session, cmd.destination_lg_code)
        removal = {
            "destination_address": cmd.destination_address,
            "destination_lg_code": cmd.destination_lg_code,
            "planned_move_out_on": cmd.effective_on.isoformat(),
        }
        result = self._remove(
            kind,
            cmd,
            cmd.household,
            cmd.person_ids,
            removal,
            future_allowed=True,
            deadline_days=NOTIFICATION_DEADLINE_DAYS,
            publish=ev.ResidentMovedOut,
            publish_extra={"kind": kind.value, "destination_lg_code": cmd.destination_lg_code},
        )
        if dest is not None and kind == EventKind.MOVE_OUT:
            transfers.deliver(
                self,
                result.event_id,
                list(cmd.person_ids),
                dest,
                cmd.destination_address,
                cmd.effective_on,
            )
        return result

    def death(self, cmd: DeathCommand) -> EventResult:
        """死亡: the record becomes a 除票; the head rule applies to the remaining members."""
        removal: dict[str, Any] = {}
        if cmd.date_of_death_text:
            removal["date_of_death_text"] = cmd.date_of_death_text
        return self._remove(
            EventKind.DEATH, cmd, cmd.household, [cmd.person_id], removal, publish=ev.ResidentDied
        )

    def ex_officio_removal(self, cmd: RemovalCommand) -> EventResult:
        """職権消除 (法8条, 令12条): removal by the mayor after investigation."""
        return self._remove(
            EventKind.EX_OFFICIO_REMOVAL,
            cmd,
            cmd.household,
            [cmd.person_id],
            {"ex_officio_reason": cmd.reason},
            publish=ev.ResidentRemoved,
        )

    def confirm_move_out(self, cmd: MoveOutConfirmCommand) -> EventResult:
        """転出確定: the destination's 転入通知 fixes the date; each person is removed on the
        earlier of their planned date and the actual move-in date, and both are kept (J:50,
        J:680)."""
        if cmd.moved_in_on > self.today:
            raise _field_error(
                "moved_in_on", "転入日に未来の日付は指定できません。", "future_effective_date"
            )
        plan: list[tuple[ResidentCurrent, ResidentRecordVersion, dt.date]] = []
        for pid in cmd.person_ids:
            cur, latest = self._person_current(pid)
            removal = latest.data.get("removal") or {}
            planned = removal.get("planned_move_out_on")
            confirmed = removal.get("move_out_confirmed_on")
            if latest.status != RecordStatus.REMOVED or not planned or confirmed:
                raise ValidationFailed(
                    "確定を待っている転出の届出がありません。",
                    code="no_move_out",
                    details={"person_id": str(pid)},
                )
            plan.append((cur, latest, dt.date.fromisoformat(planned)))
        removed_on = min(min(p for _c, _l, p in plan), cmd.moved_in_on)
        households = [h for h in {v.household_id for _c, v, _p in plan} if h]
        event = self._event(
            EventKind.MOVE_OUT_CONFIRMED,
            None,
            effective_on=removed_on,
            notified_on=self.today,
            household_id=plan[0][1].household_id,
            person_ids=list(cmd.person_ids),
            details={
                "moved_in_on": cmd.moved_in_on.isoformat(),
                "destination_lg_code": cmd.destination_lg_code,
            },
        )
        for cur, latest, planned in plan:
            day = min(planned, cmd.moved_in_on)
            removal = dict(
                latest.data.get("removal") or {},
                removed_on=day.isoformat(),
                move_out_confirmed_on=cmd.moved_in_on.isoformat(),
            )
            # Appended at the removal date; the entry at a later planned date is re-based, so
            # both dates read "removed" with the confirmed data.
            self._append(
                person=cur,
                data=dict(latest.data, removal=removal),
                status=RecordStatus.REMOVED,
                event=event,
                effective_on=day,
                household_id=latest.household_id,
                previous=latest,
            )
        self._audit(event)
        self._publish(ev.ResidentMoveOutConfirmed, event, households)
        return self._result(event, households, [])

    # === corrections =========================================================================

    _CORRECTABLE = frozenset(PersonInput.model_fields) - {"my_number", "relationship"}

    def correct(self, cmd: CorrectionCommand, kind: EventKind) -> EventResult:
        """職権修正 / 誤記修正: appends the corrected entry; the wrong one stays in history."""
        notified = self._check_dates(cmd)
        cur, latest = self._person_current(cmd.person_id)
        # The entry a correction fixes is the one in force today (a planned move-out dated later
        # is re-based by _append and carries the fix too).
        if latest.effective_on > self.today:
            latest = self._base(cmd.person_id, self.today)
        unknown = sorted(set(cmd.changes) - self._CORRECTABLE)
        if unknown:
            raise _field_error(
                "changes", f"修正できない項目です: {'、'.join(unknown)}", "unknown_field"
            )
        base = {k: v for k, v in latest.data.items() if k in PersonInput.model_fields}
        base["birth_date"] = RegisterDate.from_json(latest.data["birth_date"]).text
        try:
            validated = PersonInput.model_validate(dict(base, **cmd.changes))
        except ValidationError as exc:
            errs = exc.errors(include_url=False, include_input=False, include_context=False)
            raise ValidationFailed(
                "修正内容に誤りがあります。",
                code="validation_error",
                details=[
                    {"field": ".".join(map(str, e["loc"])), "type": e["type"], "message": e["msg"]}
                    for e in errs
                ],
            ) from None
        data = dict(latest.data)
        new_values = validated.model_dump(mode="json", exclude={"my_number", "birth_date"})
        for key in cmd.changes:
            if key == "birth_date":
                data["birth_date"] = parse_register_date(validated.birth_date).to_json()
            else:
                data[key] = new_values[key]
        if not data.get("foreign") and not (
            data.get("family_name_kana") and data.get("given_name_kana")
        ):
            raise _field_error("changes", "振り仮名を削除することはできません。", "missing_kana")
        # A correction belongs to the entry it corrects: same effective date, later record time.
        effective = latest.effective_on
        event = self._event(
            kind,
            cmd,
            effective_on=effective,
            notified_on=notified,
            household_id=latest.household_id,
            person_ids=[cmd.person_id],
            details={
                "fields": sorted(cmd.changes),
                "reason": cmd.reason,
                "corrects_version_id": str(latest.id),
            },
        )
        self._append(
            person=cur,
            data=data,
            status=latest.status,
            event=event,
            effective_on=effective,
            household_id=latest.household_id,
            previous=latest,
        )
        self._audit(event)
        self._publish(
            ev.ResidentCorrected,
            event,
            [h for h in [latest.household_id] if h],
            kind=kind.value,
            fields=sorted(cmd.changes),
        )
        return self._result(event, [h for h in [latest.household_id] if h], [])

    def change_name(self, cmd: NameChangeCommand) -> EventResult:
        """氏名・旧氏・通称の変更 (通称 of foreign residents keeps its history in the versions)."""
        notified = self._check_dates(cmd)
        cur, latest = self._person_current(cmd.person_id)
        self._check_not_before_latest(latest, cmd.effective_on)
        latest = self._base(cmd.person_id, cmd.effective_on)
        if latest.status not in {RecordStatus.RESIDENT, RecordStatus.NON_RESIDENT}:
            raise ValidationFailed(
                "除票となった方の氏名は変更できません。記載の誤りは誤記修正で訂正してください。",
                code="not_a_resident",
                details={"person_id": str(cmd.person_id)},
            )
        changes = cmd.model_dump(
            exclude_none=True,
            include={
                "family_name",
                "given_name",
                "family_name_kana",
                "given_name_kana",
                "former_surname",
                "former_surname_kana",
                "alias_name",
                "alias_name_kana",
            },
        )
        if not changes:
            raise _field_error(
                "family_name", "変更する項目を入力してください。", "nothing_to_change"
            )
        data = dict(latest.data)
        alias = {k: changes.pop(k) for k in ("alias_name", "alias_name_kana") if k in changes}
        if alias:
            if not data.get("foreign"):
                raise _field_error(
                    "alias_name",
                    "通称は外国人住民にのみ記載できます。",
                    "alias_for_foreigners_only",
                )
            data["foreign"] = dict(data["foreign"], **alias)
        data.update(changes)
        kind = (
            EventKind.ALIAS_CHANGE
            if alias and not changes
            else EventKind.FORMER_SURNAME_CHANGE
            if set(changes) <= {"former_surname", "former_surname_kana"}
            else EventKind.NAME_CHANGE
        )
        event = self._event(
            kind,
            cmd,
            effective_on=cmd.effective_on,
            notified_on=notified,
            household_id=latest.household_id,
            person_ids=[cmd.person_id],
            details={"fields": sorted({*changes, *alias})},
        )
        self._append(
            person=cur,
            data=data,
            status=latest.status,
            event=event,
            effective_on=cmd.effective_on,
            household_id=latest.household_id,
            previous=latest,
        )
        self._audit(event)
        self._publish(
            ev.ResidentCorrected,
            event,
            [h for h in [latest.household_id] if h],
            kind=kind.value,
            fields=sorted({*changes, *alias}),
        )
        return self._result(event, [h for h in [latest.household_id] if h], [])

    def cancel(self, event_id: uuid.UUID, cmd: CancelCommand) -> EventResult:
        """取消: restore each person's entry from before the event (J:980: history stays)."""
        original = repo.event(self.session, event_id)
        if original is None:
            raise NotFound("指定された異動は見つかりません。", code="event_not_found")
        if original.kind == EventKind.CANCELLATION:
            raise ValidationFailed("取消を取り消すことはできません。", code="cannot_cancel")
        if repo.cancellation_of(self.session, event_id) is not None:
            raise Conflict("この異動は既に取り消されています。", code="already_cancelled")
        touched = repo.versions_of_event(self.session, event_id)
        households: set[uuid.UUID] = set()
        # Per person: the entries to restore, one per effective date the event wrote.
        plan: list[
            tuple[
                ResidentCurrent,
                ResidentRecordVersion,
                list[tuple[dt.date, ResidentRecordVersion | None]],
            ]
        ] = []
        for pid in sorted({v.person_id for v in touched}):
            cur, latest = self._person_current(pid)
            if latest.event_id != event_id:
                raise ValidationFailed(
                    "この異動の後に別の異動が記録されている住民がいます。後の異動から順に取り消してください。",
                    code="later_events_exist",
                    details={"person_id": str(pid)},
                )
            own = [v for v in touched if v.person_id == pid]
            known_before = min(v.recorded_at for v in own) - dt.timedelta(microseconds=1)
            days = sorted({v.effective_on for v in own})
            plan.append(
                (
                    cur,
                    latest,
                    [(d, repo.version_as_of(self.session, pid, d, known_before)) for d in days],
                )
            )
        event = self._event(
            EventKind.CANCELLATION,
            None,
            effective_on=original.effective_on,
            notified_on=self.today,
            household_id=original.household_id,
            person_ids=[c.person_id for c, _l, _p in plan],
            details={"reason": cmd.reason, "cancelled_kind": original.kind},
            cancels=original.id,
        )
        for cur, latest, entries in plan:
            if latest.household_id:
                households.add(latest.household_id)
            for day, before in entries:
                if before is None:  # the event created the person: the entry becomes void
                    self._append(
                        person=cur,
                        data=latest.data,
                        status=RecordStatus.VOIDED,
                        event=event,
                        effective_on=day,
                        household_id=None,
                        previous=latest,
                    )
                    continue
                self._append(
                    person=cur,
                    data=before.data,
                    status=before.status,
                    event=event,
                    effective_on=day,
                    household_id=before.household_id,
                    previous=before,
                )
                if before.household_id:
                    households.add(before.household_id)
        for hid in households:  # membership changed: a clerk holding the old version must reload
            self.session.execute(
                update(Household)
                .where(Household.id == hid)
                .values(version=Household.version + 1)
                .execution_options(synchronize_session=False)
            )
        self._audit(event)
        self._publish(
            ev.ResidencyEventCancelled,
            event,
            households,
            cancelled_event_id=original.id,
            cancelled_kind=original.kind,
        )
        return self._result(event, households, [])
