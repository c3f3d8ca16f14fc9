"""Mutual aid (相互応援): a partner issues a stricken member's certificates for it.

Only while the stricken member is in 業務継続モード and both are parties to an agreement in force
(the demo's nine Toyama members all are). The document is the stricken member's: its serial,
its certifier (滑川市長), its issuance log and its audit chain, which names the helper; the
helper's own chain records the work too, and the helper reads nothing else of the stricken
member's.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from core import audit
from core.crypto import PURPOSE_PDF_SIGNING, TenantKeys
from core.scoping import TenantContext, TenantId, tenant_scope
from core.uow import UnitOfWork
from forms import signing
from forms.models import IssuedDocument
from forms.service import issuer_for
from tenancy import repository as tenancy_repo
from tests.helpers import (
    IMIZU,
    NAMERIKAWA,
    add_machiaza,
    altered,
    bearer,
    new_tenant,
    operator_headers,
)

API = "/api/v1"
TODAY = dt.date.today()
MACHIAZA = ("162060-M001", "応援町", "オウエンマチ")
DISASTER = "令和8年豪雨災害"


@dataclass
class Operator:
    client: TestClient
    headers: dict[str, str]


@pytest.fixture
def operator(app: Any) -> Iterator[Operator]:
    """The data-center operator, signed in on a client of its own (a session cookie)."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield Operator(c, operator_headers(c))


def _end(op: Operator, lg_code: str) -> None:
    ended = op.client.delete(f"{API}/municipalities/{lg_code}/continuity", headers=op.headers)
    assert ended.status_code == 200, ended.text
    assert ended.json()["in_continuity_mode"] is False


@pytest.fixture
def declare(operator: Operator) -> Iterator[Callable[[str], None]]:
    """Declare 業務継続モード for a member; whatever the test does, it is ended afterwards
    (the database lives for the whole session)."""
    declared: list[str] = []

    def run(lg_code: str) -> None:
        response = operator.client.post(
            f"{API}/municipalities/{lg_code}/continuity",
            json={"reason": DISASTER},
            headers=operator.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["in_continuity_mode"] is True
        declared.append(lg_code)

    yield run
    for lg_code in declared:
        # 409 continuity_not_declared when the test ended it already.
        operator.client.delete(
            f"{API}/municipalities/{lg_code}/continuity", headers=operator.headers
        )


def _namerikawa_resident(client: TestClient, state: Any, kana: str) -> str:
    add_machiaza(state, NAMERIKAWA, [MACHIAZA])
    response = client.post(
        f"{API}/residents/move-in",
        json={
            "effective_on": (TODAY - dt.timedelta(days=10)).isoformat(),
            "persons": [
                {
                    "family_name": "応援",
                    "given_name": "花子",
                    "family_name_kana": kana,
                    "given_name_kana": "ハナコ",
                    "birth_date": "昭和58年3月3日",
                    "sex": "female",
                    "relationship": "世帯主",
                }
            ],
            "address": {"machiaza_code": MACHIAZA[0], "banchi": "5番地"},
            "previous_address": "富山県富山市新桜町7番38号",
        },
        headers=bearer(state, NAMERIKAWA, "clerk"),
    )
    assert response.status_code == 201, response.text
    person_id: str = response.json()["person_ids"][0]
    return person_id


def _damage_body(person_id: str) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "requester": {"type": "self", "name": "応援 花子"},
        "disaster_name": DISASTER,
        "occurred_on": (TODAY - dt.timedelta(days=2)).isoformat(),
        "damage_level": "半壊",
    }


def _record_body(person_id: str) -> dict[str, Any]:
    return {
        "kind": "resident_record_copy",
        "person_ids": [person_id],
        "requester": {"type": "self", "name": "応援 花子"},
    }


def _damage_url(lg_code: str) -> str:
    return f"{API}/mutual-aid/{lg_code}/certificates/disaster-damage"


def _record_url(lg_code: str) -> str:
    return f"{API}/mutual-aid/{lg_code}/certificates/resident-record"


