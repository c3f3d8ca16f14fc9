"""課税証明書 at the counter (API) and the year's notices in batch, from stored assessments."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

from core.crypto import TenantKeys
from core.uow import UnitOfWork
from forms import service as forms_service
from forms.batch import BatchRenderer
from forms.models import IssuedDocument
from forms.signing import VerificationCode
from tax import notices
from tenancy import repository as tenancy_repo
from tests.helpers import IMIZU, NAMERIKAWA, bearer
from tests.resident_records.test_service import _new_env, child, person, wife
from tests.tax.isolation_cases import assessed_resident
from tests.tax.test_assessment_service import (
    ACTOR,
    HEAD_BIRTH,
    WIFE_BIRTH,
    atena,
    current,
    declaration,
    record,
    run,
    upload,
)

API = "/api/v1/tax/certificates"


def _text(pdf: bytes) -> str:
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    return "".join(pages).replace(" ", "").replace("　", "").replace("\n", "")


def _issue(client: TestClient, headers: dict[str, str], person_id: str, **over: Any) -> Any:
    body = {
        "person_id": person_id,
        "fiscal_year": 2026,
        "requester": {"type": "self", "name": "課税 分離"},
        "purpose": "児童手当の申請",
    } | over
    return client.post(API, json=body, headers=headers)


def test_the_counter_issues_the_certificate_of_the_assessment_in_force(
    client: TestClient, state, demo
) -> None:
    person_id = assessed_resident(client, state, IMIZU, revenue=4_000_000)
    clerk = bearer(state, IMIZU, "clerk")
    response = _issue(client, clerk, person_id, copies=1)
    assert response.status_code == 201, response.text
    (doc,) = response.json()["documents"]
    assert doc["title"] == "所得・課税証明書" and doc["fee"] == 300
    pdf = client.get(doc["pdf_url"], headers=clerk)
    assert pdf.status_code == 200
    text = _text(pdf.content)
    officer = bearer(state, IMIZU, "tax_officer")
    stored = client.get(
        f"/api/v1/tax/assessments/{person_id}", params={"fiscal_year": 2026}, headers=officer
    ).json()["current"]
    assert f"{stored['total']:,}" in text
    assert "4,000,000" in text  # 事業所得 as declared
    assert "課税分離" in text and "児童手当の申請" in text
    assert doc["serial"] in text


def test_who_may_receive_a_tax_certificate(client: TestClient, state, demo) -> None:
    person_id = assessed_resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    agent = _issue(client, clerk, person_id, requester={"type": "agent", "name": "代理 人"})
    assert agent.status_code == 422 and agent.json()["code"] == "authorisation_required"
    stranger = _issue(client, clerk, person_id, requester={"type": "third_party", "name": "某"})
    assert stranger.status_code == 422  # 地方税法22条: no third party at all
    official = _issue(client, clerk, person_id, requester={"type": "official", "name": "某省"})
    assert official.status_code == 422 and official.json()["code"] == "purpose_required"
    ok = _issue(
        client,
        clerk,
        person_id,
        requester={"type": "agent", "name": "代理 人", "authorisation": True},
    )
    assert ok.status_code == 201, ok.text
    none = _issue(client, clerk, person_id, fiscal_year=2025)
    assert none.status_code == 404 and none.json()["code"] == "assessment_not_found"


def test_a_protected_person_is_refused_to_anyone_but_themself(
    client: TestClient, state, demo
) -> None:
    person_id = assessed_resident(client, state, IMIZU)
    made = client.post(
        f"/api/v1/residents/{person_id}/protection",
        json={"category": "DV", "started_on": dt.date.today().isoformat()},
        headers=bearer(state, IMIZU, "supervisor"),
    )
    assert made.status_code == 201, made.text
    clerk = bearer(state, IMIZU, "clerk")
    agent = {"type": "agent", "name": "代理 人", "authorisation": True}
    blocked = _issue(client, clerk, person_id, requester=agent)
    assert blocked.status_code == 403 and blocked.json()["code"] == "protected_person"
    entries = client.get(
        "/api/v1/audit", params={"limit": 500}, headers=bearer(state, IMIZU, "supervisor")
    ).json()
    assert any(e["subject_id"] == person_id and "blocked" in e["action"] for e in entries)
    assert _issue(client, clerk, person_id).status_code == 201  # the person themself


def test_another_members_person_is_nobody_and_a_key_issues_once(
    client: TestClient, state, demo
) -> None:
    theirs = assessed_resident(client, state, NAMERIKAWA)
    own = assessed_resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    response = _issue(client, clerk, theirs)
    assert response.status_code == 404 and response.json()["code"] == "person_not_found"
    assert "課税" not in response.text
    headers = clerk | {"Idempotency-Key": f"tax-cert-{uuid.uuid4()}"}
    first = _issue(client, headers, own)
    second = _issue(client, headers, own)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"


def test_the_years_notices_are_issued_in_batch_and_verifiable(state) -> None:
    env = _new_env(state)
    moved = env.move_in([person(), wife(), child()], effective_on=dt.date(2025, 4, 1))
    head, spouse, _kid = moved.person_ids
    upload(
        env,
        [
            record(atena(env, head), HEAD_BIRTH),  # special collection by the employer
            declaration(atena(env, spouse), WIFE_BIRTH, revenue=2_500_000),  # ordinary
        ],
    )
    run(env)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        municipality = tenancy_repo.municipality_by_id(uow.session, env.tenant_id)
        assert municipality is not None
        issuer = forms_service.issuer_for(uow.session, municipality)
        documents = forms_service.DocumentService(
            uow.session,
            TenantKeys(uow.session, state.ring),
            state.renderer,
            ACTOR,
            base_url="https://jichitai.example",
            today=dt.date(2026, 6, 10),
        )
        ordinary = notices.issue(documents, 2026, notices.NoticeKind.ORDINARY, issuer)
        special = notices.issue(documents, 2026, notices.NoticeKind.SPECIAL, issuer)
        uow.commit()
    assert len(ordinary) == 1 and len(special) == 1
    with BatchRenderer(state.form_sources, workers=1) as batch:
        ordinary_pdf = batch.one_pdf(notices.form_of(notices.NoticeKind.ORDINARY), ordinary)
        special_pdf = batch.one_pdf(notices.form_of(notices.NoticeKind.SPECIAL), special)
    wife_a, head_a = current(env, spouse), current(env, head)
    assert wife_a is not None and head_a is not None
    ordinary_text, special_text = _text(ordinary_pdf), _text(special_pdf)
    assert "納税通知書" in ordinary_text and f"{wife_a.total:,}" in ordinary_text
    assert "射水花子" in ordinary_text
    assert "特別徴収税額決定通知書" in special_text and f"{head_a.total:,}" in special_text
    assert "株式会社射水製作所" in special_text
    # Each notice is in the issuance log and its printed code verifies.
    serial = ordinary[0]["document"]["serial"]
    assert serial in ordinary_text
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        logged = uow.session.scalar(select(func.count()).select_from(IssuedDocument))
        row = forms_service.by_serial(uow.session, serial)
        assert row is not None
        code = VerificationCode(serial, row.content_hash, row.signature)
    assert logged == 2
    with UnitOfWork(state.session_factory) as uow:
        verdict = forms_service.verify(
            uow.session, state.ring, serial, digest=code.digest, signature=code.signature
        )
    assert verdict.status == "genuine"
