"""Cross-tenant cases for issued documents and protection releases (used by the isolation test).

Each case makes a record in 滑川市, shows that 射水市 staff with the right role get 404 for it
(and change nothing), and shows the same route works for 射水市's own record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from core.scoping import TenantContext, TenantId, set_context
from resident_records.models import ProtectionRelease
from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer

API = "/api/v1"
TODAY = dt.date.today()
_MACHIAZA = {
    IMIZU: ("162116-T002", "文書町", "ブンショマチ"),
    NAMERIKAWA: ("162060-T002", "文書町", "ブンショマチ"),
}
# A well-formed serial of a document that exists nowhere (the route's path pattern).
UNKNOWN_SERIAL = f"{IMIZU}-{TODAY.year}-9999999"


def _resident(client: TestClient, state: Any, lg_code: str, kana: str = "ブンリ") -> str:
    """Move one person into ``lg_code``; returns the person id."""
    add_machiaza(state, lg_code, [_MACHIAZA[lg_code]])
    body = {
        "effective_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "persons": [
            {
                "family_name": "分離",
                "given_name": "試験",
                "family_name_kana": kana,
                "given_name_kana": "シケン",
                "birth_date": "昭和60年1月1日",
                "sex": "female",
                "relationship": "世帯主",
            }
        ],
        "address": {"machiaza_code": _MACHIAZA[lg_code][0], "banchi": "3番地"},
        "previous_address": "東京都千代田区霞が関2丁目1番2号",
    }
    response = client.post(
        f"{API}/residents/move-in", json=body, headers=bearer(state, lg_code, "clerk")
    )
    assert response.status_code == 201, response.text
    person_id: str = response.json()["person_ids"][0]
    return person_id


def _issue(client: TestClient, state: Any, lg_code: str, person_id: str) -> dict[str, Any]:
    """Issue a 住民票の写し of ``person_id`` in ``lg_code``; returns the issued document."""
    response = client.post(
        f"{API}/certificates/resident-record",
        json={
            "kind": "resident_record_copy",
            "person_ids": [person_id],
            "requester": {"type": "self", "name": "分離 試験"},
        },
        headers=bearer(state, lg_code, "clerk"),
    )
    assert response.status_code == 201, response.text
    (document,) = response.json()["documents"]
    assert document["serial"].startswith(f"{lg_code}-")
    result: dict[str, Any] = document
    return result


def _document(client: TestClient, state: Any, lg_code: str) -> dict[str, Any]:
    return _issue(client, state, lg_code, _resident(client, state, lg_code))


def _protected(client: TestClient, state: Any, lg_code: str) -> str:
    """A resident of ``lg_code`` under a DV measure in force; returns the person id."""
    person_id = _resident(client, state, lg_code, kana="ホゴブンリ")
    made = client.post(
        f"{API}/residents/{person_id}/protection",
        json={"category": "DV", "started_on": TODAY.isoformat()},
        headers=bearer(state, lg_code, "supervisor"),
    )
    assert made.status_code == 201, made.text
    return person_id


def _audit(client: TestClient, state: Any, lg_code: str) -> list[dict[str, Any]]:
    """The newest entries of ``lg_code``'s audit chain, as its supervisor reads them."""
    response = client.get(
        f"{API}/audit", params={"limit": 500}, headers=bearer(state, lg_code, "supervisor")
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def _logged(entries: list[dict[str, Any]], action: str, subject_id: str) -> bool:
    return any(e["action"] == action and e["subject_id"] == subject_id for e in entries)


def _verify_status(client: TestClient, serial: str) -> str:
    response = client.get(f"/verify/{serial}")
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def _assert_404(response: Any, code: str, *hidden: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["code"] == code
    assert not response.headers["content-type"].startswith("application/pdf")
    for text in ("分離", *hidden):
        assert text not in response.text


def case_get_document(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _document(client, state, NAMERIKAWA), _document(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    ok = client.get(f"{API}/documents/{own['document_id']}", headers=clerk)
    assert ok.status_code == 200, ok.text
    assert ok.json()["serial"] == own["serial"]
    response = client.get(f"{API}/documents/{theirs['document_id']}", headers=clerk)
    _assert_404(response, "document_not_found", theirs["serial"])
    # Nothing was read: 滑川市's chain records no viewing of its document.
    assert not _logged(_audit(client, state, NAMERIKAWA), "document.viewed", theirs["serial"])
    # Control: 滑川市 reads its own document through the same route.
    mine = client.get(
        f"{API}/documents/{theirs['document_id']}", headers=bearer(state, NAMERIKAWA, "clerk")
    )
    assert mine.status_code == 200 and mine.json()["serial"] == theirs["serial"]


def case_get_document_pdf(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _document(client, state, NAMERIKAWA), _document(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    ok = client.get(f"{API}/documents/{own['document_id']}/pdf", headers=clerk)
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"] == "application/pdf"
    assert ok.content.startswith(b"%PDF")
    response = client.get(f"{API}/documents/{theirs['document_id']}/pdf", headers=clerk)
    _assert_404(response, "document_not_found", theirs["serial"])
    assert not response.content.startswith(b"%PDF")
    assert not _logged(_audit(client, state, NAMERIKAWA), "document.pdf_read", theirs["serial"])


def case_revoke_document(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _document(client, state, NAMERIKAWA), _document(client, state, IMIZU)
    sup = bearer(state, IMIZU, "supervisor")
    body = {"reason": "紛失届"}
    response = client.post(f"{API}/documents/{theirs['serial']}/revoke", json=body, headers=sup)
    _assert_404(response, "document_not_found")
    # Untouched: still genuine for anyone who checks it, and nothing logged in 滑川市's chain.
    assert _verify_status(client, theirs["serial"]) == "genuine"
    assert not _logged(_audit(client, state, NAMERIKAWA), "document.revoked", theirs["serial"])
    # Nor did 射水市 keep a revocation of the serial on its own side.
    again = client.post(f"{API}/documents/{theirs['serial']}/revoke", json=body, headers=sup)
    assert again.status_code == 404 and again.json()["code"] == "document_not_found"
    assert not _logged(_audit(client, state, IMIZU), "document.revoked", theirs["serial"])
    # Control: 射水市 revokes its own document through the same route.
    ok = client.post(f"{API}/documents/{own['serial']}/revoke", json=body, headers=sup)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"serial": own["serial"], "reason": "紛失届"}
    assert _verify_status(client, own["serial"]) == "revoked"


def _releases(state: Any, tenant_id: int, person_id: str) -> int:
    session = state.session_factory()
    try:
        set_context(session, TenantContext(TenantId(tenant_id)))
        rows = session.scalars(
            select(ProtectionRelease).where(ProtectionRelease.person_id == uuid.UUID(person_id))
        ).all()
        return len(rows)
    finally:
        session.rollback()
        session.close()


def case_protection_release(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _protected(client, state, NAMERIKAWA), _protected(client, state, IMIZU)
    sup = bearer(state, IMIZU, "supervisor")
    body = {"reason": "本人確認済み"}
    ok = client.post(f"{API}/residents/{own}/protection-release", json=body, headers=sup)
    assert ok.status_code == 201, ok.text
    assert ok.json()["person_id"] == own
    response = client.post(f"{API}/residents/{theirs}/protection-release", json=body, headers=sup)
    _assert_404(response, "resident_not_found")
    # No release exists for 滑川市's person, and its chain records none.
    assert _releases(state, demo[NAMERIKAWA], theirs) == 0
    assert not _logged(_audit(client, state, NAMERIKAWA), "protection.released", theirs)
    # The person is still protected: 滑川市's own counter is refused a copy without a release.
    blocked = client.post(
        f"{API}/certificates/resident-record",
        json={
            "kind": "resident_record_copy",
            "person_ids": [theirs],
            "requester": {"type": "self", "name": "分離 試験"},
        },
        headers=bearer(state, NAMERIKAWA, "clerk"),
    )
    assert blocked.status_code == 403 and blocked.json()["code"] == "protected_person"


def seed_namerikawa(client: TestClient, state: Any) -> None:
    """Give 滑川市 a row in every table of issued documents and of protection releases
    (issued_documents, document_files, document_serial_counters, document_revocations,
    protection_releases), so that "射水市 sees none of them" is not vacuous."""
    document = _document(client, state, NAMERIKAWA)
    revoked = client.post(
        f"{API}/documents/{document['serial']}/revoke",
        json={"reason": "分離試験"},
        headers=bearer(state, NAMERIKAWA, "supervisor"),
    )
    assert revoked.status_code == 200, revoked.text
    person_id = _protected(client, state, NAMERIKAWA)
    released = client.post(
        f"{API}/residents/{person_id}/protection-release",
        json={"reason": "本人確認済み"},
        headers=bearer(state, NAMERIKAWA, "supervisor"),
    )
    assert released.status_code == 201, released.text


SEEDED_TABLES = (
    "document_files",
    "document_revocations",
    "document_serial_counters",
    "issued_documents",
    "protection_releases",
)

CASES: dict[tuple[str, str], Callable[..., None]] = {
    ("GET", f"{API}/documents/{{document_id}}"): case_get_document,
    ("GET", f"{API}/documents/{{document_id}}/pdf"): case_get_document_pdf,
    ("POST", f"{API}/documents/{{serial}}/revoke"): case_revoke_document,
    ("POST", f"{API}/residents/{{person_id}}/protection-release"): case_protection_release,
}
# A role of the caller's own municipality that may NOT use the route (for the 403 check): a
# clerk may read documents but neither revoke one nor release a protected person.
UNPRIVILEGED: dict[tuple[str, str], str] = {
    ("GET", f"{API}/documents/{{document_id}}"): "tenant_admin",
    ("GET", f"{API}/documents/{{document_id}}/pdf"): "tenant_admin",
    ("POST", f"{API}/documents/{{serial}}/revoke"): "clerk",
    ("POST", f"{API}/residents/{{person_id}}/protection-release"): "clerk",
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", f"{API}/documents/{{serial}}/revoke"): {"reason": "紛失届"},
    ("POST", f"{API}/residents/{{person_id}}/protection-release"): {"reason": "本人確認済み"},
}
