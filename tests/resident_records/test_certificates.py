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


def test_zz_explore(client, clerk, state) -> None:
    fam = [
        _person(juminhyo_code="12345678901"),
        _person(given_name="花子", given_name_kana="ハナコ", sex="female", relationship="妻", my_number=None, birth_date="昭和52年5月5日"),
        _person(given_name="一郎", given_name_kana="イチロウ", relationship="子", my_number=None, birth_date="平成20年1月10日"),
    ]
    moved = _move_in(client, clerk, fam)
    pids = moved["person_ids"]
    for opts in [{}, {"head_and_relationship": True}, {"honseki": True}, {"juminhyo_code": True}, {"my_number": True}, {"history": True}, {"kana": True}]:
        body = {"kind": "resident_record_copy", "person_ids": [pids[0]], "requester": {"type": "self", "name": "x"}, "options": opts}
        r = client.post("/api/v1/certificates/resident-record/preview", json=body, headers=clerk)
        print(opts, r.status_code, r.headers.get("content-type"))
        print(repr(_text(r.content)))
    body = {"kind": "resident_record_copy", "person_ids": [pids[2], pids[0], pids[1]], "layout": "household", "requester": {"type": "self", "name": "x"}, "options": {"head_and_relationship": True}}
    r = client.post("/api/v1/certificates/resident-record", json=body, headers=clerk)
    print(r.json())
    pdf = client.get(r.json()["documents"][0]["pdf_url"], headers=clerk).content
    for p in PdfReader(io.BytesIO(pdf)).pages:
        print(repr(p.extract_text()))
    print(client.get("/api/v1/tenant/parameters", headers=clerk).json())
    print(client.get("/api/v1/documents", headers=clerk).json()["items"][0])
