"""Certificates of the register through the API: issue, read back, verify."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.helpers import IMIZU, add_machiaza, bearer

TODAY = dt.date.today()
MACHIAZA = [("162116-0001", "大門", "ダイモン")]


@pytest.fixture
def clerk(state, demo) -> dict[str, str]:
    add_machiaza(state, IMIZU, MACHIAZA)
    return bearer(state, IMIZU, "clerk")


def _person(**over: Any) -> dict[str, Any]:
    return {
        "family_name": "髙橋",
        "given_name": "葛\U000e0102城",
        "family_name_kana": "タカハシ",
        "given_name_kana": "カツラギ",
        "birth_date": "昭和50年4月1日",
        "sex": "male",
        "relationship": "世帯主",
        "honseki": "富山県射水市大門1番地",
        "koseki_head": "髙橋 葛城",
        "my_number": "123456789018",
    } | over


def _move_in(client: TestClient, headers: dict[str, str], persons: list[dict[str, Any]]) -> Any:
    body = {
        "effective_on": (TODAY - dt.timedelta(days=3)).isoformat(),
        "persons": persons,
        "address": {"machiaza_code": "162116-0001", "banchi": "1番地"},
        "previous_address": "富山県富山市新桜町7番38号",
    }
    response = client.post("/api/v1/residents/move-in", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _text(pdf: bytes) -> str:
    """The PDF's text with line breaks and the title's letter spacing taken out."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return "".join(page.extract_text() for page in pages).replace(" ", "").replace("\n", "")


def test_a_resident_record_copy_is_issued_signed_and_verifiable(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    body = {
        "kind": "resident_record_copy",
        "person_ids": moved["person_ids"],
        "requester": {"type": "self", "name": "髙橋 葛城"},
    }
    response = client.post("/api/v1/certificates/resident-record", json=body, headers=clerk)
    assert response.status_code == 201, response.text
    (doc,) = response.json()["documents"]
    assert doc["serial"].startswith(f"{IMIZU}-{TODAY.year}-")
    pdf = client.get(doc["pdf_url"], headers=clerk).content
    text = _text(pdf)
    assert "住民票の写し" in text
    assert "葛\U000e0102城" in text
    assert "123456789018" not in text  # 個人番号 is omitted unless asked for
    assert doc["serial"] in text
    verified = client.get(f"/verify/{doc['serial']}").json()
    assert verified["status"] == "genuine"
    assert "髙橋" not in str(verified)
