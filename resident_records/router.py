"""Resident register API (住民記録). Thin routes: authorise, parse, call the service, audit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core import audit
from core.crypto import TenantKeys
from core.errors import NotFound
from resident_records import protection, queries, transfers
from resident_records import repository as repo
from resident_records.models import EventKind
from resident_records.schemas import (
    BirthCommand,
    CancelCommand,
    CorrectionCommand,
    DeathCommand,
    DisclosureCheck,
    EventResult,
    HeadChangeCommand,
    HouseholdChangeCommand,
    HouseholdMergeCommand,
    HouseholdRead,
    HouseholdSplitCommand,
    MoveInCommand,
    MoveOutCommand,
    MoveOutConfirmCommand,
    MoveWithinCommand,
    NameChangeCommand,
    NonResidentCommand,
    ProtectionChange,
    ProtectionRead,
    ProtectionStart,
    RemovalCommand,
    ResidentRecordRead,
    ResidentSummary,
    StatisticsRead,
    TransferMoveInCommand,
    TransferRead,
)
from resident_records.service import Register
from tenancy.auth import Principal
from tenancy.deps import UoW, app_state, idempotent, personal_data_reader
from tenancy.models import Role

router = APIRouter(prefix="/api/v1", tags=["residents"])

Writer = Annotated[Principal, Depends(personal_data_reader(Role.CLERK, Role.SUPERVISOR))]
Reader = Annotated[
    Principal,
    Depends(
        personal_data_reader(
            Role.CLERK,
            Role.SUPERVISOR,
            Role.TAX_OFFICER,
            Role.NHI_OFFICER,
            Role.PENSION_OFFICER,
            Role.WELFARE_OFFICER,
        )
    ),
]
Supervisor = Annotated[Principal, Depends(personal_data_reader(Role.SUPERVISOR))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
Purpose = Annotated[str | None, Header(alias="X-Purpose", max_length=200)]


def _register(request: Request, uow: UoW, principal: Principal) -> Register:
    return Register(uow, principal.actor, app_state(request).ring)


def _event(
    request: Request,
    response: Response,
    uow: UoW,
    principal: Principal,
    key: str | None,
    body: BaseModel,
    run: Callable[[Register], EventResult],
) -> Any:
    register = _register(request, uow, principal)
    return idempotent(
        request,
        response,
        uow,
        principal,
        key,
        body.model_dump(mode="json"),
        201,
        lambda: run(register).model_dump(mode="json"),
    )


# --- additions --------------------------------------------------------------------------------


@router.post("/residents/move-in", status_code=201, response_model=EventResult)
def move_in(
    body: MoveInCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """転入届 (住民基本台帳法22条): a household or persons move in from another municipality."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.move_in(body, EventKind.MOVE_IN),
    )


@router.post("/residents/card-move-in", status_code=201, response_model=EventResult)
def card_move_in(
    body: MoveInCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """特例転入 (法24条の2): move-in with the My Number card, using the electronic move-out data."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.move_in(body, EventKind.CARD_MOVE_IN),
    )


@router.post("/residents/immigration", status_code=201, response_model=EventResult)
def immigration(
    body: MoveInCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """国外転入 (法22条, 30条の46): persons arrive from abroad."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.move_in(body, EventKind.IMMIGRATION),
    )


