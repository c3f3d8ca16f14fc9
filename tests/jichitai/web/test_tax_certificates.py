"""The counter's 課税証明書 screen through HTTP: issue, refuse, and another member's person."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.helpers import IMIZU, NAMERIKAWA, web_login
from tests.tax.isolation_cases import assessed_resident


def _form(csrf: str, **over: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "fiscal_year": "2026",
        "copies": "1",
        "requester.type": "self",
        "requester.name": "課税 分離",
        "purpose": "保育所の入所申込",
    } | over


def test_the_counter_issues_a_tax_certificate(client: TestClient, state, demo) -> None:
    person_id = assessed_resident(client, state, IMIZU, revenue=3_500_000)
    csrf = web_login(client, IMIZU, "clerk")
    resident = client.get(f"/residents/{person_id}")
    assert f"/tax-certificates/new?person_id={person_id}" in resident.text
    form = client.get(f"/tax-certificates/new?person_id={person_id}")
    assert form.status_code == 200 and "令和8年度" in form.text
    done = client.post(f"/tax-certificates/{person_id}", data=_form(csrf))
    assert done.status_code == 200, done.text
    assert "証明書を発行しました" in done.text and "所得・課税証明書" in done.text
    link = done.text.split('href="/api/v1/documents/')[1].split('"')[0]
    pdf = client.get(f"/api/v1/documents/{link}")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "3,500,000" in text and "保育所の入所申込" in text.replace(" ", "")


def test_bad_requests_are_answered_on_the_form(client: TestClient, state, demo) -> None:
    person_id = assessed_resident(client, state, IMIZU)
    csrf = web_login(client, IMIZU, "clerk")
    agent = client.post(
        f"/tax-certificates/{person_id}",
        data=_form(csrf, **{"requester.type": "agent", "requester.name": "代理 人"}),
    )
    assert agent.status_code == 422
    assert "委任状の確認が必要です" in agent.text
    no_name = client.post(
        f"/tax-certificates/{person_id}", data=_form(csrf, **{"requester.name": ""})
    )
    assert no_name.status_code == 422 and "field-error" in no_name.text
    unassessed = client.post(f"/tax-certificates/{person_id}", data=_form(csrf, fiscal_year="2025"))
    assert unassessed.status_code == 404
    assert "2025年度の課税の記録はありません" in unassessed.text


def test_another_members_person_is_not_found(client: TestClient, state, demo) -> None:
    theirs = assessed_resident(client, state, NAMERIKAWA)
    csrf = web_login(client, IMIZU, "clerk")
    form = client.get(f"/tax-certificates/new?person_id={theirs}")
    assert form.status_code == 404 and "課税" not in form.text.split("<main")[-1]
    posted = client.post(f"/tax-certificates/{theirs}", data=_form(csrf))
    assert posted.status_code == 404
    assert "証明書を発行しました" not in posted.text
