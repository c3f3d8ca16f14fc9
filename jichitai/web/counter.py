"""Counter screens (窓口画面): search, resident and household views, notifications, receipts.

Every notification form works the same way: the form, a confirmation page that repeats what will
be registered (nothing is written yet: the use case runs and is rolled back, so every rule of the
register is checked before the clerk confirms), then the registration and a receipt. Field
errors come back next to their fields, in Japanese. Pages that show personal data are audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from core.errors import NotFound
from jichitai.web.common import (
    COUNTER_ROLES,
    SEX_OPTIONS,
    check_csrf,
    form_data,
    page,
    rehearse,
    staff,
    unflatten,
    validate_form,
    viewed,
)
from jichitai.web.routes import error_page
from resident_records import protection, queries
from resident_records import repository as repo
from resident_records.models import EVENT_LABELS, EventKind, ResidencyEvent
from resident_records.schemas import MoveInCommand, MoveOutCommand
from resident_records.service import Register
from tenancy.auth import Principal
from tenancy.deps import UoW, app_state

router = APIRouter(include_in_schema=False)
Posted = Annotated[FormData, Depends(form_data)]

PAGE_SIZE = 20
MOVE_IN_ROWS = 3


def _register(request: Request, uow: UoW, who: Principal) -> Register:
    return Register(uow, who.actor, app_state(request).ring)


def _form(data: FormData) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str)}


# --- search ---------------------------------------------------------------------------------


def _search(uow: UoW, q: str, removed: bool) -> tuple[int, list[Any]]:
    text = q.strip()
    if not text:
        return 0, []
    digits = text.replace("-", "")
    criteria: dict[str, Any] = {}
    if digits.isdigit() and len(digits) == 11:
        criteria["juminhyo_code"] = digits
    elif digits.isdigit():
        criteria["atena_number"] = digits
    elif all("\u3040" <= c <= "\u30ff" or c in " 　ｰ" or "\uff66" <= c <= "\uff9f" for c in text):
        criteria["kana"] = queries.search_kana(text)
    else:
        criteria["name"] = queries.search_name(text)
    query = repo.SearchQuery(include_removed=removed, **criteria)
    rows, total = repo.search(uow.session, query, limit=PAGE_SIZE, offset=0)
    return total, queries.summaries(uow.session, rows)


@router.get("/residents")
def residents(request: Request, uow: UoW, q: str = "", removed: bool = False) -> Response:
    """住民検索 (kana as you type, kanji name, 宛名番号/住民票コード)."""
    who = staff(request, uow, *COUNTER_ROLES)
    total, items = _search(uow, q, removed)
    if q.strip():
        viewed(uow, who, "resident.searched", f"results:{len(items)}")
    template = "_results.html" if request.headers.get("hx-request") else "residents.html"
    return page(request, template, who, q=q, removed=removed, total=total, items=items)


# --- views ----------------------------------------------------------------------------------


@router.get("/residents/{person_id}")
def resident(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """住民票の表示: the record, its history timeline and the actions on it."""
    who = staff(request, uow, *COUNTER_ROLES)
    try:
        record = queries.record(uow.session, person_id)
        history = queries.history(uow.session, person_id)
    except NotFound:
        return error_page(request, 404, who)
    viewed(uow, who, "resident.viewed", person_id)
    protected = bool(protection.protected_ids(uow.session, [person_id], dt.date.today()))
    return page(
        request,
        "resident.html",
        who,
        record=record,
        history=list(reversed(history)),
        protected=protected,
        labels=EVENT_LABELS,
    )


@router.get("/households/{household_id}")
def household(request: Request, uow: UoW, household_id: uuid.UUID) -> Response:
    """世帯の表示: members today, address, household number."""
    who = staff(request, uow, *COUNTER_ROLES)
    try:
        read = queries.household(uow.session, household_id)
    except NotFound:
        return error_page(request, 404, who)
    viewed(uow, who, "household.viewed", household_id)
    return page(request, "household.html", who, household=read)


# --- notifications: form → confirmation → receipt -----------------------------------------


def _machiaza(uow: UoW) -> list[tuple[str, str]]:
    return [(m.code, m.name) for m in repo.machiaza_all(uow.session) if m.active]


@router.get("/residents-move-in")
def move_in_form(request: Request, uow: UoW, rows: int = MOVE_IN_ROWS) -> Response:
    """転入届の入力 (住民基本台帳法22条)."""
    who = staff(request, uow, *COUNTER_ROLES)
    rows = max(1, min(rows, 10))
    today = dt.date.today().isoformat()
    values = {"effective_on": today, "notified_on": today, "persons": [{}] * rows}
    return page(
        request,
        "move_in.html",
        who,
        values=values,
        errors={},
        machiaza=_machiaza(uow),
        sex_options=SEX_OPTIONS,
        step="form",
    )


@router.post("/residents-move-in")
def move_in_submit(request: Request, uow: UoW, posted: Posted) -> Response:
    """転入届: confirm (checked, nothing written) or register (one transaction)."""
    who = staff(request, uow, *COUNTER_ROLES)
    form = _form(posted)
    check_csrf(request, who, form.get("csrf_token", ""))
    data = unflatten(form)
    data["persons"] = [p for p in data.get("persons", []) if any(p.values())]
    command, errors = validate_form(MoveInCommand, data)
    register = _register(request, uow, who)
    if command is not None and not errors:
        errors, _status = rehearse(uow, lambda: register.move_in(command, EventKind.MOVE_IN))
    action = form.get("action", "confirm")
    if errors or action == "edit":
        values = dict(data)
        values["persons"] = data["persons"] or [{}]
        return page(
            request,
            "move_in.html",
            who,
            422 if errors else 200,
            values=values,
            errors=errors,
            machiaza=_machiaza(uow),
            sex_options=SEX_OPTIONS,
            step="form",
        )
    if action != "commit":
        names = dict(_machiaza(uow))
        return page(
            request,
            "move_in.html",
            who,
            values=data,
            errors={},
            machiaza=_machiaza(uow),
            machiaza_name=names.get(data["address"]["machiaza_code"], ""),
            sex_options=SEX_OPTIONS,
            step="confirm",
        )
    result = register.move_in(command, EventKind.MOVE_IN)
    uow.commit()
    return RedirectResponse(f"/receipts/{result.event_id}", status_code=303)


@router.get("/residents/{person_id}/move-out")
def move_out_form(request: Request, uow: UoW, person_id: uuid.UUID) -> Response:
    """転出届の入力 (法24条): the household's members to move, the planned date, destination."""
    who = staff(request, uow, *COUNTER_ROLES)
    cur = repo.current(uow.session, person_id)
    if cur is None or cur.household_id is None:
        return error_page(request, 404, who)
    read = queries.household(uow.session, cur.household_id)
    viewed(uow, who, "household.viewed", cur.household_id)
    values = {
        "effective_on": dt.date.today().isoformat(),
        "notified_on": dt.date.today().isoformat(),
        "person_ids": [str(person_id)],
    }
    return page(
        request, "move_out.html", who, household=read, values=values, errors={}, step="form"
    )