@router.post("/residents/ex-officio-entry", status_code=201, response_model=EventResult)
def ex_officio_entry(
    body: MoveInCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """職権記載 (法8条, 令12条): the mayor enters a record without a notification."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.move_in(body, EventKind.EX_OFFICIO_ENTRY),
    )


@router.post("/residents/birth", status_code=201, response_model=EventResult)
def birth(
    body: BirthCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """出生 (戸籍法49条の届出に基づく記載): the child joins a household."""
    return _event(request, response, uow, who, idempotency_key, body, lambda r: r.birth(body))


@router.post("/non-residents", status_code=201, response_model=EventResult)
def register_non_resident(
    body: NonResidentCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Reader,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """住登外者の登録 (宛名管理): tax, NHI, pension and welfare staff may register them too."""
    return _event(
        request, response, uow, who, idempotency_key, body, lambda r: r.register_non_resident(body)
    )


# --- address and household --------------------------------------------------------------------


@router.post("/residents/move-within", status_code=201, response_model=EventResult)
def move_within(
    body: MoveWithinCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """転居届 (法23条): a new address within the municipality."""
    return _event(request, response, uow, who, idempotency_key, body, lambda r: r.move_within(body))


@router.post("/residents/household-split", status_code=201, response_model=EventResult)
def household_split(
    body: HouseholdSplitCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """世帯分離 (法25条 世帯変更届)."""
    return _event(
        request, response, uow, who, idempotency_key, body, lambda r: r.household_split(body)
    )


@router.post("/residents/household-merge", status_code=201, response_model=EventResult)
def household_merge(
    body: HouseholdMergeCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """世帯合併 (法25条 世帯変更届)."""
    return _event(
        request, response, uow, who, idempotency_key, body, lambda r: r.household_merge(body)
    )


@router.post("/residents/head-change", status_code=201, response_model=EventResult)
def head_change(
    body: HeadChangeCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """世帯主変更 (法25条 世帯変更届)."""
    return _event(request, response, uow, who, idempotency_key, body, lambda r: r.head_change(body))


@router.post("/residents/household-change", status_code=201, response_model=EventResult)
def household_change(
    body: HouseholdChangeCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """世帯変更 (法25条): members move to another existing household."""
    return _event(
        request, response, uow, who, idempotency_key, body, lambda r: r.household_change(body)
    )


# --- removals ----------------------------------------------------------------------------------


@router.post("/residents/move-out", status_code=201, response_model=EventResult)
def move_out(
    body: MoveOutCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """転出届 (法24条): notified in advance with the planned date."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.move_out(body, EventKind.MOVE_OUT),
    )


