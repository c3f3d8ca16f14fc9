"""NHI qualification use cases. Services flush; the unit of work (or the batch) commits.

``Qualifications`` is what the residency-event handlers, the staff routes and the daily age job
call. Every change appends a revision (``nhi.models``); the rules for dates and eligibility are
pure functions in ``nhi.qualification_rules``. The register is read only through
``resident_records.queries``.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.db import add_new, bulk_insert, new_row, utcnow
from core.errors import Conflict, ValidationFailed
from core.events import DomainEvent
from core.ids import new_id
from core.scoping import require_context
from nhi import qualification_rules as rules
from nhi import repository as repo
from nhi.events import QualificationChanged
from nhi.models import (
    AcquisitionReason,
    CauseKind,
    Cover,
    CoverageKind,
    LossReason,
    NhiCoverageEvent,
    NhiQualificationVersion,
    QualificationStatus,
    VoidReason,
)
from resident_records import queries as register
from tax.rules.ages import age_on

Emit = Callable[[DomainEvent], None]

_COVER_OF: dict[CoverageKind, Cover] = {
    CoverageKind.EMPLOYEE_INSURANCE_JOINED: Cover.EMPLOYEE_INSURANCE,
    CoverageKind.EMPLOYEE_INSURANCE_LEFT: Cover.EMPLOYEE_INSURANCE,
    CoverageKind.LIVELIHOOD_ASSISTANCE_STARTED: Cover.LIVELIHOOD_ASSISTANCE,
    CoverageKind.LIVELIHOOD_ASSISTANCE_ENDED: Cover.LIVELIHOOD_ASSISTANCE,
}
_STARTS = {CoverageKind.EMPLOYEE_INSURANCE_JOINED, CoverageKind.LIVELIHOOD_ASSISTANCE_STARTED}
_FIELD_OF: dict[CoverageKind, str] = {
    CoverageKind.EMPLOYEE_INSURANCE_JOINED: "joined_on",
    CoverageKind.EMPLOYEE_INSURANCE_LEFT: "left_on",
    CoverageKind.LIVELIHOOD_ASSISTANCE_STARTED: "started_on",
    CoverageKind.LIVELIHOOD_ASSISTANCE_ENDED: "ended_on",
}
_COVER_LABEL = {Cover.EMPLOYEE_INSURANCE: "社会保険", Cover.LIVELIHOOD_ASSISTANCE: "生活保護"}
_KIND_LABEL = {
    CoverageKind.EMPLOYEE_INSURANCE_JOINED: "加入",
    CoverageKind.EMPLOYEE_INSURANCE_LEFT: "離脱",
    CoverageKind.LIVELIHOOD_ASSISTANCE_STARTED: "開始",
    CoverageKind.LIVELIHOOD_ASSISTANCE_ENDED: "廃止",
}


def _field_error(field_name: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(
        f"入力内容に誤りがあります。（{field_name}: {message}）",
        code=code,
        details=[{"field": field_name, "type": code, "message": message}],
    )


def standing(events: Sequence[NhiCoverageEvent]) -> list[NhiCoverageEvent]:
    """The recorded facts still in force, in their order: a cancellation (取消) and the fact it
    withdraws both drop out, so the standing facts of a cover still alternate start, end …"""
    cancelled = {e.cancels_id for e in events if e.kind == CoverageKind.CANCELLED}
    return [e for e in events if e.kind != CoverageKind.CANCELLED and e.id not in cancelled]


def cover_end(event: NhiCoverageEvent) -> dt.date:
    """The first day an ended cover no longer applies (an employee-insurance ``left_on`` is the
    last day covered; a livelihood-assistance ``ended_on`` is the first day without it)."""
    if event.kind == CoverageKind.EMPLOYEE_INSURANCE_LEFT:
        return rules.acquired_after_employee_insurance(event.occurred_on)
    return rules.acquired_after_livelihood_assistance(event.occurred_on)


def cover_in_force(events: Sequence[NhiCoverageEvent], cover: Cover, on: dt.date) -> bool:
    """Whether recorded ``cover`` applies on ``on`` (events alternate start, end, start …)."""
    own = sorted((e for e in standing(events) if e.cover == cover), key=lambda e: e.seq)
    for i in range(0, len(own), 2):
        start = own[i]
        end = own[i + 1] if i + 1 < len(own) else None
        if start.occurred_on <= on and (end is None or on < cover_end(end)):
            return True
    return False


def _loss_for_removal(removal: register.Removal) -> tuple[dt.date, LossReason]:
    """The loss a removal from the register causes (the same dates the handlers apply)."""
    if removal.event_kind == "emigration":
        return rules.lost_on_emigration(removal.on), LossReason.EMIGRATION
    if removal.event_kind == "death":
        return rules.lost_on_death(removal.on), LossReason.DEATH
    if removal.event_kind == "ex_officio_removal":
        return rules.lost_on_removal(removal.on), LossReason.REMOVAL
    return rules.lost_on_move_out(removal.on), LossReason.MOVE_OUT


@dataclass(frozen=True)
class NhiHouseholdMember:
    person_id: uuid.UUID
    is_head: bool
    insured: bool
    qualification_id: uuid.UUID | None


@dataclass(frozen=True)
class NhiHousehold:
    """国保世帯 on a date: the register's household, its head liable (擬制世帯主 if uninsured)."""

    household_id: uuid.UUID
    on: dt.date
    head_person_id: uuid.UUID | None
    head_insured: bool
    members: list[NhiHouseholdMember]

    @property
    def insured_count(self) -> int:
        return sum(1 for m in self.members if m.insured)

    @property
    def nominal_head(self) -> bool:
        """擬制世帯主: the head is liable for the premium without being insured."""
        return self.head_person_id is not None and not self.head_insured and self.insured_count > 0


