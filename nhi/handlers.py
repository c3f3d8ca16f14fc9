"""NHI's reactions to the resident register's events. Wired in ``jichitai.bootstrap``.

They run in the unit of work of the residency event, in the same transaction: a move-out and the
loss of qualification it causes are committed together or not at all.

Household events (世帯分離・合併・世帯主変更・世帯変更, 転居) need no handler: the NHI household is
derived from the register's household on the date asked (``Qualifications.household``), so the
liable head and 擬制世帯主 follow every such change on the date it takes effect.
"""

from __future__ import annotations

from core import audit
from core.uow import UnitOfWork
from nhi import qualification_rules as rules
from nhi.models import AcquisitionReason, CauseKind, LossReason, VoidReason
from nhi.service import Qualifications
from resident_records import queries as register
from resident_records.events import (
    ResidencyEventCancelled,
    ResidentBorn,
    ResidentDied,
    ResidentMovedIn,
    ResidentMovedOut,
    ResidentMoveOutConfirmed,
    ResidentRemoved,
)

ACTOR = audit.Actor.system("nhi.handlers")


def _service(uow: UnitOfWork) -> Qualifications:
    return Qualifications(uow.session, ACTOR, uow.publish)


def on_moved_in(event: ResidentMovedIn, uow: UnitOfWork) -> None:
    """転入: each moved-in person eligible on the move-in date acquires (法5条・7条)."""
    # Every person of a move-in is created by it (resident_records.service.Register.move_in).
    _service(uow).acquire_newcomers(
        event.person_ids,
        rules.acquired_on_move_in(event.effective_on),
        AcquisitionReason.MOVE_IN,
        CauseKind.RESIDENCY_EVENT,
        event.residency_event_id,
    )


def on_born(event: ResidentBorn, uow: UnitOfWork) -> None:
    """出生: the child acquires when a member of its household is NHI-insured that day."""
    svc = _service(uow)
    day = rules.acquired_on_birth(event.effective_on)
    children = set(event.person_ids)
    for household_id in event.household_ids:
        household = svc.household(household_id, day)
        insured = any(m.insured for m in household.members if m.person_id not in children)
        if not rules.newborn_acquires(insured):
            continue
        for pid in event.person_ids:
            svc.acquire(
                pid,
                day,
                AcquisitionReason.BIRTH,
                CauseKind.RESIDENCY_EVENT,
                event.residency_event_id,
            )


def on_moved_out(event: ResidentMovedOut, uow: UnitOfWork) -> None:
    """転出 / 国外転出: lost on the move-out date / the day after (法8条1項)."""
    svc = _service(uow)
    if event.kind == "emigration":
        lost, reason = rules.lost_on_emigration(event.effective_on), LossReason.EMIGRATION
    else:
        lost, reason = rules.lost_on_move_out(event.effective_on), LossReason.MOVE_OUT
    for pid in event.person_ids:
        svc.end(
            pid,
            lost,
            reason,
            CauseKind.RESIDENCY_EVENT,
            event.residency_event_id,
            void_from=lost,
            void_reason=VoidReason.NOT_RESIDENT,
        )


def on_move_out_confirmed(event: ResidentMoveOutConfirmed, uow: UnitOfWork) -> None:
    """転出確定: the loss follows the confirmed removal date when it is earlier than planned."""
    svc = _service(uow)
    for pid in event.person_ids:
        removal = register.removal(uow.session, pid)
        if removal is not None:
            svc.move_loss_earlier(pid, rules.lost_on_move_out(removal.on), event.residency_event_id)


def on_died(event: ResidentDied, uow: UnitOfWork) -> None:
    """死亡: lost the day after death (法8条1項)."""
    svc = _service(uow)
    lost = rules.lost_on_death(event.effective_on)
    for pid in event.person_ids:
        svc.end(
            pid,
            lost,
            LossReason.DEATH,
            CauseKind.RESIDENCY_EVENT,
            event.residency_event_id,
            void_from=lost,
            void_reason=VoidReason.NOT_RESIDENT,
        )


def on_removed(event: ResidentRemoved, uow: UnitOfWork) -> None:
    """職権消除: lost the day after the removal date (法8条1項)."""
    svc = _service(uow)
    lost = rules.lost_on_removal(event.effective_on)
    for pid in event.person_ids:
        svc.end(
            pid,
            lost,
            LossReason.REMOVAL,
            CauseKind.RESIDENCY_EVENT,
            event.residency_event_id,
            void_from=lost,
            void_reason=VoidReason.NOT_RESIDENT,
        )


def on_cancelled(event: ResidencyEventCancelled, uow: UnitOfWork) -> None:
    """取消: revert what the cancelled event's handler did to each person's qualification."""
    _service(uow).revert(event.person_ids, event.cancelled_event_id, event.residency_event_id)
