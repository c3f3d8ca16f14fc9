"""Moves between two members of the same deployment, with no paper (法24条の2, 9条1項).

A's move-out to B delivers the move-out data (転出証明書情報) into B's tenant; B's move-in uses
it; when B commits, A receives the move-in notice (転入通知) and its move-out is confirmed. Each
side's audit chain records its half. This module is the one place where the register writes
into another tenant, each time through ``tenant_scope`` with the acting tenant named, and it
never reads the other tenant's data: A writes one row into B, B writes one row into A.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from core import audit
from core.crypto import TenantKeys
from core.db import utcnow
from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from core.scoping import TenantContext, TenantId, require_context, tenant_scope
from resident_records import protection, queries
from resident_records import repository as repo
from resident_records.models import (
    MY_NUMBER_CONTEXT,
    EventKind,
    MoveInNotice,
    MoveTransfer,
    RegisterAlert,
)
from resident_records.rules.register_dates import RegisterDate
from resident_records.schemas import (
    EventResult,
    MoveInCommand,
    MoveOutConfirmCommand,
    PersonInput,
    TransferMoveInCommand,
)
from tenancy import repository as tenancy_repo
from tenancy.models import Municipality, MunicipalityStatus
from tenancy.repository import scoped

if TYPE_CHECKING:
    from resident_records.service import Register

CARD_MOVE_IN_DAYS = 30  # 特例転入: within 30 days of the planned move-out date (令23条の2)
_PERSON_FIELDS = set(PersonInput.model_fields) - {"my_number", "birth_date"}


def deliverable(session: Session, lg_code: str | None) -> Municipality | None:
    """The destination if it is another active member of this deployment, else None (paper)."""
    if not lg_code:
        return None
    dest = tenancy_repo.municipality_by_code(session, lg_code)
    if dest is None or dest.status != MunicipalityStatus.ACTIVE:
        return None
    if dest.id == require_context(session).tenant_id:
        raise ValidationFailed(
            "転出先が自団体です。転居として届け出てください。", code="move_out_to_self"
        )
    return dest


def deliver(
    register: Register,
    event_id: uuid.UUID,
    person_ids: list[uuid.UUID],
    dest: Municipality,
    destination_address: str,
    planned: dt.date,
) -> uuid.UUID:
    """Write A's move-out data into B's tenant (My Number re-encrypted under B's key)."""
    session = register.session
    source_ctx = require_context(session)
    source = tenancy_repo.municipality_by_id(session, source_ctx.tenant_id)
    assert source is not None
    persons: list[dict[str, Any]] = []
    for pid in person_ids:
        latest = repo.latest_version(session, pid)
        assert latest is not None
        item = {k: latest.data.get(k) for k in _PERSON_FIELDS}
        item["birth_date"] = RegisterDate.from_json(latest.data["birth_date"]).text
        item["source_person_id"] = str(pid)
        item["previous_address"] = queries.address_text(session, latest.data)
        item["protection"] = protection.measures_to_follow(session, pid, register.today)
        my_number = None
        if latest.my_number_cipher is not None:
            my_number = register.keys.decrypt(latest.my_number_cipher, context=MY_NUMBER_CONTEXT)
        persons.append({"item": item, "my_number": my_number})
    dest_ctx = TenantContext(TenantId(dest.id), acting_tenant_id=source_ctx.tenant_id)
    with tenant_scope(session, dest_ctx):
        dest_keys = TenantKeys(session, register.ring)
        payload = []
        for p in persons:
            item = dict(p["item"])
            if p["my_number"] is not None:
                blob = dest_keys.encrypt(p["my_number"], context=MY_NUMBER_CONTEXT)
                item["my_number_cipher"] = base64.b64encode(blob).decode()
            payload.append(item)
        transfer = MoveTransfer(
            source_lg_code=source.lg_code,
            source_name=source.name,
            source_event_id=event_id,
            planned_move_out_on=planned,
            destination_address=destination_address,
            persons=payload,
        )
        session.add(transfer)
        session.flush()
        audit.record(
            session,
            actor=register.actor,
            action="transfer.received",
            subject_type="move_transfer",
            subject_id=str(transfer.id),
            details={"from": source.lg_code, "persons": len(payload)},
        )
        transfer_id = transfer.id
    audit.record(
        session,
        actor=register.actor,
        action="transfer.sent",
        subject_type="residency_event",
        subject_id=str(event_id),
        details={"to": dest.lg_code, "persons": len(person_ids)},
    )
    return transfer_id


def pending(session: Session) -> list[MoveTransfer]:
    stmt = scoped(session, MoveTransfer).where(MoveTransfer.used_at.is_(None))
    return list(session.scalars(stmt.order_by(MoveTransfer.created_at)))


def get(session: Session, transfer_id: uuid.UUID) -> MoveTransfer:
    t = session.scalar(scoped(session, MoveTransfer).where(MoveTransfer.id == transfer_id))
    if t is None:
        raise NotFound("指定された転出情報は見つかりません。", code="transfer_not_found")
    return t


def move_in(register: Register, transfer_id: uuid.UUID, cmd: TransferMoveInCommand) -> EventResult:
    """転入 (or 特例転入) from electronic move-out data; then A's move-out is confirmed."""
    session = register.session
    transfer = get(session, transfer_id)
    if transfer.used_at is not None:
        raise Conflict("この転出情報は既に転入に使用されています。", code="transfer_used")
    kind = EventKind.CARD_MOVE_IN if cmd.card else EventKind.MOVE_IN
    if cmd.card and cmd.effective_on > transfer.planned_move_out_on + dt.timedelta(
        days=CARD_MOVE_IN_DAYS
    ):
        raise ValidationFailed(
            "転出予定日から30日を過ぎているため、特例転入はできません。",
            code="card_move_in_expired",
        )
    keys = register.keys
    persons = []
    for item in transfer.persons:
        values = {k: item.get(k) for k in _PERSON_FIELDS | {"birth_date"}}
        override = (cmd.relationships or {}).get(uuid.UUID(item["source_person_id"]))
        if override:
            values["relationship"] = override
        if item.get("my_number_cipher"):
            values["my_number"] = keys.decrypt(
                base64.b64decode(item["my_number_cipher"]), context=MY_NUMBER_CONTEXT
            )
        persons.append(PersonInput.model_validate(values))
    previous = f"{transfer.source_name} {transfer.persons[0].get('previous_address') or ''}".strip()
    result = register.move_in(
        MoveInCommand(
            effective_on=cmd.effective_on,
            notified_on=cmd.notified_on,
            notifier=cmd.notifier,
            memo=cmd.memo,
            persons=persons,
            address=cmd.address,
            previous_address=previous,
            join_household=cmd.join_household,
            transfer_id=transfer.id,
            move_out_certificate={
                "issuer": transfer.source_name,
                "issuer_lg_code": transfer.source_lg_code,
                "planned_move_out_on": transfer.planned_move_out_on.isoformat(),
                "electronic": "true",
            },
        ),
        kind,
    )
    for new_id, item in zip(result.person_ids, transfer.persons, strict=True):
        for m in item.get("protection") or []:
            protection.start(
                session,
                register.actor,
                new_id,
                category=m["category"],
                started_on=cmd.effective_on,
                aggressor=m["aggressor"],
                today=register.today,
                ends_on=dt.date.fromisoformat(m["ends_on"]),
                origin_lg_code=transfer.source_lg_code,
            )
    transfer.used_at = utcnow()
    transfer.used_event_id = result.event_id
    _notify_source(register, transfer, cmd.effective_on)
    return result


def _notify_source(register: Register, transfer: MoveTransfer, moved_in_on: dt.date) -> None:
    """Deliver the 転入通知 into A's tenant and confirm A's move-out there."""
    from resident_records.service import Register as RegisterCls

    session = register.session
    here = require_context(session)
    dest = tenancy_repo.municipality_by_id(session, here.tenant_id)
    source = tenancy_repo.municipality_by_code(session, transfer.source_lg_code)
    if source is None or dest is None:
        return
    source_ids = [uuid.UUID(p["source_person_id"]) for p in transfer.persons]
    with tenant_scope(session, TenantContext(TenantId(source.id), acting_tenant_id=here.tenant_id)):
        notice = MoveInNotice(
            source_event_id=transfer.source_event_id,
            destination_lg_code=dest.lg_code,
            destination_name=dest.name,
            person_ids=[str(p) for p in source_ids],
            moved_in_on=moved_in_on,
        )
        session.add(notice)
        session.flush()
        system = audit.Actor("system", f"move_in_notice:{dest.lg_code}")
        audit.record(
            session,
            actor=system,
            action="transfer.move_in_notice_received",
            subject_type="residency_event",
            subject_id=str(transfer.source_event_id),
            details={"from": dest.lg_code, "moved_in_on": moved_in_on.isoformat()},
        )
        source_register = RegisterCls(register.uow, system, register.ring, today=register.today)
        try:
            # confirm_move_out checks every person before it writes anything, so a refusal
            # leaves nothing half-done to roll back.
            result = source_register.confirm_move_out(
                MoveOutConfirmCommand(
                    person_ids=source_ids, moved_in_on=moved_in_on, destination_lg_code=dest.lg_code
                )
            )
            notice.confirmation_event_id = result.event_id
        except DomainError as exc:
            # A's records changed meanwhile (e.g. the move-out was cancelled): B's move-in
            # stands, and A's staff get an alert to settle it by hand.
            session.add(
                RegisterAlert(
                    kind="move_in_notice_unprocessed",
                    event_id=transfer.source_event_id,
                    message=f"{dest.name}からの転入通知を自動で確定できませんでした（{exc.message}）。",
                )
            )
        session.flush()


def notices(session: Session) -> list[MoveInNotice]:
    return list(
        session.scalars(scoped(session, MoveInNotice).order_by(MoveInNotice.received_at.desc()))
    )
