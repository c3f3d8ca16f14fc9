"""Helpers of the NHI qualification tests: residents made through the register's real API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.scoping import TenantContext, TenantId, set_context
from nhi.models import NhiCoverageEvent, NhiQualificationVersion
from tests.helpers import add_machiaza, bearer

API = "/api/v1"
TODAY = dt.date.today()
MACHIAZA = {
    "162116": ("162116-N001", "国保町", "コクホマチ"),
    "162060": ("162060-N001", "国保町", "コクホマチ"),
}


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def born_years_ago(years: int, plus_days: int = 0) -> dt.date:
    """A birth date ``years`` years before today, moved by ``plus_days`` (29 Feb → 28 Feb)."""
    try:
        base = TODAY.replace(year=TODAY.year - years)
    except ValueError:
        base = dt.date(TODAY.year - years, 2, 28)
    return base + dt.timedelta(days=plus_days)


def person(
    given: str, birth: dt.date | str, relationship: str = "子", **over: Any
) -> dict[str, Any]:
    return {
        "family_name": "国保",
        "given_name": given,
        "family_name_kana": "コクホ",
        "given_name_kana": "タロウ",
        "birth_date": birth.isoformat() if isinstance(birth, dt.date) else birth,
        "sex": "male",
        "relationship": relationship,
    } | over


def move_in(
    client: TestClient,
    state: Any,
    persons: list[dict[str, Any]],
    *,
    on: dt.date | None = None,
    lg_code: str = "162116",
    key: str | None = None,
) -> dict[str, Any]:
    add_machiaza(state, lg_code, [MACHIAZA[lg_code]])
    headers = bearer(state, lg_code, "clerk")
    if key:
        headers["Idempotency-Key"] = key
    response = client.post(
        f"{API}/residents/move-in",
        json={
            "effective_on": (on or days(-10)).isoformat(),
            "persons": persons,
            "address": {"machiaza_code": MACHIAZA[lg_code][0], "banchi": "5番地"},
            "previous_address": "東京都千代田区霞が関1丁目2番2号",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def household_ref(
    client: TestClient, state: Any, household_id: str, lg_code: str = "162116"
) -> dict[str, Any]:
    response = client.get(
        f"{API}/households/{household_id}", headers=bearer(state, lg_code, "clerk")
    )
    assert response.status_code == 200, response.text
    return {"household_id": household_id, "version": response.json()["version"]}


def register_event(
    client: TestClient, state: Any, path: str, body: dict[str, Any], *, role: str = "clerk"
) -> Any:
    return client.post(f"{API}/residents/{path}", json=body, headers=bearer(state, "162116", role))


def qualifications(
    client: TestClient, state: Any, person_id: str, lg_code: str = "162116"
) -> dict[str, Any]:
    response = client.get(
        f"{API}/nhi/persons/{person_id}/qualifications",
        headers=bearer(state, lg_code, "nhi_officer"),
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def only(client: TestClient, state: Any, person_id: str) -> dict[str, Any]:
    """The person's one qualification (asserting there is exactly one)."""
    quals = qualifications(client, state, person_id)["qualifications"]
    assert len(quals) == 1, quals
    result: dict[str, Any] = quals[0]
    return result


def record_cover(
    client: TestClient,
    state: Any,
    person_id: str,
    path: str,
    body: dict[str, Any],
    *,
    key: str | None = None,
    lg_code: str = "162116",
    headers: dict[str, str] | None = None,
) -> Any:
    headers = dict(headers or bearer(state, lg_code, "nhi_officer"))
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"{API}/nhi/persons/{person_id}/{path}", json=body, headers=headers)


def stored_rows(state: Any, tenant_id: int, person_id: str) -> tuple[int, int]:
    """(qualification revisions, coverage events) of a person, read from the tables."""
    session = state.session_factory()
    try:
        set_context(session, TenantContext(TenantId(tenant_id)))
        pid = uuid.UUID(person_id)
        versions = session.scalar(
            select(func.count())
            .select_from(NhiQualificationVersion)
            .where(NhiQualificationVersion.person_id == pid)
        )
        events = session.scalar(
            select(func.count())
            .select_from(NhiCoverageEvent)
            .where(NhiCoverageEvent.person_id == pid)
        )
        return int(versions or 0), int(events or 0)
    finally:
        session.rollback()
        session.close()
