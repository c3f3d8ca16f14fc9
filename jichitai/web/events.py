"""Counter forms for the other residency events (異動届), next to 転入 and 転出 in ``counter``.

転居, 出生, 死亡, 国外転出, 職権消除, 氏名等の変更, 誤記修正・職権修正 and 取消 start from a
resident; 世帯分離, 世帯合併, 世帯主変更 and 世帯変更 from a household; 国外転入 and 職権記載 have
their own form (the 転入 form of ``counter`` posts to the 転入 route only); 転入 from another
member's electronic move-out data starts from the list of incoming transfers.

Every form works like those of ``counter``: the form, a confirmation that writes nothing (the
use case runs and is rolled back, so every rule of the register is checked before the clerk
confirms), then the registration and the receipt. Errors sit next to their fields in Japanese;
an error about something the form does not show goes to the top of the page, so none is lost.
A household's version travels in a hidden field from the page the clerk read: a change made
meanwhile at another counter is refused (409) instead of silently overwritten.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import FormData

from core import audit
from core.db import utcnow
from core.errors import NotFound
from core.uow import UnitOfWork
from jichitai.web.common import (
    COUNTER_ROLES,
    SEX_OPTIONS,
    PageRedirect,
    check_csrf,
    form_data,
    page,
    rehearse,
    staff,
    unflatten,
    validate_form,
)
from jichitai.web.routes import error_page
from resident_records import queries, transfers
from resident_records import repository as repo
from resident_records.models import (
    EVENT_LABELS,
    EventKind,
    Household,
    RecordStatus,
)
from resident_records.rules.register_dates import (
    RegisterDate,
    RegisterDateError,
    parse_register_date,
)
from resident_records.rules.relationship import is_head
from resident_records.schemas import (
    FOREIGN_CATEGORIES,
    BirthCommand,
    CancelCommand,
    CorrectionCommand,
    DeathCommand,
    EventResult,
    HeadChangeCommand,
    HouseholdChangeCommand,
    HouseholdMergeCommand,
    HouseholdRead,
    HouseholdSplitCommand,
    MoveInCommand,
    MoveOutCommand,
    MoveWithinCommand,
    NameChangeCommand,
    PersonInput,
    RemovalCommand,
    ResidentRecordRead,
    TransferMoveInCommand,
)
from resident_records.service import Register
from tenancy.auth import Principal
from tenancy.deps import UoW, app_state
from tenancy.models import Role
from tenancy.repository import scoped

router = APIRouter(include_in_schema=False)
Posted = Annotated[FormData, Depends(form_data)]
Run = Callable[[Register, Any], EventResult]

SUPERVISOR_ONLY = (Role.SUPERVISOR,)
ENTRY_ROWS = 2
# The dates and notes every notification carries (EventBase); always on the form.
BASE_FIELDS = ("effective_on", "notified_on", "notifier", "memo")
CORRECTION_KINDS = [
    (EventKind.CLERICAL_CORRECTION.value, "誤記修正"),
    (EventKind.EX_OFFICIO_CORRECTION.value, "職権修正（責任者）"),
]
# The items a correction may change (service.Register._CORRECTABLE), in the record's order;
# 外国人住民の記載事項 and the entitlements have their own procedures, so they are not offered.
CORRECTABLE = [
    ("family_name", "氏"),
    ("given_name", "名"),
    ("family_name_kana", "氏（カナ）"),
    ("given_name_kana", "名（カナ）"),
    ("former_surname", "旧氏"),
    ("former_surname_kana", "旧氏（カナ）"),
    ("birth_date", "生年月日"),
    ("sex", "性別"),
    ("honseki", "本籍"),
    ("koseki_head", "筆頭者"),
]
NAME_FIELDS = [
    ("family_name", "氏"),
    ("given_name", "名"),
    ("family_name_kana", "氏（カナ）"),
    ("given_name_kana", "名（カナ）"),
    ("former_surname", "旧氏"),
    ("former_surname_kana", "旧氏（カナ）"),
    ("alias_name", "通称"),
    ("alias_name_kana", "通称（カナ）"),
]


@dataclass
class Entry:
    """A form that enters new persons without a move-out certificate of this deployment."""

    kind: EventKind
    title: str
    previous_label: str
    previous_hint: str


ENTRIES = {
    "/residents-immigration": Entry(
        EventKind.IMMIGRATION, "国外転入届", "従前の住所（国名）", "例：アメリカ合衆国"
    ),
    "/residents-ex-officio-entry": Entry(
        EventKind.EX_OFFICIO_ENTRY,
        "職権記載",
        "従前の住所",
        "調査で判明した従前の住所（不明の場合は「不詳」）",
    ),
}


@dataclass
class Desk:
    """One request at the counter: who is signed in, in which unit of work."""

    request: Request
    uow: UnitOfWork
    who: Principal

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        return page(self.request, template, self.who, status, **context)

    def not_found(self) -> PageRedirect:
        # The same page whether the record is another municipality's or does not exist at all.
        return PageRedirect(error_page(self.request, 404, self.who))

    def register(self) -> Register:
        return Register(self.uow, self.who.actor, app_state(self.request).ring)

    def seen(self, action: str, subject_type: str, subject_id: uuid.UUID) -> None:
        """Every screen showing personal data leaves an audit entry (who saw what)."""
        audit.record(
            self.uow.session,
            actor=self.who.actor,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            details={"channel": "web"},
        )


def _desk(request: Request, uow: UnitOfWork, *roles: str) -> Desk:
    return Desk(request, uow, staff(request, uow, *(roles or COUNTER_ROLES)))


def _posted(desk: Desk, posted: FormData) -> dict[str, str]:
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    check_csrf(desk.request, desk.who, form.get("csrf_token", ""))
    return form


def _values(form: dict[str, str], posted: FormData, *lists: str) -> dict[str, Any]:
    """The form as entered. Checkbox lists come ticked (``name``) from the form or carried
    (``name.0``, ``name.1`` …) from the confirmation page's hidden fields."""
    values = unflatten({k: v for k, v in form.items() if k not in lists})
    for name in lists:
        ticked = [v for v in posted.getlist(name) if isinstance(v, str) and v]
        carried = values.get(name)
        values[name] = ticked or (list(carried) if isinstance(carried, list) else [])
    return values


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _today() -> str:
    return dt.date.today().isoformat()