def _not_available(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "mutual_aid_not_available"
    assert "応援" not in response.text


def _text(pdf: bytes) -> str:
    """The PDF's text with line breaks and the title's letter spacing taken out."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return "".join(page.extract_text() for page in pages).replace(" ", "").replace("\n", "")


def _audit(client: TestClient, state: Any, lg_code: str) -> list[dict[str, Any]]:
    response = client.get(
        f"{API}/audit", params={"limit": 500}, headers=bearer(state, lg_code, "supervisor")
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def _entries(entries: list[dict[str, Any]], action: str, subject_id: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["action"] == action and e["subject_id"] == subject_id]


def test_mutual_aid_needs_continuity_mode_and_an_agreement(
    client: TestClient, state, demo, operator: Operator, declare: Callable[[str], None]
) -> None:
    person_id = _namerikawa_resident(client, state, "オウエンナシ")
    clerk = bearer(state, IMIZU, "clerk")
    # 滑川市 is a partner of 射水市 but not stricken: nothing may be done for it.
    _not_available(
        client.post(_damage_url(NAMERIKAWA), json=_damage_body(person_id), headers=clerk)
    )
    _not_available(
        client.post(_record_url(NAMERIKAWA), json=_record_body(person_id), headers=clerk)
    )
    # A municipality that does not exist answers the same.
    _not_available(client.post(_damage_url("999999"), json=_damage_body(person_id), headers=clerk))

    # A member outside every agreement, on either side, while both could be stricken.
    outsider_id = new_tenant(state, "応援外村")
    with UnitOfWork(state.session_factory) as uow:
        outsider = tenancy_repo.municipality_by_id(uow.session, outsider_id)
        assert outsider is not None
        outsider_code = outsider.lg_code
    declare(NAMERIKAWA)
    declare(outsider_code)
    stranger = bearer(state, outsider_code, "clerk")
    for url, body in (
        (_damage_url(NAMERIKAWA), _damage_body(person_id)),
        (_record_url(NAMERIKAWA), _record_body(person_id)),
    ):
        _not_available(client.post(url, json=body, headers=stranger))
    _not_available(
        client.post(_damage_url(outsider_code), json=_damage_body(person_id), headers=clerk)
    )
    # The stricken member cannot "help" a partner that is not stricken.
    _not_available(
        client.post(
            _damage_url(IMIZU),
            json=_damage_body(person_id),
            headers=bearer(state, NAMERIKAWA, "clerk"),
        )
    )
    # 401 and 403 come first, as on every route.
    assert client.post(_damage_url(NAMERIKAWA), json=_damage_body(person_id)).status_code == 401
    refused = client.post(
        _damage_url(NAMERIKAWA),
        json=_damage_body(person_id),
        headers=bearer(state, IMIZU, "tenant_admin"),
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    # Nothing was issued for the person.
    log = client.get(
        f"{API}/documents",
        params={"person_id": person_id},
        headers=bearer(state, NAMERIKAWA, "clerk"),
    )
    assert log.status_code == 200 and log.json()["total"] == 0


def test_a_partner_issues_the_stricken_members_certificates_while_in_continuity_mode(
    client: TestClient, state, demo, operator: Operator, declare: Callable[[str], None]
) -> None:
    person_id = _namerikawa_resident(client, state, "オウエン")
    clerk = bearer(state, IMIZU, "clerk")
    theirs = bearer(state, NAMERIKAWA, "clerk")
    declare(NAMERIKAWA)

    damage = client.post(_damage_url(NAMERIKAWA), json=_damage_body(person_id), headers=clerk)
    assert damage.status_code == 201, damage.text
    record = client.post(_record_url(NAMERIKAWA), json=_record_body(person_id), headers=clerk)
    assert record.status_code == 201, record.text
    (damage_doc,) = damage.json()["documents"]
    (record_doc,) = record.json()["documents"]
    assert damage_doc["title"] == "罹災証明書"
    assert record_doc["title"] == "住民票の写し"

    for doc in (damage_doc, record_doc):
        # The stricken member's serial, in its own log, naming the helper.
        assert doc["serial"].startswith(f"{NAMERIKAWA}-{TODAY.year}-")
        logged = client.get(f"{API}/documents/{doc['document_id']}", headers=theirs)
        assert logged.status_code == 200, logged.text
        assert logged.json()["serial"] == doc["serial"]
        assert logged.json()["acting_name"] == "射水市"
        assert logged.json()["subject_ids"] == [person_id]

        # The PDF names both: 滑川市長 certifies, 射水市 issued it under the agreement.
        pdf = client.get(f"{API}/documents/{doc['document_id']}/pdf", headers=theirs)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        text = _text(pdf.content)
        assert "滑川市長" in text
        assert "相互応援協定により射水市が発行" in text
        assert "被災団体：滑川市" in text
        assert "射水市長" not in text
        assert doc["serial"] in text
        assert "応援" in text and "花子" in text

        # Anyone can check it: 滑川市's document, issued by 射水市 for it; no personal data.
        verified = client.get(f"/verify/{doc['serial']}")
        assert verified.status_code == 200
        checked = verified.json()
        assert checked["status"] == "genuine"
        assert checked["issuer"] == "富山県滑川市"
        assert checked["acting_issuer"] == "射水市"
        assert "応援" not in verified.text and "花子" not in verified.text

        # The helper reads nothing of it through the ordinary routes.
        for url in (
            f"{API}/documents/{doc['document_id']}",
            f"{API}/documents/{doc['document_id']}/pdf",
        ):
            denied = client.get(url, headers=clerk)
            assert denied.status_code == 404, denied.text
            assert denied.json()["code"] == "document_not_found"
            assert "応援" not in denied.text
    assert "罹災証明書" in _text(
        client.get(f"{API}/documents/{damage_doc['document_id']}/pdf", headers=theirs).content
    )
    assert DISASTER in _text(
        client.get(f"{API}/documents/{damage_doc['document_id']}/pdf", headers=theirs).content
    )

    # 射水市's own issuance log holds neither document.
    own_log = client.get(f"{API}/documents", params={"limit": 200}, headers=clerk).json()
    own_serials = {item["serial"] for item in own_log["items"]}
    assert not own_serials & {damage_doc["serial"], record_doc["serial"]}

    # Audit: 滑川市's chain records the issuance by 射水市 (acting_tenant_id) …
    stricken_chain = _audit(client, state, NAMERIKAWA)
    for doc in (damage_doc, record_doc):
        (issued,) = _entries(stricken_chain, "document.issued", doc["serial"])
        assert issued["acting_tenant_id"] == demo[IMIZU]
        assert issued["details"]["acting"] == "射水市"
    # … and 射水市's chain the work it did for 滑川市, and no issuance of its own.
    helper_chain = _audit(client, state, IMIZU)
    (aid,) = _entries(helper_chain, "mutual_aid.disaster_damage_issued", NAMERIKAWA)
    assert aid["details"]["serials"] == [damage_doc["serial"]]
    assert aid["details"]["stricken"] == "滑川市"
    assert aid["acting_tenant_id"] is None
    (aid_record,) = _entries(helper_chain, "mutual_aid.resident_record_issued", NAMERIKAWA)
    assert aid_record["details"]["serials"] == [record_doc["serial"]]
    for doc in (damage_doc, record_doc):
        assert not _entries(helper_chain, "document.issued", doc["serial"])
    with UnitOfWork(state.session_factory) as uow:
        results = audit.verify_tenants(uow.session, [demo[IMIZU], demo[NAMERIKAWA]])
        assert all(r.ok for r in results), results

    # Continuity mode opens nothing else of 滑川市's to 射水市.
    resident = client.get(f"{API}/residents/{person_id}", headers=clerk)
    assert resident.status_code == 404 and resident.json()["code"] == "resident_not_found"
    assert "応援" not in resident.text
    history = client.get(f"{API}/residents/{person_id}/history", headers=clerk)
    assert history.status_code == 404
    listed = client.get(f"{API}/documents", params={"person_id": person_id}, headers=clerk)
    assert listed.status_code == 200 and listed.json()["total"] == 0
    # (滑川市's own staff do see the person: the 404 is the wall, not a missing record.)
    assert client.get(f"{API}/residents/{person_id}", headers=theirs).status_code == 200

    # Once continuity mode ends, so does the mutual aid.
    _end(operator, NAMERIKAWA)
    _not_available(
        client.post(_damage_url(NAMERIKAWA), json=_damage_body(person_id), headers=clerk)
    )
    _not_available(
        client.post(_record_url(NAMERIKAWA), json=_record_body(person_id), headers=clerk)
    )
    after = client.get(f"{API}/documents", params={"person_id": person_id}, headers=theirs)
    assert after.json()["total"] == 2


def test_a_protected_person_is_refused_to_the_partner_and_logged_for_the_stricken_member(
    client: TestClient, state, demo, operator: Operator, declare: Callable[[str], None]
) -> None:
    person_id = _namerikawa_resident(client, state, "オウエンホゴ")
    measure = client.post(
        f"{API}/residents/{person_id}/protection",
        json={"category": "DV", "started_on": TODAY.isoformat()},
        headers=bearer(state, NAMERIKAWA, "supervisor"),
    )
    assert measure.status_code == 201, measure.text
    declare(NAMERIKAWA)
    clerk = bearer(state, IMIZU, "clerk")
    response = client.post(_record_url(NAMERIKAWA), json=_record_body(person_id), headers=clerk)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "protected_person"
    # The refusal stays in 滑川市's chain and names the helper.
    (blocked,) = _entries(_audit(client, state, NAMERIKAWA), "protection.blocked", person_id)
    assert blocked["acting_tenant_id"] == demo[IMIZU]
    assert not _entries(_audit(client, state, IMIZU), "protection.blocked", person_id)
    log = client.get(
        f"{API}/documents",
        params={"person_id": person_id},
        headers=bearer(state, NAMERIKAWA, "clerk"),
    )
    assert log.json()["total"] == 0


def _pdf_check(state: Any, demo: Any, lg_code: str, pdf: bytes) -> signing.PdfSignatureCheck:
    """The PDF's signature checked against ``lg_code``'s own PAdES certificate."""
    with UnitOfWork(state.session_factory) as uow:
        municipality = tenancy_repo.municipality_by_id(uow.session, demo[lg_code])
        assert municipality is not None
        with tenant_scope(uow.session, TenantContext(TenantId(demo[lg_code]))):
            key_id, seed = TenantKeys(uow.session, state.ring).signing_seed(PURPOSE_PDF_SIGNING)
            issuer = issuer_for(uow.session, municipality)
        uow.rollback()
    certificate, _key = signing.pdf_certificate(issuer.lg_code, issuer.title, key_id, seed)
    # pyHanko validates with asyncio.run(): off this thread, where the session-wide browser of
    # the web tests (Playwright's sync API) may keep an event loop running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(signing.check_pdf_signature, pdf, certificate).result()


def test_the_partner_signs_with_the_stricken_members_keys(
    client: TestClient, state, demo, operator: Operator, declare: Callable[[str], None]
) -> None:
    person_id = _namerikawa_resident(client, state, "オウエンショメイ")
    declare(NAMERIKAWA)
    damage = client.post(
        _damage_url(NAMERIKAWA), json=_damage_body(person_id), headers=bearer(state, IMIZU, "clerk")
    )
    assert damage.status_code == 201, damage.text
    (doc,) = damage.json()["documents"]
    pdf = client.get(
        f"{API}/documents/{doc['document_id']}/pdf", headers=bearer(state, NAMERIKAWA, "clerk")
    ).content
    # PAdES: 滑川市長's certificate, not 射水市's.
    theirs = _pdf_check(state, demo, NAMERIKAWA, pdf)
    assert theirs.signed and theirs.intact and theirs.whole_file
    assert theirs.signer == "滑川市長"
    assert not _pdf_check(state, demo, IMIZU, pdf).intact
    # The QR code's signature verifies with 滑川市's document-signing key.
    with UnitOfWork(state.session_factory) as uow:
        with tenant_scope(uow.session, TenantContext(TenantId(demo[NAMERIKAWA]))):
            row = uow.session.scalar(
                select(IssuedDocument).where(IssuedDocument.serial == doc["serial"])
            )
            assert row is not None
            digest, signature = row.content_hash, row.signature
        uow.rollback()
    checked = client.get(f"/verify/{doc['serial']}", params={"h": digest, "s": signature}).json()
    assert checked["status"] == "genuine", checked
    forged = client.get(f"/verify/{doc['serial']}", params={"h": digest, "s": altered(signature)})
    assert forged.json()["status"] == "forged"


def _aid_entries(client: TestClient, state: Any) -> int:
    """How many pieces of mutual-aid work 射水市's chain records."""
    return sum(e["action"].startswith("mutual_aid.") for e in _audit(client, state, IMIZU))


def test_the_partner_cannot_certify_a_person_the_stricken_member_does_not_hold(
    client: TestClient, state, demo, operator: Operator, declare: Callable[[str], None]
) -> None:
    """The stricken member's name certifies only its own register: 射水市's resident is not
    found there, and nothing is issued in either log."""
    add_machiaza(state, IMIZU, [("162116-M001", "応援町", "オウエンマチ")])
    clerk = bearer(state, IMIZU, "clerk")
    moved = client.post(
        f"{API}/residents/move-in",
        json={
            "effective_on": (TODAY - dt.timedelta(days=10)).isoformat(),
            "persons": [
                {
                    "family_name": "応援",
                    "given_name": "射水",
                    "family_name_kana": "オウエンイミズ",
                    "given_name_kana": "イミズ",
                    "birth_date": "昭和58年3月3日",
                    "sex": "male",
                    "relationship": "世帯主",
                }
            ],
            "address": {"machiaza_code": "162116-M001", "banchi": "5番地"},
            "previous_address": "富山県富山市新桜町7番38号",
        },
        headers=clerk,
    )
    assert moved.status_code == 201, moved.text
    own = moved.json()["person_ids"][0]
    declare(NAMERIKAWA)
    before = _aid_entries(client, state)
    for url, body in (
        (_damage_url(NAMERIKAWA), _damage_body(own)),
        (_record_url(NAMERIKAWA), _record_body(own)),
    ):
        response = client.post(url, json=body, headers=clerk)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "resident_not_found"
    for lg_code in (IMIZU, NAMERIKAWA):
        log = client.get(
            f"{API}/documents", params={"person_id": own}, headers=bearer(state, lg_code, "clerk")
        )
        assert log.json()["total"] == 0
    assert _aid_entries(client, state) == before
