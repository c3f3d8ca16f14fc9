"""The inhabitant tax's stored-data API: income file upload and the assessment with its history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.japanese.checkdigits import with_m11
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from resident_records.queries import persons_by_id
from tax import assessment_service
from tax.intake import DocumentKind, IncomeRecord, format_csv
from tax.models import IncomeEntry
from tax.rules.facts import IncomeKind
from tenancy import service as tenancy_service
from tests.helpers import IMIZU, NAMERIKAWA, bearer
from tests.tax.isolation_cases import assessed_resident

API = "/api/v1/tax"


def _atena(state: Any, lg_code: str, person_id: str) -> str:
    with UnitOfWork(state.session_factory) as uow:
        m = tenancy_service.require_municipality(uow.session, lg_code)
        uow.set_tenant(TenantContext(TenantId(m.id)))
        pid = uuid.UUID(person_id)
        return persons_by_id(uow.session, [pid])[pid].atena_number


def _record(atena: str, **over: Any) -> IncomeRecord:
    base: dict[str, Any] = {
        "fiscal_year": 2026,
        "document": DocumentKind.DECLARATION,
        "atena_number": atena,
        "name": "課税 分離",
        "name_kana": "カゼイ ブンリ",
        "birth_date": dt.date(1985, 1, 1),
        "address": "富山県射水市",
        "income_kind": IncomeKind.BUSINESS,
        "revenue": 5_000_000,
    }
    return IncomeRecord.model_validate(base | over)


def _upload(client: TestClient, headers: dict[str, str], data: bytes, name: str) -> Any:
    return client.post(
        f"{API}/income-imports", files={"file": (name, data, "text/csv")}, headers=headers
    )


def test_upload_then_reassessment_keeps_the_history(client: TestClient, state, demo) -> None:
    person_id = assessed_resident(client, state, IMIZU, revenue=4_000_000)
    officer = bearer(state, IMIZU, "tax_officer")
    first = client.get(
        f"{API}/assessments/{person_id}", params={"fiscal_year": 2026}, headers=officer
    )
    assert first.status_code == 200, first.text
    before = first.json()["current"]
    assert before["revision"] == 1 and before["reason"] == "initial"
    assert before["breakdown"]["business_income"] == 4_000_000

    # A corrected declaration arrives through the API; the same file twice writes once.
    data = format_csv([_record(_atena(state, IMIZU, person_id), revenue=6_000_000)]).encode()
    made = _upload(client, officer, data, "corrected.csv")
    assert made.status_code == 201, made.text
    assert made.json()["records"] == 1 and not made.json()["already_imported"]
    again = _upload(client, officer, data, "corrected-again.csv")
    assert again.status_code == 200 and again.json()["already_imported"]
    assert again.json()["import_id"] == made.json()["import_id"]

    with UnitOfWork(state.session_factory) as uow:
        m = tenancy_service.require_municipality(uow.session, IMIZU)
        uow.set_tenant(TenantContext(TenantId(m.id)))
        _v, params = tenancy_service.current_parameters(uow.session)
        assessment_service.reassess(uow.session, 2026, [uuid.UUID(person_id)], params)
        uow.commit()
    now = client.get(
        f"{API}/assessments/{person_id}", params={"fiscal_year": 2026}, headers=officer
    ).json()
    assert now["current"]["revision"] == 2 and now["current"]["reason"] == "correction"
    assert now["current"]["total"] > before["total"]
    assert [h["revision"] for h in now["history"]] == [1, 2]
    assert now["history"][0]["total"] == before["total"]
    assert sum(now["current"]["ordinary_instalments"]) == now["current"]["total"]


def test_a_bad_file_is_rejected_with_its_lines_and_nothing_kept(
    client: TestClient, state, demo
) -> None:
    person_id = assessed_resident(client, state, IMIZU)
    officer = bearer(state, IMIZU, "tax_officer")
    good = _record(_atena(state, IMIZU, person_id), revenue=123_000)
    unknown = _record(with_m11("999999998"))
    response = _upload(client, officer, format_csv([good, unknown]).encode(), "bad.csv")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "income_file_rejected"
    assert "ファイル全体を取り込みませんでした" in body["message"]
    assert [(d["line"], d["field"]) for d in body["details"]] == [(3, "atena_number")]
    # Parse errors come with their line too, in Japanese.
    broken = _upload(client, officer, b"fiscal_year\n2026\n", "broken.csv")
    assert broken.status_code == 422 and broken.json()["code"] == "income_file_rejected"
    assert all(d["message"] for d in broken.json()["details"])
    # Nothing of the rejected file: the good line alone is still new when sent by itself.
    alone = _upload(client, officer, format_csv([good]).encode(), "good.csv")
    assert alone.status_code == 201 and not alone.json()["already_imported"]


def test_only_tax_staff_upload_and_read(client: TestClient, state, demo) -> None:
    person_id = assessed_resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    read = client.get(f"{API}/assessments/{person_id}", params={"fiscal_year": 2026}, headers=clerk)
    assert read.status_code == 403
    upload = _upload(client, clerk, b"x", "x.csv")
    assert upload.status_code == 403
    officer = bearer(state, IMIZU, "tax_officer")
    none = client.get(
        f"{API}/assessments/{person_id}", params={"fiscal_year": 2025}, headers=officer
    )
    assert none.status_code == 404 and none.json()["code"] == "assessment_not_found"
    bad_year = client.get(
        f"{API}/assessments/{person_id}", params={"fiscal_year": 1999}, headers=officer
    )
    assert bad_year.status_code == 422


def test_a_file_cannot_reach_another_members_person(client: TestClient, state, demo) -> None:
    theirs = assessed_resident(client, state, NAMERIKAWA)
    # 宛名番号 are numbered per municipality: 射水市 reads the number as one of its own (or
    # none), never as 滑川市's person, whatever the import answers.
    data = format_csv([_record(_atena(state, NAMERIKAWA, theirs), revenue=7_000_000)]).encode()
    _upload(client, bearer(state, IMIZU, "tax_officer"), data, "theirs.csv")
    with UnitOfWork(state.session_factory) as uow:
        m = tenancy_service.require_municipality(uow.session, IMIZU)
        uow.set_tenant(TenantContext(TenantId(m.id)))
        reached = uow.session.scalar(
            select(func.count())
            .select_from(IncomeEntry)
            .where(IncomeEntry.person_id == uuid.UUID(theirs))
        )
    assert reached == 0
    # 滑川市's person is untouched: one revision, from its own declaration.
    mine = client.get(
        f"{API}/assessments/{theirs}",
        params={"fiscal_year": 2026},
        headers=bearer(state, NAMERIKAWA, "tax_officer"),
    ).json()
    assert [h["revision"] for h in mine["history"]] == [1]
    assert mine["current"]["breakdown"]["business_income"] == 4_000_000