@router.post("/residents/{person_id}/move-out")
def move_out_submit(request: Request, uow: UoW, person_id: uuid.UUID, posted: Posted) -> Response:
    """転出届: confirm, then register (the record is removed on the planned date)."""
    who = staff(request, uow, *COUNTER_ROLES)
    form_data = posted
    form = _form(posted)
    check_csrf(request, who, form.get("csrf_token", ""))
    cur = repo.current(uow.session, person_id)
    if cur is None or cur.household_id is None:
        return error_page(request, 404, who)
    read = queries.household(uow.session, cur.household_id)
    data = unflatten({k: v for k, v in form.items() if k != "person_ids"})
    data["person_ids"] = [v for v in form_data.getlist("person_ids") if isinstance(v, str)]
    data["household"] = {"household_id": str(read.household_id), "version": read.version}
    command, errors = validate_form(MoveOutCommand, data)
    register = _register(request, uow, who)
    if command is not None and not errors:
        errors, _status = rehearse(uow, lambda: register.move_out(command))
    action = form.get("action", "confirm")
    if errors or action == "edit" or action != "commit":
        return page(
            request,
            "move_out.html",
            who,
            422 if errors else 200,
            household=read,
            values=data,
            errors=errors,
            step="confirm" if not errors and action == "confirm" else "form",
        )
    result = register.move_out(command)
    uow.commit()
    return RedirectResponse(f"/receipts/{result.event_id}", status_code=303)


@router.get("/receipts/{event_id}")
def receipt(request: Request, uow: UoW, event_id: uuid.UUID) -> Response:
    """受付票: what was registered, for whom, and what needs doing next."""
    who = staff(request, uow, *COUNTER_ROLES)
    event: ResidencyEvent | None = repo.event(uow.session, event_id)
    if event is None:
        return error_page(request, 404, who)
    persons = [c for c in (repo.current(uow.session, uuid.UUID(p)) for p in event.person_ids) if c]
    viewed(uow, who, "residency_event.viewed", event_id)
    alerts = [
        a.message
        for a in repo.open_alerts(uow.session, event.household_id)
        if a.event_id == event.id
    ]
    return page(
        request,
        "receipt.html",
        who,
        event=event,
        label=EVENT_LABELS.get(event.kind, event.kind),
        persons=persons,
        alerts=alerts,
    )