@dataclass(frozen=True)
class CoverRecorded:
    """A recorded fact (or cancellation), the qualification changes it made, and the same for
    each dependant (被扶養者) recorded with it."""

    fact: NhiCoverageEvent
    changes: list[NhiQualificationVersion]
    dependants: list[CoverRecorded] = field(default_factory=list)


@dataclass
class Qualifications:
    """NHI qualification work on the current tenant within one transaction."""

    session: Session
    actor: audit.Actor
    emit: Emit
    today: dt.date = field(default_factory=dt.date.today)

    # --- reads -----------------------------------------------------------------------------

    def current(self, person_id: uuid.UUID) -> list[NhiQualificationVersion]:
        return repo.current(self.session, person_id)

    def history(
        self, person_id: uuid.UUID
    ) -> tuple[Sequence[NhiQualificationVersion], Sequence[NhiCoverageEvent]]:
        """Every revision of the person's qualifications and every recorded cover; 404 for a
        person unknown to this municipality's register."""
        register.person_on(self.session, person_id, self.today)
        return (
            repo.versions(self.session, [person_id]),
            repo.coverage_events(self.session, person_id),
        )

    def covering(self, person_id: uuid.UUID, on: dt.date) -> NhiQualificationVersion | None:
        return next((q for q in self.current(person_id) if q.covers(on)), None)

    def circumstances(self, person_id: uuid.UUID, on: dt.date) -> rules.Circumstances:
        entry = register.person_on(self.session, person_id, on)
        events = repo.coverage_events(self.session, person_id)
        return rules.Circumstances(
            resident=entry is not None and entry.is_resident,
            birth_date=entry.birth_date if entry is not None else None,
            employee_insurance=cover_in_force(events, Cover.EMPLOYEE_INSURANCE, on),
            livelihood_assistance=cover_in_force(events, Cover.LIVELIHOOD_ASSISTANCE, on),
        )

    def household(self, household_id: uuid.UUID, on: dt.date) -> NhiHousehold:
        members = register.household_on(self.session, household_id, on)
        out: list[NhiHouseholdMember] = []
        head: uuid.UUID | None = None
        head_insured = False
        for m in members:
            q = self.covering(m.person_id, on)
            out.append(
                NhiHouseholdMember(
                    m.person_id, m.is_head, q is not None, q.qualification_id if q else None
                )
            )
            if m.is_head:
                head, head_insured = m.person_id, q is not None
        return NhiHousehold(household_id, on, head, head_insured, out)

    # --- writes ----------------------------------------------------------------------------

    def _append(
        self,
        previous: NhiQualificationVersion | None,
        change: str,
        cause_kind: CauseKind,
        cause_id: uuid.UUID | None,
        **values: Any,
    ) -> NhiQualificationVersion:
        base: dict[str, Any] = {}
        if previous is not None:
            base = {
                k: getattr(previous, k)
                for k in (
                    "qualification_id",
                    "person_id",
                    "status",
                    "acquired_on",
                    "acquisition_reason",
                    "acquisition_cause_id",
                    "lost_on",
                    "loss_reason",
                    "loss_cause_id",
                    "void_reason",
                    "void_cause_id",
                )
            }
            base["revision"] = previous.revision + 1
        else:
            base = {"qualification_id": new_id(), "revision": 1}
        base.update(values)
        version = new_row(
            NhiQualificationVersion,
            id=new_id(),
            cause_kind=cause_kind.value,
            cause_id=cause_id,
            recorded_by=self.actor.id,
            **base,
        )
        # Append-only: queued for the unit of work's one round trip of inserts (core.db.add_new),
        # no ORM flush of its own (a move-in's newcomers each acquire one).
        add_new(self.session, version)
        self.emit(
            QualificationChanged(
                tenant_id=int(require_context(self.session).tenant_id),
                change=change,
                person_id=version.person_id,
                qualification_id=version.qualification_id,
                revision=version.revision,
                status=version.status,
                acquired_on=version.acquired_on,
                acquisition_reason=version.acquisition_reason,
                lost_on=version.lost_on,
                loss_reason=version.loss_reason,
            )
        )
        return version

    def acquire(
        self,
        person_id: uuid.UUID,
        on: dt.date,
        reason: AcquisitionReason,
        cause_kind: CauseKind,
        cause_id: uuid.UUID | None,
    ) -> NhiQualificationVersion | None:
        """資格取得 on ``on`` unless already insured then or not eligible (法5条〜7条)."""
        if not rules.eligible(self.circumstances(person_id, on), on):
            return None
        if self.covering(person_id, on) is not None:
            return None
        # A removal already registered for a later date (a move-out notified in advance) ends
        # the new qualification too, as that removal's handler would have.
        loss: dict[str, Any] = {}
        removal = register.removal(self.session, person_id)
        if removal is not None:
            lost, loss_reason = _loss_for_removal(removal)
            if lost > on:
                loss = {"lost_on": lost, "loss_reason": loss_reason.value}
        return self._append(
            None,
            "acquired",
            cause_kind,
            cause_id,
            person_id=person_id,
            status=QualificationStatus.ACTIVE.value,
            acquired_on=on,
            acquisition_reason=reason.value,
            acquisition_cause_id=cause_id,
            **loss,
        )

    def acquire_newcomers(
        self,
        person_ids: Sequence[uuid.UUID],
        on: dt.date,
        reason: AcquisitionReason,
        cause_kind: CauseKind,
        cause_id: uuid.UUID | None,
    ) -> list[NhiQualificationVersion]:
        """資格取得 (法5条〜7条) of persons the register has just created (転入): they can have no
        earlier qualification, cover or removal here, so their age alone decides — read from
        the register without flushing the unit of work, whose rows go out in one round trip."""
        persons = register.persons_now(self.session, person_ids)
        out: list[NhiQualificationVersion] = []
        for pid in person_ids:
            p = persons.get(pid)
            circumstances = rules.Circumstances(
                resident=p is not None and p.status == "resident",
                birth_date=p.birth_date if p is not None else None,
                employee_insurance=False,
                livelihood_assistance=False,
            )
            if not rules.eligible(circumstances, on):
                continue
            out.append(
                self._append(
                    None,
                    "acquired",
                    cause_kind,
                    cause_id,
                    person_id=pid,
                    status=QualificationStatus.ACTIVE.value,
                    acquired_on=on,
                    acquisition_reason=reason.value,
                    acquisition_cause_id=cause_id,
                )
            )
        return out

    def end(
        self,
        person_id: uuid.UUID,
        lost_on: dt.date,
        reason: LossReason,
        cause_kind: CauseKind,
        cause_id: uuid.UUID | None,
        *,
        void_from: dt.date,
        void_reason: VoidReason,
    ) -> list[NhiQualificationVersion]:
        """資格喪失 on ``lost_on``; a qualification acquired on or after ``void_from`` never held
        and is voided (kept in history). An earlier loss already recorded stands."""
        out: list[NhiQualificationVersion] = []
        for q in self.current(person_id):
            if q.status != QualificationStatus.ACTIVE:
                continue
            if q.acquired_on >= void_from:
                out.append(
                    self._append(
                        q,
                        "voided",
                        cause_kind,
                        cause_id,
                        status=QualificationStatus.VOIDED.value,
                        void_reason=void_reason.value,
                        void_cause_id=cause_id,
                    )
                )
            elif q.lost_on is None or q.lost_on > lost_on:
                out.append(
                    self._append(
                        q,
                        "lost" if q.lost_on is None else "loss_changed",
                        cause_kind,
                        cause_id,
                        lost_on=lost_on,
                        loss_reason=reason.value,
                        loss_cause_id=cause_id,
                    )
                )
        return out

    def move_loss_earlier(
        self, person_id: uuid.UUID, lost_on: dt.date, cause_id: uuid.UUID
    ) -> list[NhiQualificationVersion]:
        """転出確定: the actual date is earlier than the planned one; the loss follows it."""
        out: list[NhiQualificationVersion] = []
        for q in self.current(person_id):
            if (
                q.status == QualificationStatus.ACTIVE
                and q.loss_reason in {LossReason.MOVE_OUT, LossReason.EMIGRATION}
                and q.lost_on is not None
                and q.lost_on > lost_on
            ):
                if q.acquired_on >= lost_on:
                    out.append(
                        self._append(
                            q,
                            "voided",
                            CauseKind.RESIDENCY_EVENT,
                            cause_id,
                            status=QualificationStatus.VOIDED.value,
                            void_reason=VoidReason.NOT_RESIDENT.value,
                            void_cause_id=cause_id,
                        )
                    )
                    continue
                out.append(
                    self._append(
                        q,
                        "loss_changed",
                        CauseKind.RESIDENCY_EVENT,
                        cause_id,
                        lost_on=lost_on,
                        loss_cause_id=cause_id,
                    )
                )
        return out

    def revert(
        self,
        person_ids: Sequence[uuid.UUID],
        cancelled_id: uuid.UUID,
        cancellation_id: uuid.UUID,
        *,
        void_reason: VoidReason = VoidReason.EVENT_CANCELLED,
    ) -> list[NhiQualificationVersion]:
        """取消 of a residency event or of a recorded cover fact: undo what it did to each
        qualification. An acquisition it made is voided; a loss or a voiding it made is restored
        to the state before it, unless a later change has replaced it since."""
        out: list[NhiQualificationVersion] = []
        rows = repo.versions(self.session, person_ids)
        for q in repo.latest(rows):
            own = [v for v in rows if v.qualification_id == q.qualification_id]
            caused = [v.revision for v in own if v.cause_id == cancelled_id]
            if not caused:
                continue
            before = next((v for v in own if v.revision == min(caused) - 1), None)
            values: dict[str, Any] = {}
            change = "restored"
            if q.acquisition_cause_id == cancelled_id:
                if q.status == QualificationStatus.ACTIVE:
                    values = {
                        "status": QualificationStatus.VOIDED.value,
                        "void_reason": void_reason.value,
                        "void_cause_id": cancellation_id,
                    }
                    change = "voided"
            else:
                if q.void_cause_id == cancelled_id:
                    values |= {
                        "status": QualificationStatus.ACTIVE.value,
                        "void_reason": None,
                        "void_cause_id": None,
                    }
                if q.loss_cause_id == cancelled_id:
                    values |= {
                        "lost_on": before.lost_on if before else None,
                        "loss_reason": before.loss_reason if before else None,
                        "loss_cause_id": before.loss_cause_id if before else None,
                    }
            if values:
                out.append(
                    self._append(q, change, CauseKind.CANCELLATION, cancellation_id, **values)
                )
        return out

    # --- staff-recorded cover ----------------------------------------------------------------

    def record_cover(
        self,
        person_id: uuid.UUID,
        kind: CoverageKind,
        on: dt.date,
        insurer_name: str | None = None,
        dependants: Sequence[uuid.UUID] = (),
    ) -> CoverRecorded:
        """Record the start or end of employee insurance or livelihood assistance, and apply it
        to the person's NHI qualification in the same transaction; the dependants (被扶養者,
        健康保険法3条7項) of an employee get the same fact and change, or nobody does."""
        field_name = _FIELD_OF[kind]
        entry = register.person_on(self.session, person_id, dt.date.max)  # 404 if unknown
        if on > self.today:
            raise _field_error(field_name, "未来の日付は指定できません。", "future_date")
        events, problem = self._cover_check(person_id, entry, kind, on)
        if problem is not None:
            raise _field_error(field_name, *problem)
        checked = self._dependants_check(person_id, kind, on, dependants)
        recorded = self._write_cover(person_id, events, kind, on, insurer_name, None)
        for pid, own in checked:
            recorded.dependants.append(
                self._write_cover(pid, own, kind, on, insurer_name, recorded.fact)
            )
        return recorded

    def _cover_check(
        self,
        person_id: uuid.UUID,
        entry: register.PersonOnDate | None,
        kind: CoverageKind,
        on: dt.date,
    ) -> tuple[list[NhiCoverageEvent], tuple[str, str] | None]:
        """The person's events of the cover, and what is wrong with recording ``kind`` on ``on``
        (message, code) if anything: periods never overlap and an end follows its start."""
        birth = entry.birth_date if entry is not None else None
        cover = _COVER_OF[kind]
        events = list(repo.coverage_events(self.session, person_id, cover.value))
        if birth is not None and on < birth:
            return events, ("生年月日より前の日付は指定できません。", "before_birth")
        label = _COVER_LABEL[cover]
        facts = standing(events)
        last = facts[-1] if facts else None
        if kind in _STARTS:
            if last is not None and last.kind in _STARTS:
                return events, (
                    f"{last.occurred_on.isoformat()}からの{label}の期間が終了していません。"
                    "先に終了を登録してください。",
                    "overlapping_period",
                )
            if last is not None and on < cover_end(last):
                return events, (
                    f"{label}の前の期間（{cover_end(last).isoformat()}の前日まで）と重なっています。",
                    "overlapping_period",
                )
            return events, None
        if last is None or last.kind not in _STARTS:
            return events, (
                f"{label}の開始（加入）が登録されていません。先に開始を登録してください。",
                "no_open_period",
            )
        too_early = (
            on < last.occurred_on
            if kind == CoverageKind.EMPLOYEE_INSURANCE_LEFT
            else on <= last.occurred_on
        )
        if too_early:
            return events, (
                f"{label}の開始日（{last.occurred_on.isoformat()}）より前の日付です。",
                "end_before_start",
            )
        return events, None

    def _dependants_check(
        self,
        person_id: uuid.UUID,
        kind: CoverageKind,
        on: dt.date,
        dependants: Sequence[uuid.UUID],
    ) -> list[tuple[uuid.UUID, list[NhiCoverageEvent]]]:
        """Each dependant must be in the insured's register household on ``on`` (被扶養者 of
        健康保険法3条7項 as this municipality can see them) and able to take the same fact; every
        entry is checked before anything is written, and all refusals are named at once."""
        if not dependants:
            return []
        entry = register.person_on(self.session, person_id, on)
        household = entry.household_id if entry is not None and entry.is_resident else None
        members = (
            {m.person_id: m for m in register.household_on(self.session, household, on)}
            if household is not None
            else {}
        )
        checked: list[tuple[uuid.UUID, list[NhiCoverageEvent]]] = []
        problems: list[dict[str, str]] = []
        seen = {person_id}
        for index, pid in enumerate(dependants):
            name = f"{index + 1}人目の被扶養者（{pid}）"
            if pid in seen:
                problem: tuple[str, str] | None = (
                    f"{name}は本人または他の被扶養者と重複しています。",
                    "duplicate_dependant",
                )
            elif pid not in members:
                problem = (
                    f"{name}は{on.isoformat()}に本人と同じ世帯の世帯員ではありません。",
                    "not_household_member",
                )
            else:
                events, found = self._cover_check(pid, members[pid], kind, on)
                problem = (f"{name}：{found[0]}", found[1]) if found is not None else None
                if found is None:
                    checked.append((pid, events))
            seen.add(pid)
            if problem is not None:
                problems.append(
                    {"field": f"dependants.{index}", "type": problem[1], "message": problem[0]}
                )
        if problems:
            raise ValidationFailed(
                f"被扶養者の指定に誤りがあります。（{problems[0]['message']}）",
                code="invalid_dependant",
                details=problems,
            )
        return checked

    def _add_fact(self, fact: NhiCoverageEvent) -> None:
        self.session.add(fact)
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict(
                "この方の記録は他の処理で先に更新されています。最新の内容を読み込んでからやり直してください。",
                code="nhi_coverage_conflict",
            ) from None

    def _write_cover(
        self,
        person_id: uuid.UUID,
        events: Sequence[NhiCoverageEvent],
        kind: CoverageKind,
        on: dt.date,
        insurer_name: str | None,
        employee: NhiCoverageEvent | None,
    ) -> CoverRecorded:
        """One person's fact (a dependant's names ``employee``'s fact), applied and audited."""
        fact = NhiCoverageEvent(
            id=new_id(),
            person_id=person_id,
            cover=_COVER_OF[kind].value,
            seq=len(events) + 1,
            kind=kind.value,
            occurred_on=on,
            insurer_name=insurer_name,
            dependant_of_id=employee.id if employee is not None else None,
            recorded_by=self.actor.id,
        )
        self._add_fact(fact)
        changes = self._apply_cover(person_id, kind, on, fact.id)
        details: dict[str, Any] = {
            "fact_id": str(fact.id),
            "occurred_on": on.isoformat(),
            "qualification_changes": [v.revision for v in changes],
        }
        if employee is not None:
            details["dependant_of"] = str(employee.person_id)
        audit.record(
            self.session,
            actor=self.actor,
            action=f"nhi.{kind.value}",
            subject_type="resident",
            subject_id=str(person_id),
            details=details,
        )
        return CoverRecorded(fact, changes)

    def cancel_cover(self, person_id: uuid.UUID, event_id: uuid.UUID, reason: str) -> CoverRecorded:
        """取消 of a cover fact recorded by mistake: a new row withdraws the latest standing fact
        of its cover and the qualification changes it made (国民健康保険法6条〜8条) are undone in
        the same transaction; the fact itself stays in the history. An employee's fact recorded
        together with their dependants' (被扶養者, 健康保険法3条7項) takes theirs with it, or
        nothing is cancelled."""
        register.person_on(self.session, person_id, dt.date.max)  # 404 if unknown
        events = repo.coverage_events(self.session, person_id)
        target = self._cancellable(events, event_id)
        withdrawn = self._dependants_cancellable(target)
        cancelled = self._write_cancellation(person_id, events, target, reason, None)
        for fact, own in withdrawn:
            cancelled.dependants.append(
                self._write_cancellation(fact.person_id, own, fact, reason, person_id)
            )
        return cancelled

    def _cancellable(
        self, events: Sequence[NhiCoverageEvent], event_id: uuid.UUID
    ) -> NhiCoverageEvent:
        """The standing fact ``event_id`` if it is the latest standing fact of its cover."""
        facts = standing(events)
        target = next((e for e in facts if e.id == event_id), None)
        if target is None:
            raise _field_error(
                "event_id",
                "取り消せる記録がありません（既に取り消されているか、この方の記録ではありません）。",
                "nothing_to_cancel",
            )
        latest = [e for e in facts if e.cover == target.cover][-1]
        if latest.id != target.id:
            raise _field_error(
                "event_id",
                f"{_COVER_LABEL[Cover(target.cover)]}の最新の記録（{latest.occurred_on.isoformat()}の"
                f"{_KIND_LABEL[CoverageKind(latest.kind)]}）から順に取り消してください。",
                "not_latest",
            )
        return target

    def _dependants_cancellable(
        self, target: NhiCoverageEvent
    ) -> list[tuple[NhiCoverageEvent, Sequence[NhiCoverageEvent]]]:
        """The dependants' facts to withdraw with ``target`` (with each one's events of the cover);
        one already withdrawn on its own is skipped. A fact that is no longer the latest of the
        dependant's cover refuses the whole 取消, every such dependant named, nothing written."""
        out: list[tuple[NhiCoverageEvent, Sequence[NhiCoverageEvent]]] = []
        problems: list[dict[str, str]] = []
        label = _COVER_LABEL[Cover(target.cover)]
        for fact in repo.facts_recorded_with(self.session, target.id):
            own = repo.coverage_events(self.session, fact.person_id, fact.cover)
            facts = standing(own)
            if all(e.id != fact.id for e in facts):
                continue  # already withdrawn by its own 取消
            latest = facts[-1]
            if latest.id != fact.id:
                message = (
                    f"被扶養者（{fact.person_id}）には、一緒に登録した"
                    f"{fact.occurred_on.isoformat()}の{label}の"
                    f"{_KIND_LABEL[CoverageKind(fact.kind)]}より後に、"
                    f"{latest.occurred_on.isoformat()}の{_KIND_LABEL[CoverageKind(latest.kind)]}"
                    "が登録されています。先にその記録を取り消してください。"
                )
                problems.append(
                    {"field": "event_id", "type": "dependant_not_latest", "message": message}
                )
                continue
            out.append((fact, own))
        if problems:
            raise ValidationFailed(
                f"被扶養者の記録を一緒に取り消せません。（{problems[0]['message']}）",
                code="dependant_not_latest",
                details=problems,
            )
        return out

    def _write_cancellation(
        self,
        person_id: uuid.UUID,
        events: Sequence[NhiCoverageEvent],
        target: NhiCoverageEvent,
        reason: str,
        dependant_of: uuid.UUID | None,
    ) -> CoverRecorded:
        cancellation = NhiCoverageEvent(
            id=new_id(),
            person_id=person_id,
            cover=target.cover,
            seq=sum(1 for e in events if e.cover == target.cover) + 1,
            kind=CoverageKind.CANCELLED.value,
            occurred_on=target.occurred_on,
            cancels_id=target.id,
            reason=reason,
            recorded_by=self.actor.id,
        )
        self._add_fact(cancellation)
        changes = self.revert(
            [person_id], target.id, cancellation.id, void_reason=VoidReason.COVER_CANCELLED
        )
        details: dict[str, Any] = {
            "cancelled_id": str(target.id),
            "cancelled_kind": target.kind,
            "occurred_on": target.occurred_on.isoformat(),
            "qualification_changes": [v.revision for v in changes],
        }
        if dependant_of is not None:
            details["dependant_of"] = str(dependant_of)
        audit.record(
            self.session,
            actor=self.actor,
            action="nhi.coverage_cancelled",
            subject_type="resident",
            subject_id=str(person_id),
            details=details,
        )
        return CoverRecorded(cancellation, changes)

    def _apply_cover(
        self, person_id: uuid.UUID, kind: CoverageKind, on: dt.date, fact_id: uuid.UUID
    ) -> list[NhiQualificationVersion]:
        cause = CauseKind.COVERAGE
        if kind == CoverageKind.EMPLOYEE_INSURANCE_JOINED:
            # Employee insurance from on or before an acquisition: that acquisition never held.
            return self.end(
                person_id,
                rules.lost_on_joining_employee_insurance(on),
                LossReason.JOINED_EMPLOYEE_INSURANCE,
                cause,
                fact_id,
                void_from=on,
                void_reason=VoidReason.EMPLOYEE_INSURANCE,
            )
        if kind == CoverageKind.LIVELIHOOD_ASSISTANCE_STARTED:
            lost = rules.lost_on_livelihood_assistance(on)
            return self.end(
                person_id,
                lost,
                LossReason.LIVELIHOOD_ASSISTANCE,
                cause,
                fact_id,
                void_from=lost,
                void_reason=VoidReason.LIVELIHOOD_ASSISTANCE,
            )
        if kind == CoverageKind.EMPLOYEE_INSURANCE_LEFT:
            day = rules.acquired_after_employee_insurance(on)
            reason = AcquisitionReason.LEFT_EMPLOYEE_INSURANCE
        else:
            day = rules.acquired_after_livelihood_assistance(on)
            reason = AcquisitionReason.LEFT_LIVELIHOOD_ASSISTANCE
        acquired = self.acquire(person_id, day, reason, cause, fact_id)
        return [acquired] if acquired is not None else []

    # --- the age job ---------------------------------------------------------------------------

    def apply_age_changes(self, on: dt.date) -> list[NhiQualificationVersion]:
        """Everyone insured who reaches 75 on or before ``on`` loses NHI on the 75th birthday
        (法6条8号); re-running changes nothing."""
        active = repo.active_current(self.session)
        births = register.birth_dates(self.session, sorted({q.person_id for q in active}))
        out: list[NhiQualificationVersion] = []
        for q in active:
            birth = births.get(q.person_id)
            if birth is None:
                continue
            turns = rules.late_elderly_from(birth)
            if turns > on or (q.lost_on is not None and q.lost_on <= turns):
                continue
            if q.acquired_on >= turns:
                out.append(
                    self._append(
                        q,
                        "voided",
                        CauseKind.AGE,
                        None,
                        status=QualificationStatus.VOIDED.value,
                        void_reason=VoidReason.LATE_ELDERLY.value,
                        void_cause_id=None,
                    )
                )
                continue
            out.append(
                self._append(
                    q,
                    "lost" if q.lost_on is None else "loss_changed",
                    CauseKind.AGE,
                    None,
                    lost_on=turns,
                    loss_reason=LossReason.AGE_75.value,
                    loss_cause_id=None,
                )
            )
        return out