@router.post("/residents/emigration", status_code=201, response_model=EventResult)
def emigration(
    body: MoveOutCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """国外転出 (法24条): leaving Japan."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.move_out(body, EventKind.EMIGRATION),
    )


@router.post("/residents/move-out-confirmation", status_code=201, response_model=EventResult)
def move_out_confirmation(
    body: MoveOutConfirmCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """転出確定 (法9条1項の転入通知): fixes the removal date from the destination's notice."""
    return _event(
        request, response, uow, who, idempotency_key, body, lambda r: r.confirm_move_out(body)
    )


@router.post("/residents/death", status_code=201, response_model=EventResult)
def death(
    body: DeathCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """死亡 (戸籍法86条の届出に基づく消除)."""
    return _event(request, response, uow, who, idempotency_key, body, lambda r: r.death(body))


@router.post("/residents/ex-officio-removal", status_code=201, response_model=EventResult)
def ex_officio_removal(
    body: RemovalCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Supervisor,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """職権消除 (法8条, 令12条): by a supervisor after investigation."""
    return _event(
        request, response, uow, who, idempotency_key, body, lambda r: r.ex_officio_removal(body)
    )


# --- corrections -------------------------------------------------------------------------------


@router.post("/residents/ex-officio-correction", status_code=201, response_model=EventResult)
def ex_officio_correction(
    body: CorrectionCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Supervisor,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """職権修正 (令12条): the corrected entry is appended; the old one stays in history."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.correct(body, EventKind.EX_OFFICIO_CORRECTION),
    )


@router.post("/residents/clerical-correction", status_code=201, response_model=EventResult)
def clerical_correction(
    body: CorrectionCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """誤記修正 (J:210): a clerk's typing error; the wrong entry stays in history."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: r.correct(body, EventKind.CLERICAL_CORRECTION),
    )


@router.post("/residents/name-change", status_code=201, response_model=EventResult)
def name_change(
    body: NameChangeCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """氏名・旧氏（令30条の13）・通称（令30条の16）の変更."""
    return _event(request, response, uow, who, idempotency_key, body, lambda r: r.change_name(body))


@router.post("/residents/events/{event_id}/cancel", status_code=201, response_model=EventResult)
def cancel_event(
    event_id: uuid.UUID,
    body: CancelCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Supervisor,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """取消 (J:980): restore the entries from before an event; nothing is deleted."""
    return _event(
        request, response, uow, who, idempotency_key, body, lambda r: r.cancel(event_id, body)
    )


# --- reads ---------------------------------------------------------------------------------------


class SearchPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total: int = Field(description="該当件数（1,000件を超える場合は 1001。条件を絞ってください）")
    more_than_cap: bool = False
    page: int
    per_page: int
    items: list[ResidentSummary]


class MyNumberQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    my_number: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    include_removed: bool = False


class MyNumberRevealed(BaseModel):
    my_number: str | None


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


def _audit_read(
    uow: UoW,
    who: Principal,
    action: str,
    subject_type: str,
    subject_id: str | None,
    purpose: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    audit.record(
        uow.session,
        actor=who.actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        purpose=purpose,
        details=details,
    )


@router.get("/residents/statistics")
def statistics(uow: UoW, who: Reader, as_of: dt.date | None = None) -> StatisticsRead:
    """人口統計: counts by sex, age band, 町字 and nationality on any date."""
    return queries.statistics(uow.session, as_of or dt.date.today())


@router.get("/residents")
def search(
    uow: UoW,
    who: Reader,
    purpose: Purpose = None,
    kana: Annotated[str | None, Query(max_length=50)] = None,
    given_kana: Annotated[str | None, Query(max_length=50)] = None,
    name: Annotated[str | None, Query(max_length=50)] = None,
    birth_date: dt.date | None = None,
    machiaza_code: Annotated[str | None, Query(max_length=16)] = None,
    banchi: Annotated[str | None, Query(max_length=60)] = None,
    atena_number: Annotated[str | None, Query(pattern=r"^\d{1,16}$")] = None,
    juminhyo_code: Annotated[str | None, Query(pattern=r"^\d{11}$")] = None,
    include_removed: bool = False,
    include_non_residents: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchPage:
    """住民検索: kana prefix, kanji name prefix, birth date, address, 宛名番号, 住民票コード."""
    q = repo.SearchQuery(
        kana=queries.search_kana(kana) if kana else None,
        given_kana=queries.search_kana(given_kana) if given_kana else None,
        name=queries.search_name(name) if name else None,
        birth_date=birth_date,
        machiaza_code=machiaza_code,
        banchi=banchi,
        atena_number=atena_number,
        juminhyo_code=juminhyo_code,
        include_removed=include_removed,
        include_non_residents=include_non_residents,
    )
    rows, total = repo.search(uow.session, q, limit=per_page, offset=(page - 1) * per_page)
    _audit_read(
        uow,
        who,
        "resident.search",
        "resident",
        None,
        purpose,
        {
            "criteria": sorted(k for k, v in q.__dict__.items() if v not in (None, False)),
            "results": len(rows),
        },
    )
    return SearchPage(
        total=total,
        more_than_cap=total > repo.SEARCH_COUNT_CAP,
        page=page,
        per_page=per_page,
        items=queries.summaries(uow.session, rows),
    )


@router.post("/residents/search/my-number")
def search_by_my_number(
    body: MyNumberQuery, request: Request, uow: UoW, who: Reader, purpose: Purpose = None
) -> SearchPage:
    """個人番号で検索 (exact, by blind index; the number travels in the body, never the URL)."""
    keys = TenantKeys(uow.session, app_state(request).ring)
    q = repo.SearchQuery(
        my_number_index=queries.my_number_index(keys, body.my_number),
        include_removed=body.include_removed,
    )
    rows, total = repo.search(uow.session, q, limit=20, offset=0)
    _audit_read(
        uow,
        who,
        "resident.search",
        "resident",
        None,
        purpose,
        {"criteria": ["my_number"], "results": len(rows)},
    )
    return SearchPage(total=total, page=1, per_page=20, items=queries.summaries(uow.session, rows))


@router.get("/residents/{person_id}")
def get_record(
    person_id: uuid.UUID,
    uow: UoW,
    who: Reader,
    purpose: Purpose = None,
    as_of: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> ResidentRecordRead:
    """住民票の内容: as of a date (異動日) and as known at a time (処理日); 個人番号 masked."""
    if known_at is not None and known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=dt.UTC)
    read = queries.record(uow.session, person_id, as_of=as_of, known_at=known_at)
    _audit_read(
        uow,
        who,
        "resident.read",
        "resident",
        str(person_id),
        purpose,
        {
            "as_of": as_of.isoformat() if as_of else None,
            "known_at": known_at.isoformat() if known_at else None,
        },
    )
    return read


@router.get("/residents/{person_id}/history")
def get_history(
    person_id: uuid.UUID, uow: UoW, who: Reader, purpose: Purpose = None
) -> list[dict[str, Any]]:
    """異動履歴: every version in recorded order, corrections and cancelled entries included."""
    out = queries.history(uow.session, person_id)
    _audit_read(uow, who, "resident.history_read", "resident", str(person_id), purpose)
    return out


@router.post("/residents/{person_id}/my-number")
def reveal_my_number(
    person_id: uuid.UUID, body: RevealRequest, request: Request, uow: UoW, who: Writer
) -> MyNumberRevealed:
    """個人番号の表示 (番号法19条の事務に限る): shown only on request, with the purpose audited."""
    keys = TenantKeys(uow.session, app_state(request).ring)
    value = queries.reveal_my_number(uow.session, keys, person_id)
    _audit_read(uow, who, "resident.my_number_revealed", "resident", str(person_id), body.purpose)
    return MyNumberRevealed(my_number=value)


@router.get("/households/{household_id}")
def get_household(
    household_id: uuid.UUID,
    uow: UoW,
    who: Reader,
    purpose: Purpose = None,
    on: dt.date | None = None,
) -> HouseholdRead:
    """世帯の内容: members on a date, head first, with the version for later edits."""
    read = queries.household(uow.session, household_id, on=on)
    _audit_read(uow, who, "household.read", "household", str(household_id), purpose)
    return read


class MachiazaRead(BaseModel):
    code: str
    name: str
    kana: str
    postcode: str | None


@router.get("/machiaza")
def list_machiaza(uow: UoW, who: Reader) -> list[MachiazaRead]:
    """町字マスタ of the caller's municipality."""
    return [
        MachiazaRead(code=m.code, name=m.name, kana=m.kana, postcode=m.postcode)
        for m in repo.machiaza_all(uow.session)
    ]


class AlertRead(BaseModel):
    id: uuid.UUID
    kind: str
    message: str
    household_id: uuid.UUID | None
    event_id: uuid.UUID | None
    created_at: dt.datetime


@router.get("/residents-alerts")
def list_alerts(uow: UoW, who: Reader) -> list[AlertRead]:
    """要対応: head changes to take, late notifications to report."""
    return [
        AlertRead(
            id=a.id,
            kind=a.kind,
            message=a.message,
            household_id=a.household_id,
            event_id=a.event_id,
            created_at=a.created_at,
        )
        for a in repo.open_alerts(uow.session)
    ]


# --- moves between members of the deployment ---------------------------------------------------


@router.get("/residents-transfers")
def list_transfers(uow: UoW, who: Writer) -> list[TransferRead]:
    """電子的な転出情報 received from other members and not yet used for a move-in."""
    out = [
        TransferRead.model_validate(t, from_attributes=True) for t in transfers.pending(uow.session)
    ]
    for t in out:  # the ciphertext stays in the database
        t.persons = [{k: v for k, v in p.items() if k != "my_number_cipher"} for p in t.persons]
    _audit_read(uow, who, "transfer.list_read", "move_transfer", None, None, {"count": len(out)})
    return out


@router.post(
    "/residents-transfers/{transfer_id}/move-in", status_code=201, response_model=EventResult
)
def move_in_from_transfer(
    transfer_id: uuid.UUID,
    body: TransferMoveInCommand,
    request: Request,
    response: Response,
    uow: UoW,
    who: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """転入 / 特例転入 from another member's electronic move-out data (法24条の2); the source
    receives the 転入通知 and its move-out is confirmed in the same transaction."""
    return _event(
        request,
        response,
        uow,
        who,
        idempotency_key,
        body,
        lambda r: transfers.move_in(r, transfer_id, body),
    )


# --- protection measures (DV等支援措置) ----------------------------------------------------------


def _protection_read(m: Any) -> ProtectionRead:
    return ProtectionRead(
        id=m.id,
        person_id=m.person_id,
        category=m.category,
        started_on=m.started_on,
        ends_on=m.ends_on,
        ended_on=m.ended_on,
        extensions=m.extensions,
        in_force=protection.in_force(m, dt.date.today()),
        origin_lg_code=m.origin_lg_code,
        version=m.version,
    )


@router.get("/residents/{person_id}/protection")
def list_protection(person_id: uuid.UUID, uow: UoW, who: Writer) -> list[ProtectionRead]:
    """支援措置の一覧 of one person."""
    if repo.person(uow.session, person_id) is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    _audit_read(uow, who, "protection.read", "resident", str(person_id), None)
    return [_protection_read(m) for m in protection.measures(uow.session, person_id)]


@router.post("/residents/{person_id}/protection", status_code=201)
def start_protection(
    person_id: uuid.UUID, body: ProtectionStart, uow: UoW, who: Supervisor
) -> ProtectionRead:
    """支援措置の開始 (事務処理要領 第5-10): one year, ending by itself."""
    m = protection.start(
        uow.session,
        who.actor,
        person_id,
        category=body.category,
        started_on=body.started_on,
        aggressor=body.aggressor,
        today=dt.date.today(),
    )
    return _protection_read(m)


@router.post("/protection-measures/{measure_id}/extend")
def extend_protection(
    measure_id: uuid.UUID, body: ProtectionChange, uow: UoW, who: Supervisor
) -> ProtectionRead:
    """支援措置の延長 (from one month before the end, by one year)."""
    m = protection.extend(
        uow.session, who.actor, measure_id, version=body.version, today=dt.date.today()
    )
    return _protection_read(m)


@router.post("/protection-measures/{measure_id}/end")
def end_protection(
    measure_id: uuid.UUID, body: ProtectionChange, uow: UoW, who: Supervisor
) -> ProtectionRead:
    """支援措置の終了 (at the person's request)."""
    today = dt.date.today()
    m = protection.end(
        uow.session,
        who.actor,
        measure_id,
        version=body.version,
        ended_on=body.ended_on or today,
        today=today,
    )
    return _protection_read(m)


@router.post("/residents/{person_id}/disclosure-check")
def disclosure_check(
    person_id: uuid.UUID, body: DisclosureCheck, uow: UoW, who: Writer
) -> dict[str, bool]:
    """交付・閲覧の可否: refused (403, logged) while a protection measure is in force."""
    if repo.person(uow.session, person_id) is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    blocked = protection.check_disclosure(
        uow.session,
        who.actor,
        person_id,
        requester_type=body.requester_type,
        requester_name=body.requester_name,
        purpose=body.purpose,
        on=dt.date.today(),
    )
    if blocked is not None:
        uow.commit()  # the refused attempt stays in the log although the request fails
        raise blocked
    return {"allowed": True}