def _dates() -> dict[str, Any]:
    return {"effective_on": _today(), "notified_on": _today()}


def _machiaza(uow: UnitOfWork) -> list[tuple[str, str]]:
    return [(m.code, m.name) for m in repo.machiaza_all(uow.session) if m.active]


def _machiaza_name(uow: UnitOfWork, values: dict[str, Any]) -> str:
    code = _mapping(values.get("address")).get("machiaza_code", "")
    return dict(_machiaza(uow)).get(code, "")


# --- answering a POST: check, confirm (nothing written), register --------------------------


def _placed(
    errors: dict[str, str], shown: Collection[str], rename: Mapping[str, str]
) -> dict[str, str]:
    """Errors keyed by the form's field names; those of fields not on the form go to the top."""
    placed: dict[str, str] = {}
    loose: list[str] = []
    for key, message in errors.items():
        name = rename.get(key, key)
        if name != "_" and any(name == f or name.startswith(f + ".") for f in shown):
            placed.setdefault(name, message)
        else:
            loose.append(message)
    if loose:
        placed["_"] = " ".join(dict.fromkeys(loose))
    return placed


def _answer(
    desk: Desk,
    form: dict[str, str],
    *,
    template: str,
    values: dict[str, Any],
    command: tuple[type[BaseModel], dict[str, Any]],
    run: Run,
    shown: Collection[str],
    seen: tuple[str, str, uuid.UUID] | None,
    rename: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """Confirm (checked and rolled back), show the form again, or register and go to the
    receipt. ``problems`` are the form's own checks; they stop the rehearsal."""
    model, data = command
    parsed, invalid = validate_form(model, data)
    # The form's own checks first: they are the more precise message for a field.
    errors = dict(problems or {})
    for key, message in invalid.items():
        errors.setdefault(key, message)
    status = 422
    register = desk.register()
    if parsed is not None and not errors:
        errors, status = rehearse(desk.uow, lambda: run(register, parsed))
    errors = _placed(errors, (*BASE_FIELDS, *shown), rename or {})
    action = form.get("action", "confirm")
    if errors or action != "commit":
        step = "confirm" if not errors and action == "confirm" else "form"
        if seen is not None:  # after the rehearsal: its rollback would take the entry along
            desk.seen(*seen)
        return desk.render(
            template,
            status if errors else 200,
            values=values,
            errors=errors,
            step=step,
            **context,
        )
    result = run(register, parsed)
    desk.uow.commit()
    return RedirectResponse(f"/receipts/{result.event_id}", status_code=303)


def _form_page(desk: Desk, template: str, values: dict[str, Any], **context: Any) -> Response:
    return desk.render(template, values=values, errors={}, step="form", **context)


# --- looking records up (another municipality's: the not-found page) ------------------------


def _resident(desk: Desk, person_id: uuid.UUID) -> tuple[ResidentRecordRead, HouseholdRead]:
    """A resident's record and household (the forms that change a household need one)."""
    cur = repo.current(desk.uow.session, person_id)
    if cur is None or cur.household_id is None or cur.status == RecordStatus.VOIDED:
        raise desk.not_found()
    record = queries.record(desk.uow.session, person_id)
    return record, queries.household(desk.uow.session, cur.household_id)


def _person(desk: Desk, person_id: uuid.UUID) -> ResidentRecordRead:
    cur = repo.current(desk.uow.session, person_id)
    if cur is None or cur.status == RecordStatus.VOIDED:
        raise desk.not_found()
    return queries.record(desk.uow.session, person_id)


def _household(desk: Desk, household_id: uuid.UUID) -> HouseholdRead:
    try:
        return queries.household(desk.uow.session, household_id)
    except NotFound:
        raise desk.not_found() from None


def _household_by_number(uow: UnitOfWork, number: str) -> HouseholdRead | None:
    """A household of this municipality by its 世帯番号 (full-width digits and hyphens allowed)."""
    digits = unicodedata.normalize("NFKC", number).replace("-", "").replace(" ", "")
    if not digits.isdigit():
        return None
    found = uow.session.scalar(
        scoped(uow.session, Household).where(Household.household_number == digits)
    )
    return queries.household(uow.session, found.id) if found is not None else None


def _household_by_id(uow: UnitOfWork, value: Any) -> HouseholdRead | None:
    try:
        return queries.household(uow.session, uuid.UUID(str(value)))
    except (ValueError, NotFound):
        return None


def _ref(read: HouseholdRead, values: dict[str, Any], key: str = "household") -> dict[str, Any]:
    """The household as the server knows it, at the version the clerk's page showed."""
    return {
        "household_id": str(read.household_id),
        "version": _mapping(values.get(key)).get("version"),
    }


def _member_ids(read: HouseholdRead) -> set[str]:
    return {str(m.person_id) for m in read.members}


def _new_head(relationships: dict[str, Any], field: str) -> dict[str, str]:
    """A new household needs its members and a 世帯主. The register does not check either
    (it would create an empty or headless household), so the form does."""
    if not relationships:
        return {field: "新しい世帯に移る方の続柄を入力してください。"}
    if not any(isinstance(r, str) and is_head(r) for r in relationships.values()):
        return {field: "新しい世帯の世帯主を1人指定してください（続柄「世帯主」）。"}
    return {}


# --- 転居 ---------------------------------------------------------------------------------

MOVE_WITHIN = "event_move_within.html"


@router.get("/residents/{person_id}/move-within")
def move_within_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """転居届の入力 (法23条): who moves, the new address; a part of the household moving out
    forms a new household, so their new 続柄 are asked too."""
    desk = _desk(request, uow)
    record, household = _resident(desk, person_id)
    desk.seen("household.viewed", "household", household.household_id)
    values = _dates() | {"person_ids": sorted(_member_ids(household))}
    return _form_page(
        desk, MOVE_WITHIN, values, record=record, household=household, machiaza=_machiaza(uow)
    )


@router.post("/residents/{person_id}/move-within")
def move_within_submit(
    request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted
) -> Response:
    """転居届: confirm, then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    record, household = _resident(desk, person_id)
    values = _values(form, posted, "person_ids")
    movers = set(values["person_ids"])
    data = dict(values, household=_ref(household, values))
    # Relationships are asked only when part of the household moves; blanks and the members
    # staying behind are not part of the notification.
    relationships = {
        k: v for k, v in _mapping(values.get("new_household_relationships")).items() if k in movers
    }
    data.pop("new_household_relationships", None)
    problems: dict[str, str] = {}
    if relationships and movers != _member_ids(household):
        data["new_household_relationships"] = relationships
        problems = _new_head(relationships, "new_household_relationships")
    return _answer(
        desk,
        form,
        template=MOVE_WITHIN,
        values=values,
        command=(MoveWithinCommand, data),
        run=lambda r, c: r.move_within(c),
        shown=("person_ids", "address", "new_household_relationships"),
        problems=problems,
        seen=("household.viewed", "household", household.household_id),
        record=record,
        household=household,
        machiaza=_machiaza(uow),
        machiaza_name=_machiaza_name(uow, values),
    )


# --- 出生 ---------------------------------------------------------------------------------

BIRTH = "event_birth.html"


@router.get("/residents/{person_id}/birth")
def birth_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """出生届に基づく記載: the child joins this resident's household."""
    desk = _desk(request, uow)
    record, household = _resident(desk, person_id)
    desk.seen("household.viewed", "household", household.household_id)
    d = record.data
    # The parent's 氏, 本籍 and 筆頭者 are usually the child's: prefilled, the clerk checks them.
    child = {
        "family_name": d.get("family_name"),
        "family_name_kana": d.get("family_name_kana"),
        "relationship": "子",
        "honseki": d.get("honseki"),
        "koseki_head": d.get("koseki_head"),
    }
    values = _dates() | {"person": {k: v for k, v in child.items() if v}}
    return _form_page(
        desk, BIRTH, values, record=record, household=household, sex_options=SEX_OPTIONS
    )


def _register_text(iso: str) -> str:
    """A date input (ISO) as the register writes a Japanese resident's date (和暦)."""
    try:
        dt.date.fromisoformat(iso)
        return parse_register_date(iso).format_japanese()
    except (ValueError, RegisterDateError):
        return iso


@router.post("/residents/{person_id}/birth")
def birth_submit(request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted) -> Response:
    """出生: confirm, then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    record, household = _resident(desk, person_id)
    values = _values(form, posted)
    # 異動日 is the date of birth: asked once, and written as the child's 生年月日 too.
    child = _mapping(values.get("person"))
    born = str(values.get("effective_on", ""))
    if born:
        child["birth_date"] = _register_text(born)
    data = dict(values, person=child, household=_ref(household, values))
    return _answer(
        desk,
        form,
        template=BIRTH,
        values=values,
        command=(BirthCommand, data),
        run=lambda r, c: r.birth(c),
        shown=("person",),
        # The service names the child's items without the "person." of the command.
        rename={
            "person.birth_date": "effective_on",
            "birth_date": "effective_on",
            "family_name_kana": "person.family_name_kana",
            "given_name_kana": "person.given_name_kana",
        },
        seen=("household.viewed", "household", household.household_id),
        record=record,
        household=household,
        sex_options=SEX_OPTIONS,
    )


# --- 死亡・職権消除 -------------------------------------------------------------------------

DEATH = "event_death.html"
REMOVAL = "event_removal.html"


@router.get("/residents/{person_id}/death")
def death_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """死亡届に基づく消除 (戸籍法86条)."""
    desk = _desk(request, uow)
    record, household = _resident(desk, person_id)
    desk.seen("resident.viewed", "resident", person_id)
    return _form_page(desk, DEATH, _dates(), record=record, household=household)


@router.post("/residents/{person_id}/death")
def death_submit(request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted) -> Response:
    """死亡: confirm, then register (the record becomes a 除票)."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    record, household = _resident(desk, person_id)
    values = _values(form, posted)
    data = dict(values, person_id=str(person_id), household=_ref(household, values))
    return _answer(
        desk,
        form,
        template=DEATH,
        values=values,
        command=(DeathCommand, data),
        run=lambda r, c: r.death(c),
        shown=("date_of_death_text",),
        seen=("resident.viewed", "resident", person_id),
        record=record,
        household=household,
    )


@router.get("/residents/{person_id}/removal")
def removal_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """職権消除 (法8条, 令12条): by a supervisor, after investigation."""
    desk = _desk(request, uow, *SUPERVISOR_ONLY)
    record, household = _resident(desk, person_id)
    desk.seen("resident.viewed", "resident", person_id)
    return _form_page(desk, REMOVAL, _dates(), record=record, household=household)


@router.post("/residents/{person_id}/removal")
def removal_submit(request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted) -> Response:
    """職権消除: confirm, then register."""
    desk = _desk(request, uow, *SUPERVISOR_ONLY)
    form = _posted(desk, posted)
    record, household = _resident(desk, person_id)
    values = _values(form, posted)
    data = dict(values, person_id=str(person_id), household=_ref(household, values))
    return _answer(
        desk,
        form,
        template=REMOVAL,
        values=values,
        command=(RemovalCommand, data),
        run=lambda r, c: r.ex_officio_removal(c),
        shown=("reason",),
        seen=("resident.viewed", "resident", person_id),
        record=record,
        household=household,
    )


# --- 国外転出 -------------------------------------------------------------------------------

EMIGRATION = "event_emigration.html"


@router.get("/residents/{person_id}/emigration")
def emigration_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """国外転出届 (法24条): who leaves Japan, the planned date, the country."""
    desk = _desk(request, uow)
    record, household = _resident(desk, person_id)
    desk.seen("household.viewed", "household", household.household_id)
    values = _dates() | {"person_ids": [str(person_id)]}
    return _form_page(desk, EMIGRATION, values, record=record, household=household)


@router.post("/residents/{person_id}/emigration")
def emigration_submit(request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted) -> Response:
    """国外転出: confirm, then register (removed on the planned date)."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    record, household = _resident(desk, person_id)
    values = _values(form, posted, "person_ids")
    data = dict(values, household=_ref(household, values))
    data.pop("destination_lg_code", None)  # abroad: no member of this deployment to send to
    return _answer(
        desk,
        form,
        template=EMIGRATION,
        values=values,
        command=(MoveOutCommand, data),
        run=lambda r, c: r.move_out(c, EventKind.EMIGRATION),
        shown=("person_ids", "destination_address"),
        seen=("household.viewed", "household", household.household_id),
        record=record,
        household=household,
    )


# --- 氏名・旧氏・通称の変更 -----------------------------------------------------------------

NAME_CHANGE = "event_name_change.html"


@router.get("/residents/{person_id}/name-change")
def name_change_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """氏名・旧氏（令30条の13）・通称（令30条の16）の変更: only the items that change."""
    desk = _desk(request, uow)
    record = _person(desk, person_id)
    desk.seen("resident.viewed", "resident", person_id)
    return _form_page(desk, NAME_CHANGE, _dates(), record=record, fields=NAME_FIELDS)


@router.post("/residents/{person_id}/name-change")
def name_change_submit(
    request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted
) -> Response:
    """氏名等の変更: confirm, then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    record = _person(desk, person_id)
    values = _values(form, posted)
    return _answer(
        desk,
        form,
        template=NAME_CHANGE,
        values=values,
        command=(NameChangeCommand, dict(values, person_id=str(person_id))),
        run=lambda r, c: r.change_name(c),
        # 通称 is asked of foreign residents only; for others an error about it goes on top.
        shown=[n for n, _label in NAME_FIELDS if record.data.get("foreign") or "alias" not in n],
        seen=("resident.viewed", "resident", person_id),
        record=record,
        fields=NAME_FIELDS,
    )


# --- 誤記修正・職権修正 ---------------------------------------------------------------------

CORRECTION = "event_correction.html"


def _correctable(desk: Desk, person_id: uuid.UUID) -> dict[str, Any]:
    """The person's items in the entry in force today: what the service corrects."""
    session = desk.uow.session
    today = dt.date.today()
    entry = repo.latest_version(session, person_id)
    if entry is not None and entry.effective_on > today:  # a planned move-out is re-based
        entry = repo.version_as_of(session, person_id, today, utcnow()) or entry
    if entry is None:
        raise desk.not_found()
    items = {k: v for k, v in entry.data.items() if k in PersonInput.model_fields}
    items["birth_date"] = RegisterDate.from_json(entry.data["birth_date"]).text
    return items


def _shown_text(value: Any) -> str:
    return "" if value is None else str(value)


@router.get("/residents/{person_id}/correction")
def correction_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """誤記修正・職権修正: the items as recorded, to be corrected in place; the wrong entry
    stays in the history."""
    desk = _desk(request, uow)
    record = _person(desk, person_id)
    items = _correctable(desk, person_id)
    desk.seen("resident.viewed", "resident", person_id)
    values = _dates() | {
        "kind": EventKind.CLERICAL_CORRECTION.value,
        "changes": {name: _shown_text(items.get(name)) for name, _label in CORRECTABLE},
    }
    return _form_page(desk, CORRECTION, values, **_correction_context(desk, record, items))


def _correction_context(
    desk: Desk, record: ResidentRecordRead, items: dict[str, Any]
) -> dict[str, Any]:
    supervisor = Role.SUPERVISOR in desk.who.roles
    return {
        "record": record,
        "fields": CORRECTABLE,
        "kinds": [k for k in CORRECTION_KINDS if supervisor or k[0] == "clerical_correction"],
        "sex_options": SEX_OPTIONS,
        "current": {name: _shown_text(items.get(name)) for name, _label in CORRECTABLE},
    }


@router.post("/residents/{person_id}/correction")
def correction_submit(request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted) -> Response:
    """誤記修正・職権修正: confirm (the items before and after), then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    record = _person(desk, person_id)
    items = _correctable(desk, person_id)
    values = _values(form, posted)
    # A blank field erases the item (an 旧氏 recorded by mistake); only what differs from the
    # record is sent, so the history names exactly the corrected items.
    changes: dict[str, Any] = {}
    for name, _label in CORRECTABLE:
        entered = form.get(f"changes.{name}", "").strip() or None
        if entered != (_shown_text(items.get(name)) or None):
            changes[name] = entered
    problems: dict[str, str] = {}
    kind = str(values.get("kind", ""))
    context = _correction_context(desk, record, items)
    if kind not in {k for k, _label in context["kinds"]}:
        problems["kind"] = (
            "職権修正は責任者のみ登録できます。"
            if kind == EventKind.EX_OFFICIO_CORRECTION
            else "修正の種類を選んでください。"
        )
    if not changes:
        problems["changes"] = (
            "修正する項目がありません。記載事項を訂正してから確認へ進んでください。"
        )
    else:
        # The items are checked together as the record they make (as the service does), so
        # each message sits next to its own field.
        _parsed, invalid = validate_form(PersonInput, dict(items, **changes))
        problems |= {f"changes.{k}": v for k, v in invalid.items() if k in changes}
    data = {k: v for k, v in values.items() if k not in {"kind", "changes"}}
    data |= {"person_id": str(person_id), "changes": changes}
    context["changed"] = [
        (label, context["current"][name], _shown_text(changes[name]))
        for name, label in CORRECTABLE
        if name in changes
    ]
    return _answer(
        desk,
        form,
        template=CORRECTION,
        values=values,
        command=(CorrectionCommand, data),
        run=lambda r, c: r.correct(c, EventKind(kind)),
        shown=("kind", "changes", "reason"),
        rename={name: f"changes.{name}" for name, _label in CORRECTABLE},
        problems=problems,
        seen=("resident.viewed", "resident", person_id),
        **context,
    )


# --- 取消 -----------------------------------------------------------------------------------

CANCEL = "event_cancel.html"


def _cancel_context(desk: Desk, event_id: uuid.UUID) -> dict[str, Any]:
    session = desk.uow.session
    event = repo.event(session, event_id)
    if event is None:
        raise desk.not_found()
    ids = [uuid.UUID(p) for p in event.person_ids]
    persons = queries.summaries(session, list(repo.currents(session, ids).values()))
    blocked = None
    if event.kind == EventKind.CANCELLATION:
        blocked = "取消を取り消すことはできません。"
    elif repo.cancellation_of(session, event_id) is not None:
        blocked = "この異動は既に取り消されています。"
    return {
        "event": {
            "id": event.id,
            "label": EVENT_LABELS.get(event.kind, event.kind),
            "effective_on": event.effective_on,
            "notified_on": event.notified_on,
            "recorded_at": event.recorded_at,
        },
        "persons": persons,
        "blocked": blocked,
    }


@router.get("/events/{event_id}/cancel")
def cancel_form(request: Request, uow: UoW, event_id: uuid.UUID) -> Response:
    """取消 (J:980): the entries from before an event are restored; nothing is deleted."""
    desk = _desk(request, uow, *SUPERVISOR_ONLY)
    context = _cancel_context(desk, event_id)
    desk.seen("residency_event.viewed", "residency_event", event_id)
    return _form_page(desk, CANCEL, {}, **context)


@router.post("/events/{event_id}/cancel")
def cancel_submit(request: Request, uow: UoW, event_id: uuid.UUID, posted: Posted) -> Response:
    """取消: confirm, then register the cancellation."""
    desk = _desk(request, uow, *SUPERVISOR_ONLY)
    form = _posted(desk, posted)
    context = _cancel_context(desk, event_id)
    values = _values(form, posted)
    return _answer(
        desk,
        form,
        template=CANCEL,
        values=values,
        command=(CancelCommand, values),
        run=lambda r, c: r.cancel(event_id, c),
        shown=("reason",),
        seen=("residency_event.viewed", "residency_event", event_id),
        **context,
    )


# --- 世帯分離・世帯主変更 ---------------------------------------------------------------------

SPLIT = "event_household_split.html"
HEAD_CHANGE = "event_head_change.html"


@router.get("/households/{household_id}/split")
def split_form(request: Request, uow: UoW, household_id: uuid.UUID) -> Response:
    """世帯分離 (法25条): some members form a new household at the same address."""
    desk = _desk(request, uow)
    household = _household(desk, household_id)
    desk.seen("household.viewed", "household", household_id)
    return _form_page(desk, SPLIT, _dates(), household=household)


@router.post("/households/{household_id}/split")
def split_submit(request: Request, uow: UoW, household_id: uuid.UUID, posted: Posted) -> Response:
    """世帯分離: confirm, then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    household = _household(desk, household_id)
    values = _values(form, posted)
    relationships = _mapping(values.get("relationships"))
    problems = _new_head(relationships, "relationships")
    data = dict(values, household=_ref(household, values), relationships=relationships)
    return _answer(
        desk,
        form,
        template=SPLIT,
        values=values,
        command=(HouseholdSplitCommand, data),
        run=lambda r, c: r.household_split(c),
        shown=("relationships",),
        problems=problems,
        seen=("household.viewed", "household", household_id),
        household=household,
    )


@router.get("/households/{household_id}/head-change")
def head_change_form(request: Request, uow: UoW, household_id: uuid.UUID) -> Response:
    """世帯主変更 (法25条): the new head and every member's 続柄 relative to them."""
    desk = _desk(request, uow)
    household = _household(desk, household_id)
    desk.seen("household.viewed", "household", household_id)
    values = _dates() | {
        "relationships": {str(m.person_id): m.relationship or "" for m in household.members}
    }
    return _form_page(desk, HEAD_CHANGE, values, household=household)


@router.post("/households/{household_id}/head-change")
def head_change_submit(
    request: Request, uow: UoW, household_id: uuid.UUID, posted: Posted
) -> Response:
    """世帯主変更: confirm, then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    household = _household(desk, household_id)
    values = _values(form, posted)
    data = dict(
        values,
        household=_ref(household, values),
        relationships=_mapping(values.get("relationships")),
    )
    return _answer(
        desk,
        form,
        template=HEAD_CHANGE,
        values=values,
        command=(HeadChangeCommand, data),
        run=lambda r, c: r.head_change(c),
        shown=("relationships",),
        seen=("household.viewed", "household", household_id),
        household=household,
    )


# --- 世帯合併・世帯変更: a second household, found by its 世帯番号 ----------------------------

MERGE = "event_household_merge.html"
CHANGE = "event_household_change.html"


def _other(
    desk: Desk, household: HouseholdRead, number: str, field: str
) -> tuple[HouseholdRead | None, dict[str, str]]:
    """The second household by 世帯番号, with the field error when there is none to use."""
    if not number.strip():
        return None, {}
    other = _household_by_number(desk.uow, number)
    if other is None:
        return None, {field: "この世帯番号の世帯は見つかりません。"}
    if other.household_id == household.household_id:
        return None, {field: "この世帯自身の世帯番号です。別の世帯の世帯番号を入力してください。"}
    return other, {}


def _other_posted(
    desk: Desk, household: HouseholdRead, values: dict[str, Any], key: str, field: str
) -> tuple[HouseholdRead | None, dict[str, str]]:
    """The second household the form carries (its id in a hidden field, read again here)."""
    other = _household_by_id(desk.uow, _mapping(values.get(key)).get("household_id"))
    if other is None:
        return _other(desk, household, str(values.get(field, "")), field)
    if other.household_id == household.household_id:
        return None, {field: "この世帯自身の世帯番号です。別の世帯の世帯番号を入力してください。"}
    return other, {}


def _lookup_page(
    desk: Desk, template: str, household: HouseholdRead, number: str, field: str
) -> Response:
    desk.seen("household.viewed", "household", household.household_id)
    other, errors = _other(desk, household, number, field)
    values = _dates() | {field: number}
    if other is not None:
        desk.seen("household.viewed", "household", other.household_id)
        if template == MERGE:  # the merged members keep their 続柄 unless the clerk changes it
            values["relationships"] = {str(m.person_id): "" for m in other.members}
    return desk.render(
        template,
        422 if errors else 200,
        values=values,
        errors=errors,
        step="form",
        household=household,
        other=other,
    )


@router.get("/households/{household_id}/merge")
def merge_form(
    request: Request, uow: UoW, household_id: uuid.UUID, merged_number: str = ""
) -> Response:
    """世帯合併 (法25条): every member of another household joins this one. The other household
    is found by its 世帯番号; its members' 続柄 relative to this household's head are asked."""
    desk = _desk(request, uow)
    household = _household(desk, household_id)
    return _lookup_page(desk, MERGE, household, merged_number, "merged_number")


@router.post("/households/{household_id}/merge")
def merge_submit(request: Request, uow: UoW, household_id: uuid.UUID, posted: Posted) -> Response:
    """世帯合併: confirm, then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    household = _household(desk, household_id)
    values = _values(form, posted)
    other, problems = _other_posted(desk, household, values, "merged", "merged_number")
    if other is None and not problems:
        problems = {"merged_number": "合併する世帯の世帯番号を入力してください。"}
    data = {k: v for k, v in values.items() if k != "merged_number"}
    data |= {
        "household": _ref(household, values),
        "merged": _ref(other, values, "merged") if other else None,
        "relationships": _mapping(values.get("relationships")),
    }
    return _answer(
        desk,
        form,
        template=MERGE,
        values=values,
        command=(HouseholdMergeCommand, data),
        run=lambda r, c: r.household_merge(c),
        shown=("merged_number", "relationships"),
        rename={"merged": "merged_number"},
        problems=problems,
        seen=("household.viewed", "household", household_id),
        household=household,
        other=other,
    )


@router.get("/households/{household_id}/change")
def change_form(
    request: Request, uow: UoW, household_id: uuid.UUID, target_number: str = ""
) -> Response:
    """世帯変更 (法25条): members of this household join another existing household (found by
    its 世帯番号), with their 続柄 relative to its head."""
    desk = _desk(request, uow)
    household = _household(desk, household_id)
    return _lookup_page(desk, CHANGE, household, target_number, "target_number")


@router.post("/households/{household_id}/change")
def change_submit(request: Request, uow: UoW, household_id: uuid.UUID, posted: Posted) -> Response:
    """世帯変更: confirm, then register."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    household = _household(desk, household_id)
    values = _values(form, posted)
    other, problems = _other_posted(desk, household, values, "target", "target_number")
    if other is None and not problems:
        problems = {"target_number": "移る先の世帯の世帯番号を入力してください。"}
    relationships = _mapping(values.get("relationships"))
    if not relationships:
        problems["relationships"] = "移る方の新しい続柄を入力してください。"
    data = {k: v for k, v in values.items() if k != "target_number"}
    data |= {
        "household": _ref(household, values),
        "target": _ref(other, values, "target") if other else None,
        "relationships": relationships,
    }
    return _answer(
        desk,
        form,
        template=CHANGE,
        values=values,
        command=(HouseholdChangeCommand, data),
        run=lambda r, c: r.household_change(c),
        shown=("target_number", "relationships"),
        rename={"target": "target_number"},
        problems=problems,
        seen=("household.viewed", "household", household_id),
        household=household,
        other=other,
    )


# --- 国外転入・職権記載 -----------------------------------------------------------------------

ENTRY = "event_entry.html"


def _entry_context(uow: UnitOfWork, path: str) -> dict[str, Any]:
    return {
        "entry": ENTRIES[path],
        "machiaza": _machiaza(uow),
        "sex_options": SEX_OPTIONS,
        "categories": [(c, c) for c in FOREIGN_CATEGORIES],
    }


def _person_problems(index: int, p: dict[str, Any]) -> dict[str, str]:
    """The service's checks of a new person that it reports without the row: here each
    message goes next to the row's own field."""
    problems: dict[str, str] = {}
    at = f"persons.{index}"
    if not p.get("foreign"):
        for key in ("family_name_kana", "given_name_kana"):
            if not p.get(key):
                problems[f"{at}.{key}"] = "振り仮名を入力してください。"
    try:
        born = parse_register_date(str(p.get("birth_date", ""))).value
    except RegisterDateError:
        born = None  # the command's own validation says what is wrong with it
    if born is not None and born > dt.date.today():
        problems[f"{at}.birth_date"] = "生年月日に未来の日付は指定できません。"
    return problems


def _entry_form(request: Request, uow: UnitOfWork, rows: int) -> Response:
    desk = _desk(request, uow)
    rows = max(1, min(rows, 10))
    values = _dates() | {"persons": [{}] * rows}
    return _form_page(desk, ENTRY, values, **_entry_context(uow, request.url.path))


def _entry_submit(request: Request, uow: UnitOfWork, posted: FormData) -> Response:
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    entry = ENTRIES[request.url.path]
    values = _values(form, posted)
    persons = [p for p in values.get("persons", []) if isinstance(p, dict) and p]
    values["persons"] = persons or [{}]
    problems: dict[str, str] = {}
    for i, p in enumerate(persons):
        problems |= _person_problems(i, p)
    return _answer(
        desk,
        form,
        template=ENTRY,
        values=values,
        command=(MoveInCommand, dict(values, persons=persons)),
        run=lambda r, c: r.move_in(c, entry.kind),
        shown=("previous_address", "address", "persons"),
        problems=problems,
        seen=None,  # the page shows what the clerk entered, no record of the register
        machiaza_name=_machiaza_name(uow, values),
        **_entry_context(uow, request.url.path),
    )


@router.get("/residents-immigration")
def immigration_form(request: Request, uow: UoW, rows: int = ENTRY_ROWS) -> Response:
    """国外転入届の入力 (法22条, 30条の46): persons arriving from abroad, foreign residents
    with their 在留 items."""
    return _entry_form(request, uow, rows)


@router.post("/residents-immigration")
def immigration_submit(request: Request, uow: UoW, posted: Posted) -> Response:
    """国外転入: confirm, then register."""
    return _entry_submit(request, uow, posted)


@router.get("/residents-ex-officio-entry")
def ex_officio_entry_form(request: Request, uow: UoW, rows: int = ENTRY_ROWS) -> Response:
    """職権記載 (法8条, 令12条): a record entered by the mayor without a notification."""
    return _entry_form(request, uow, rows)


@router.post("/residents-ex-officio-entry")
def ex_officio_entry_submit(request: Request, uow: UoW, posted: Posted) -> Response:
    """職権記載: confirm, then register."""
    return _entry_submit(request, uow, posted)


# --- 転入 from another member's electronic move-out data (法24条の2) --------------------------

TRANSFERS = "event_transfers.html"
TRANSFER_MOVE_IN = "event_transfer_move_in.html"


def _transfer_persons(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the clerk needs of each person: never the My Number ciphertext, and of a
    protection measure only that one follows (the aggressor's data stays in the database)."""
    return [
        {
            "source_person_id": p.get("source_person_id"),
            "family_name": p.get("family_name"),
            "given_name": p.get("given_name"),
            "kana": f"{p.get('family_name_kana') or ''} {p.get('given_name_kana') or ''}".strip(),
            "birth_date": p.get("birth_date"),
            "sex": dict(SEX_OPTIONS).get(str(p.get("sex")), ""),
            "relationship": p.get("relationship"),
            "protected": bool(p.get("protection")),
        }
        for p in items
    ]


@router.get("/transfers")
def transfer_list(request: Request, uow: UoW) -> Response:
    """電子転出の受付: move-out data received from other members and not yet used."""
    desk = _desk(request, uow)
    rows = transfers.pending(uow.session)
    audit.record(
        uow.session,
        actor=desk.who.actor,
        action="transfer.list_read",
        subject_type="move_transfer",
        subject_id=None,
        details={"channel": "web", "count": len(rows)},
    )
    items = [
        {
            "id": t.id,
            "source_name": t.source_name,
            "source_lg_code": t.source_lg_code,
            "planned_move_out_on": t.planned_move_out_on,
            "destination_address": t.destination_address,
            "created_at": t.created_at,
            "persons": _transfer_persons(t.persons),
        }
        for t in rows
    ]
    return desk.render(TRANSFERS, items=items)


def _transfer(desk: Desk, transfer_id: uuid.UUID) -> dict[str, Any]:
    try:
        t = transfers.get(desk.uow.session, transfer_id)
    except NotFound:
        raise desk.not_found() from None
    if t.used_at is not None:
        raise PageRedirect(
            desk.render(
                "error.html",
                409,
                title="受付済みの転出情報",
                message="この転出情報は既に転入に使用されています。",
            )
        )
    return {
        "id": t.id,
        "source_name": t.source_name,
        "source_lg_code": t.source_lg_code,
        "planned_move_out_on": t.planned_move_out_on,
        "destination_address": t.destination_address,
        "persons": _transfer_persons(t.persons),
    }


@router.get("/transfers/{transfer_id}/move-in")
def transfer_move_in_form(request: Request, uow: UoW, transfer_id: uuid.UUID) -> Response:
    """転入届 from electronic move-out data: the persons come from the data; the clerk enters
    the address, the date and any 続柄 that changes."""
    desk = _desk(request, uow)
    transfer = _transfer(desk, transfer_id)
    desk.seen("transfer.viewed", "move_transfer", transfer_id)
    # Moving in before the planned move-out date is common; after it, today is the likely 転入日.
    moved_in = min(transfer["planned_move_out_on"], dt.date.today()).isoformat()
    values = {
        "effective_on": moved_in,
        "notified_on": _today(),
        "relationships": {
            p["source_person_id"]: p["relationship"] or "" for p in transfer["persons"]
        },
    }
    return _form_page(desk, TRANSFER_MOVE_IN, values, transfer=transfer, machiaza=_machiaza(uow))


@router.post("/transfers/{transfer_id}/move-in")
def transfer_move_in_submit(
    request: Request, uow: UoW, transfer_id: uuid.UUID, posted: Posted
) -> Response:
    """転入 / 特例転入 from electronic move-out data: confirm, then register; the source
    member receives the 転入通知 in the same transaction."""
    desk = _desk(request, uow)
    form = _posted(desk, posted)
    transfer = _transfer(desk, transfer_id)
    values = _values(form, posted)
    return _answer(
        desk,
        form,
        template=TRANSFER_MOVE_IN,
        values=values,
        command=(TransferMoveInCommand, values),
        run=lambda r, c: transfers.move_in(r, transfer_id, c),
        shown=("address", "card", "relationships"),
        seen=("transfer.viewed", "move_transfer", transfer_id),
        transfer=transfer,
        machiaza=_machiaza(uow),
        machiaza_name=_machiaza_name(uow, values),
    )