# --- bulk enrolment (migration from the previous system; benchmarks) -------------------------

WORKING_AGE_SHARE = 0.25  # households under 65 outside employee insurance (自営・非正規・無職)
ELDERLY_SHARE = 0.9  # 65–74: most are in NHI after retirement
ELDERLY_AGE = 65


def enrol_population(session: Session, on: dt.date, *, seed: int = 2026) -> int:
    """Bring the residents of ``on`` into NHI in bulk, as a migration from the previous system
    would (資格 acquired on ``on``, reason 移行, no events): the realistic mix of a municipality
    — in about a quarter of the households the members under 65 are insured (no employee
    insurance), and about nine in ten of those aged 65–74; nobody 75 or over (後期高齢者医療).

    One INSERT per chunk through ``core.db.bulk_insert`` in the caller's transaction. For the
    benchmarks and for loading a generated population; the register is read through its queries.
    Returns the number of qualifications written.
    """
    tenant_id = require_context(session).tenant_id
    rng = random.Random(seed)  # noqa: S311 - a reproducible synthetic mix, not a secret
    by_household: dict[uuid.UUID, list[register.ResidentOn]] = {}
    for r in register.residents_on(session, on):
        if r.household_id is not None and r.birth_date is not None:
            by_household.setdefault(r.household_id, []).append(r)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for hid in sorted(by_household):
        working = rng.random() < WORKING_AGE_SHARE
        for r in by_household[hid]:
            assert r.birth_date is not None
            if rules.is_late_elderly(r.birth_date, on):
                continue
            elderly = age_on(r.birth_date, on) >= ELDERLY_AGE
            if not (rng.random() < ELDERLY_SHARE if elderly else working):
                continue
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "id": new_id(),
                    "qualification_id": new_id(),
                    "revision": 1,
                    "person_id": r.person_id,
                    "status": QualificationStatus.ACTIVE.value,
                    "acquired_on": max(on, r.birth_date),
                    "acquisition_reason": AcquisitionReason.MIGRATION.value,
                    "acquisition_cause_id": None,
                    "lost_on": None,
                    "loss_reason": None,
                    "loss_cause_id": None,
                    "void_reason": None,
                    "void_cause_id": None,
                    "cause_kind": CauseKind.MIGRATION.value,
                    "cause_id": None,
                    "recorded_at": now,
                    "recorded_by": "migration",
                }
            )
    for start in range(0, len(rows), 20_000):
        bulk_insert(session, NhiQualificationVersion, rows[start : start + 20_000])
    return len(rows)
