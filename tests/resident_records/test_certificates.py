"""Certificates of the register through the API: issue, read back, verify."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from core.audit import AuditEntry
from core.scoping import TenantContext, TenantId, set_context
from core.uow import UnitOfWork
from forms.models import IssuedDocument
from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, altered, bearer

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


# --- helpers ---------------------------------------------------------------------------------

API = "/api/v1"
IVS_NAME = "髙橋\u3000葛\U000e0102城"  # as printed: family and given name, ideographic space
MY_NUMBER = "123456789018"
JUMINHYO_CODE = "12345678901"
COPY_SENTENCE = "この写しは、住民票の原本と相違ないことを証明する。"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
SERIAL = re.compile(r"\d{6}-\d{4}-\d{7}")
STAY_EXPIRES = TODAY + dt.timedelta(days=300)


def _reiwa(day: dt.date) -> str:
    """和暦 as the forms print it (an independent oracle: every date here is in 令和)."""
    return f"令和{day.year - 2018}年{day.month}月{day.day}日"


def _family_of_three() -> list[dict[str, Any]]:
    return [
        _person(juminhyo_code=JUMINHYO_CODE),
        _person(
            given_name="花子",
            given_name_kana="ハナコ",
            sex="female",
            relationship="妻",
            birth_date="昭和52年5月5日",
            my_number=None,
        ),
        _person(
            given_name="一郎",
            given_name_kana="イチロウ",
            relationship="子",
            birth_date="平成20年1月10日",
            my_number=None,
        ),
    ]


def _foreign_person() -> dict[str, Any]:
    return {
        "family_name": "NGUYEN",
        "given_name": "VAN AN",
        "birth_date": "1995-08-15",
        "sex": "male",
        "relationship": "世帯主",
        "foreign": {
            "name_alphabet": "NGUYEN VAN AN",
            "nationality": "ベトナム",
            "category": "中長期在留者",
            "residence_status": "特定技能",
            "period_of_stay": "1年",
            "stay_expires_on": STAY_EXPIRES.isoformat(),
            "residence_card_number": "AB12345678CD",
            "alias_name": "中村 安",
            "alias_name_kana": "ナカムラ アン",
        },
    }


def _immigrate(client: TestClient, headers: dict[str, str], person: dict[str, Any]) -> Any:
    body = {
        "effective_on": (TODAY - dt.timedelta(days=3)).isoformat(),
        "persons": [person],
        "address": {"machiaza_code": "162116-0001", "banchi": "2番地"},
        "previous_address": "ベトナム",
    }
    response = client.post(f"{API}/residents/immigration", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _household_ref(client: TestClient, headers: dict[str, str], hid: str) -> dict[str, Any]:
    version = client.get(f"{API}/households/{hid}", headers=headers).json()["version"]
    return {"household_id": hid, "version": version}


def _move_out(
    client: TestClient,
    headers: dict[str, str],
    moved: dict[str, Any],
    person_ids: list[str],
    on: dt.date,
) -> None:
    response = client.post(
        f"{API}/residents/move-out",
        headers=headers,
        json={
            "effective_on": on.isoformat(),
            "person_ids": person_ids,
            "household": _household_ref(client, headers, moved["household_ids"][0]),
            "destination_address": "石川県金沢市広坂1丁目1番1号",
        },
    )
    assert response.status_code == 201, response.text


def _confirm_move_out(
    client: TestClient, headers: dict[str, str], person_ids: list[str], moved_in_on: dt.date
) -> None:
    response = client.post(
        f"{API}/residents/move-out-confirmation",
        headers=headers,
        json={"person_ids": person_ids, "moved_in_on": moved_in_on.isoformat()},
    )
    assert response.status_code == 201, response.text


def _self(name: str = "髙橋 葛城") -> dict[str, Any]:
    return {"type": "self", "name": name}


def _request(person_ids: list[str], **over: Any) -> dict[str, Any]:
    return {
        "kind": "resident_record_copy",
        "person_ids": person_ids,
        "requester": _self(),
    } | over


def _issue(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], path: str = "resident-record"
) -> list[dict[str, Any]]:
    response = client.post(f"{API}/certificates/{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    documents: list[dict[str, Any]] = response.json()["documents"]
    return documents


def _pdf(client: TestClient, headers: dict[str, str], doc: dict[str, Any]) -> bytes:
    response = client.get(doc["pdf_url"], headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf: bytes = response.content
    return pdf


def _issued_text(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    (doc,) = _issue(client, headers, body)
    return _text(_pdf(client, headers, doc))


def _preview_text(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    response = client.post(
        f"{API}/certificates/resident-record/preview", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return _text(response.content)


def _page_texts(pdf: bytes) -> list[str]:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return [page.extract_text().replace(" ", "").replace("\n", "") for page in pages]


def _log_total(client: TestClient, headers: dict[str, str]) -> int:
    response = client.get(f"{API}/documents", headers=headers)
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def _fees(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    fees: dict[str, int] = client.get(f"{API}/tenant/parameters", headers=headers).json()[
        "parameters"
    ]["fees"]
    return fees


def _assert_refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()
    assert error["code"] == code
    assert JAPANESE.search(error["message"]), error
    return error


def _order(text: str, *needles: str) -> list[int]:
    positions = [text.find(n) for n in needles]
    assert -1 not in positions, (needles, positions)
    return positions


# --- 1. every form, rendered and read back ---------------------------------------------------


def test_individual_copy_prints_the_entry_in_force(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    text = _issued_text(client, clerk, _request(moved["person_ids"]))
    became = _reiwa(TODAY - dt.timedelta(days=3))
    for item in (
        "住民票の写し",
        "住所富山県射水市大門1番地",
        f"氏名{IVS_NAME}",
        "生年月日昭和50年4月1日",
        "性別男",
        f"住民となった日{became}",
        f"住所を定めた日{became}",
        f"届出日{_reiwa(TODAY)}",
        "従前の住所富山県富山市新桜町7番38号",
        "省略した事項：世帯主・続柄、本籍・筆頭者、住民票コード、個人番号",
        COPY_SENTENCE,
        f"{COPY_SENTENCE}{_reiwa(TODAY)}射水市長",
    ):
        assert item in text, item
    body, _note = _without_note(text)
    for absent in ("続柄", "本籍", "筆頭者", "国籍", "異動日", "（タカハシ", "除票", MY_NUMBER):
        assert absent not in body, absent


def test_household_copy_lists_members_in_the_standard_order(client, clerk) -> None:
    moved = _move_in(client, clerk, _family_of_three())
    head, wife, child = moved["person_ids"]
    docs = _issue(
        client,
        clerk,
        _request(
            [child, head, wife],
            layout="household",
            options={"head_and_relationship": True},
        ),
    )
    assert len(docs) == 1
    text = _text(_pdf(client, clerk, docs[0]))
    assert f"世帯主{IVS_NAME}" in text
    names = _order(
        text,
        f"氏名{IVS_NAME}",
        "氏名髙橋\u3000花子",
        "氏名髙橋\u3000一郎",
    )
    assert names == sorted(names)
    relationships = _order(text, "続柄世帯主", "続柄妻", "続柄子")
    assert relationships == sorted(relationships)
    assert text.count("氏名") == 3
    assert text.count(COPY_SENTENCE) == 1
    entry = client.get(f"{API}/documents/{docs[0]['document_id']}", headers=clerk).json()
    assert entry["options"]["layout"] == "household"
    assert entry["subject_ids"] == [head, wife, child]


def test_extract_is_the_record_extract_with_its_own_sentence(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    (doc,) = _issue(client, clerk, _request(moved["person_ids"], kind="resident_record_extract"))
    assert doc["title"] == "住民票記載事項証明書"
    text = _text(_pdf(client, clerk, doc))
    assert text.startswith("住民票記載事項証明書")
    assert "上記の事項は、住民票の原本と相違ないことを証明する。" in text
    assert COPY_SENTENCE not in text
    assert f"氏名{IVS_NAME}" in text


def test_removed_record_copy_after_a_death(client, clerk) -> None:
    moved = _move_in(client, clerk, _family_of_three())
    head, wife, _child = moved["person_ids"]
    died = client.post(
        f"{API}/residents/death",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "person_id": wife,
            "household": _household_ref(client, clerk, moved["household_ids"][0]),
        },
    )
    assert died.status_code == 201, died.text
    (doc,) = _issue(client, clerk, _request([wife], kind="removed_record_copy"))
    assert doc["title"] == "住民票の除票の写し"
    text = _text(_pdf(client, clerk, doc))
    assert text.startswith("住民票の除票の写し")
    assert "氏名髙橋\u3000花子" in text
    assert f"死亡日{_reiwa(TODAY)}" in text
    assert "この写しは、住民票の除票の原本と相違ないことを証明する。" in text
    before = _log_total(client, clerk)
    copy = client.post(f"{API}/certificates/resident-record", json=_request([wife]), headers=clerk)
    _assert_refused(copy, 422, "record_removed")
    removed = client.post(
        f"{API}/certificates/resident-record",
        json=_request([head], kind="removed_record_copy"),
        headers=clerk,
    )
    _assert_refused(removed, 422, "not_removed")
    assert _log_total(client, clerk) == before


def test_removed_record_copy_after_a_confirmed_move_out(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    _move_out(client, clerk, moved, [pid], TODAY + dt.timedelta(days=5))
    # Before the planned date the entry in force is still the resident's one.
    text = _preview_text(client, clerk, _request([pid]))
    assert "転出" not in text
    _confirm_move_out(client, clerk, [pid], TODAY - dt.timedelta(days=1))
    refused = client.post(
        f"{API}/certificates/resident-record", json=_request([pid]), headers=clerk
    )
    _assert_refused(refused, 422, "record_removed")
    text = _issued_text(client, clerk, _request([pid], kind="removed_record_copy"))
    assert text.startswith("住民票の除票の写し")
    removed_on = _reiwa(TODAY - dt.timedelta(days=1))
    assert f"転出日{removed_on}\u3000石川県金沢市広坂1丁目1番1号" in text


def test_move_out_certificate_and_its_reissue(client, clerk) -> None:
    moved = _move_in(client, clerk, _family_of_three())
    head, wife, child = moved["person_ids"]
    planned = TODAY + dt.timedelta(days=5)
    _move_out(client, clerk, moved, [head, wife, child], planned)
    body = {"person_ids": [child, wife, head], "requester": _self()}
    (first,) = _issue(client, clerk, body, "move-out")
    assert first["title"] == "転出証明書"
    assert first["fee"] == _fees(client, clerk)["move_out_certificate"]
    text = _text(_pdf(client, clerk, first))
    assert text.startswith("転出証明書")
    assert "再交付" not in text
    for item in (
        "住所富山県射水市大門1番地",
        f"世帯主{IVS_NAME}",
        "転出先石川県金沢市広坂1丁目1番1号",
        f"転出予定日{_reiwa(planned)}",
        f"氏名{IVS_NAME}\u3000（タカハシ\u3000カツラギ）",
        "本籍富山県射水市大門1番地",
        f"住民票コード{JUMINHYO_CODE}",
        "上記の者は、転出の届出をしたことを証明する。",
        first["serial"],
    ):
        assert item in text, item
    assert MY_NUMBER not in text
    order = _order(text, "続柄世帯主", "続柄妻", "続柄子")
    assert order == sorted(order)

    (second,) = _issue(client, clerk, body | {"reissue_of": first["serial"]}, "move-out")
    assert second["serial"] != first["serial"]
    reissued = _text(_pdf(client, clerk, second))
    assert reissued.startswith("転出証明書（再交付）")
    assert second["serial"] in reissued
    old = client.get(f"/verify/{first['serial']}").json()
    assert old["status"] == "superseded"
    assert second["serial"] in old["message"]
    assert client.get(f"/verify/{second['serial']}").json()["status"] == "genuine"
    entry = client.get(f"{API}/documents/{second['document_id']}", headers=clerk).json()
    assert entry["reissue_of"] == first["serial"]


def test_move_out_certificate_needs_a_move_out_and_a_real_original(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    before = _log_total(client, clerk)
    body = {"person_ids": [pid], "requester": _self()}
    missing = client.post(f"{API}/certificates/move-out", json=body, headers=clerk)
    _assert_refused(missing, 422, "no_move_out")
    _move_out(client, clerk, moved, [pid], TODAY + dt.timedelta(days=5))
    unknown = client.post(
        f"{API}/certificates/move-out",
        json=body | {"reissue_of": f"{IMIZU}-{TODAY.year}-9999999"},
        headers=clerk,
    )
    _assert_refused(unknown, 422, "no_original")
    outsider = client.post(
        f"{API}/certificates/move-out",
        json=body
        | {"requester": {"type": "third_party", "name": "第三 者", "purpose": "債権回収"}},
        headers=clerk,
    )
    _assert_refused(outsider, 422, "move_out_certificate_requester")
    assert _log_total(client, clerk) == before


def test_a_reissue_must_be_of_a_certificate_of_the_same_persons(client, clerk) -> None:
    ours = _move_in(client, clerk, [_person()])
    theirs = _move_in(client, clerk, [_person(family_name="佐藤", family_name_kana="サトウ")])
    for moved in (ours, theirs):
        _move_out(client, clerk, moved, moved["person_ids"], TODAY + dt.timedelta(days=5))
    (their_certificate,) = _issue(
        client, clerk, {"person_ids": theirs["person_ids"], "requester": _self()}, "move-out"
    )
    response = client.post(
        f"{API}/certificates/move-out",
        json={
            "person_ids": ours["person_ids"],
            "requester": _self(),
            "reissue_of": their_certificate["serial"],
        },
        headers=clerk,
    )
    assert response.status_code == 422, response.text
    assert client.get(f"/verify/{their_certificate['serial']}").json()["status"] == "genuine"


def test_move_out_equivalent_certificate(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    planned = TODAY + dt.timedelta(days=5)
    _move_out(client, clerk, moved, [pid], planned)
    (doc,) = _issue(
        client, clerk, {"person_ids": [pid], "requester": _self(), "equivalent": True}, "move-out"
    )
    assert doc["title"] == "転出証明書に準ずる証明書"
    text = _text(_pdf(client, clerk, doc))
    assert text.startswith("転出証明書に準ずる証明書")
    assert "上記の者は、転出により住民票が消除されたことを証明する。" in text
    assert "転出の届出をしたことを証明する" not in text
    assert f"転出予定日{_reiwa(planned)}" in text
    assert f"氏名{IVS_NAME}" in text


def test_equivalent_certificate_after_confirmation_prints_the_move_out_date(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    _move_out(client, clerk, moved, [pid], TODAY + dt.timedelta(days=5))
    _confirm_move_out(client, clerk, [pid], TODAY - dt.timedelta(days=1))
    (doc,) = _issue(
        client, clerk, {"person_ids": [pid], "requester": _self(), "equivalent": True}, "move-out"
    )
    text = _text(_pdf(client, clerk, doc))
    assert f"転出日{_reiwa(TODAY - dt.timedelta(days=1))}" in text


def test_move_out_certificate_names_the_head_on_the_day_of_the_move(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    _move_out(client, clerk, moved, [pid], TODAY)
    (doc,) = _issue(client, clerk, {"person_ids": [pid], "requester": _self()}, "move-out")
    text = _text(_pdf(client, clerk, doc))
    assert f"世帯主{IVS_NAME}" in text


def test_disaster_damage_certificate(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    occurred = TODAY - dt.timedelta(days=10)
    (doc,) = _issue(
        client,
        clerk,
        {
            "person_id": moved["person_ids"][0],
            "requester": _self(),
            "disaster_name": "令和8年富山県東部豪雨",
            "occurred_on": occurred.isoformat(),
            "damage_level": "大規模半壊",
            "remarks": "床上浸水",
        },
        "disaster-damage",
    )
    assert doc["title"] == "罹災証明書"
    assert doc["fee"] == _fees(client, clerk)["disaster_damage_certificate"]
    text = _text(_pdf(client, clerk, doc))
    assert text.startswith("罹災証明書")
    for item in (
        f"世帯主{IVS_NAME}",
        "住所富山県射水市大門1番地",
        "災害名令和8年富山県東部豪雨",
        f"発生日{_reiwa(occurred)}",
        "被災住家の所在地富山県射水市大門1番地",  # the applicant's address unless another is given
        "住家の被害の程度大規模半壊",
        "備考床上浸水",
        "上記のとおり、被害の程度を証明する。",
        doc["serial"],
    ):
        assert item in text, item


# --- 2. every option adds exactly its own fields ---------------------------------------------

OPTION_LABELS: dict[str, tuple[str, ...]] = {
    "head_and_relationship": ("続柄", "世帯主"),
    "honseki": ("本籍", "筆頭者"),
    "juminhyo_code": ("住民票コード",),
    "my_number": ("個人番号",),
    "history": ("異動日", "異動事由", "記載事項"),
    "kana": ("（タカハシ", "（NGUYEN"),
    "foreign_items": ("国籍・地域", "在留資格", "在留期間等", "在留カード等の番号", "区分"),
}
OMITTED_LABELS = {
    "head_and_relationship": "世帯主・続柄",
    "honseki": "本籍・筆頭者",
    "juminhyo_code": "住民票コード",
    "my_number": "個人番号",
    "foreign_items": "国籍・地域等",
}


def _option_fields(option: str) -> tuple[str, ...]:
    """What the option must add to the form, label and value, in printing order."""
    western = f"{STAY_EXPIRES.year}年{STAY_EXPIRES.month}月{STAY_EXPIRES.day}日"
    return {
        "head_and_relationship": (f"世帯主{IVS_NAME}", "続柄世帯主"),
        "honseki": ("本籍富山県射水市大門1番地", "筆頭者髙橋葛城"),
        "juminhyo_code": (f"住民票コード{JUMINHYO_CODE}",),
        "my_number": (f"個人番号{MY_NUMBER}",),
        "history": (
            "異動日異動事由届出日記載事項"
            f"{_reiwa(TODAY - dt.timedelta(days=3))}転入{_reiwa(TODAY)}大門1番地",
        ),
        "kana": ("\u3000（タカハシ\u3000カツラギ）",),
        "foreign_items": (
            "国籍・地域ベトナム",
            "法第30条の45に規定する区分中長期在留者",
            "在留資格特定技能",
            "在留期間等1年",
            f"在留期間等の満了の日{western}",
            "在留カード等の番号AB12345678CD",
        ),
    }[option]


def _without_note(text: str) -> tuple[str, list[str]]:
    """The form's text without its 省略した事項 note, and the note's items."""
    note = re.search(r"省略した事項：(.*?)(?=この写しは)", text)
    assert note is not None, text
    return text.replace(note.group(0), ""), note.group(1).split("、")


@pytest.mark.parametrize("option", list(OPTION_LABELS))
def test_each_option_adds_exactly_its_own_fields(client, clerk, option: str) -> None:
    if option == "foreign_items":
        pid = _immigrate(client, clerk, _foreign_person())["person_ids"][0]
    else:
        pid = _move_in(client, clerk, [_person(juminhyo_code=JUMINHYO_CODE)])["person_ids"][0]
    before = _log_total(client, clerk)
    off, off_note = _without_note(_preview_text(client, clerk, _request([pid])))
    on, on_note = _without_note(
        _preview_text(client, clerk, _request([pid], options={option: True}))
    )
    rest = on
    for field in _option_fields(option):
        assert field in on, field
        assert field not in off, field
        rest = rest.replace(field, "", 1)
    assert rest == off  # nothing else changed anywhere on the form
    for other, labels in OPTION_LABELS.items():
        for label in labels:
            assert label not in off, label
            assert (label in on) == (other == option and label in "".join(_option_fields(option)))
    if option in OMITTED_LABELS:
        assert OMITTED_LABELS[option] in off_note
        assert OMITTED_LABELS[option] not in on_note
        assert [i for i in off_note if i != OMITTED_LABELS[option]] == on_note
    else:
        assert on_note == off_note
    assert _log_total(client, clerk) == before  # a preview is not an issuance


# --- 3. IVS ----------------------------------------------------------------------------------


def test_an_ivs_name_keeps_its_selector_on_every_form(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    texts = {
        "household": _issued_text(
            client,
            clerk,
            _request([pid], layout="household", options={"head_and_relationship": True}),
        ),
        "disaster": _text(
            _pdf(
                client,
                clerk,
                _issue(
                    client,
                    clerk,
                    {
                        "person_id": pid,
                        "requester": _self(),
                        "disaster_name": "台風第10号",
                        "occurred_on": (TODAY - dt.timedelta(days=1)).isoformat(),
                        "damage_level": "半壊",
                    },
                    "disaster-damage",
                )[0],
            )
        ),
    }
    _move_out(client, clerk, moved, [pid], TODAY + dt.timedelta(days=5))
    (doc,) = _issue(client, clerk, {"person_ids": [pid], "requester": _self()}, "move-out")
    texts["move_out"] = _text(_pdf(client, clerk, doc))
    for form, text in texts.items():
        assert IVS_NAME in text, form
        # every 葛 of the registered name carries its selector (筆頭者 is typed without one)
        assert text.count("葛\U000e0102") == text.count("葛") - text.count("髙橋葛城"), form
    assert texts["household"].count("葛\U000e0102城") == 2  # 世帯主 and 氏名


# --- 4. a multi-page household ---------------------------------------------------------------


def test_a_multi_page_household_certifies_once_on_the_last_page(client, clerk) -> None:
    members = [
        _person(),
        _person(
            given_name="花子",
            given_name_kana="ハナコ",
            sex="female",
            relationship="妻",
            birth_date="昭和52年5月5日",
            my_number=None,
        ),
        *[
            _person(
                given_name=name,
                given_name_kana=kana,
                relationship="子",
                birth_date=f"平成{year}年1月10日",
                my_number=None,
            )
            for name, kana, year in (
                ("一郎", "イチロウ", 10),
                ("二郎", "ジロウ", 12),
                ("三郎", "サブロウ", 14),
                ("四郎", "シロウ", 16),
                ("五郎", "ゴロウ", 18),
            )
        ],
        _person(
            given_name="源一",
            given_name_kana="ゲンイチ",
            relationship="父",
            birth_date="昭和20年3月3日",
            my_number=None,
        ),
        _person(
            given_name="梅",
            given_name_kana="ウメ",
            sex="female",
            relationship="母",
            birth_date="昭和22年7月7日",
            my_number=None,
        ),
    ]
    moved = _move_in(client, clerk, members)
    pids = list(reversed(moved["person_ids"]))
    (doc,) = _issue(
        client,
        clerk,
        _request(
            pids,
            layout="household",
            options={"history": True, "head_and_relationship": True, "kana": True},
        ),
    )
    pdf = _pdf(client, clerk, doc)
    pages = _page_texts(pdf)
    assert doc["pages"] >= 2
    assert doc["pages"] == len(pages)
    for number, page in enumerate(pages, start=1):
        assert f"発行番号{doc['serial']}" in page, number
        assert f"{number}/{len(pages)}" in page, number
        assert (COPY_SENTENCE in page) == (number == len(pages)), number
    text = "".join(pages)
    assert text.count(COPY_SENTENCE) == 1
    assert text.count("異動日異動事由") == len(members)
    order = _order(
        text,
        *[f"続柄{r}" for r in ("世帯主", "妻")],
        *[f"髙橋\u3000{n}" for n in ("一郎", "二郎", "三郎", "四郎", "五郎", "源一", "梅")],
    )
    assert order == sorted(order)
    verified = client.get(f"/verify/{doc['serial']}").json()
    assert verified["pages"] == len(pages)


# --- 5. copies and fees ----------------------------------------------------------------------


def test_each_copy_has_its_own_serial_and_the_tenant_fee(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    fee = _fees(client, clerk)["resident_record_copy"]
    before = _log_total(client, clerk)
    docs = _issue(client, clerk, _request([pid], copies=2))
    assert len(docs) == 2
    first, second = docs
    assert first["serial"] != second["serial"]
    assert first["document_id"] != second["document_id"]
    assert [d["fee"] for d in docs] == [fee, fee]
    for doc, other in ((first, second), (second, first)):
        text = _text(_pdf(client, clerk, doc))
        assert doc["serial"] in text
        assert other["serial"] not in text
        assert client.get(f"/verify/{doc['serial']}").json()["status"] == "genuine"
    assert _log_total(client, clerk) == before + 2
    log = client.get(f"{API}/documents", params={"person_id": pid}, headers=clerk).json()
    assert sorted(i["serial"] for i in log["items"]) == sorted(d["serial"] for d in docs)
    assert {i["fee"] for i in log["items"]} == {fee}
    assert {i["requester_type"] for i in log["items"]} == {"self"}


def test_an_official_request_is_free(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    requester = {"type": "official", "name": "富山県警察本部", "purpose": "捜査関係事項照会"}
    docs = _issue(client, clerk, _request(moved["person_ids"], requester=requester, copies=2))
    assert [d["fee"] for d in docs] == [0, 0]
    third = {"type": "third_party", "name": "債権 者", "purpose": "貸金返還請求の訴訟のため"}
    (paid,) = _issue(client, clerk, _request(moved["person_ids"], requester=third))
    assert paid["fee"] == _fees(client, clerk)["resident_record_copy"] > 0


# --- 6. protected persons --------------------------------------------------------------------


def _protect(client: TestClient, state: Any, pid: str) -> None:
    started = client.post(
        f"{API}/residents/{pid}/protection",
        headers=bearer(state, IMIZU, "supervisor"),
        json={
            "category": "DV",
            "started_on": TODAY.isoformat(),
            "aggressor": {"name": "加害 太郎"},
        },
    )
    assert started.status_code == 201, started.text


def _blocked_entries(state: Any, demo: dict[str, Any], pid: str) -> list[tuple[str, str | None]]:
    """(requester type, purpose) of each protection.blocked audit entry about ``pid``."""
    with UnitOfWork(state.session_factory) as uow:
        set_context(uow.session, TenantContext(TenantId(demo[IMIZU])))
        rows = uow.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "protection.blocked", AuditEntry.subject_id == pid
            )
        ).all()
        return [(r.details["requester_type"], r.purpose) for r in rows]


def test_a_protected_person_is_refused_and_the_refusal_logged(client, clerk, state, demo) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    _protect(client, state, pid)
    before = _log_total(client, clerk)
    third = {"type": "third_party", "name": "加害 太郎", "purpose": "貸金返還請求の訴訟のため"}
    refused = client.post(
        f"{API}/certificates/resident-record",
        json=_request([pid], requester=third),
        headers=clerk,
    )
    _assert_refused(refused, 403, "protected_person")
    preview = client.post(
        f"{API}/certificates/resident-record/preview", json=_request([pid]), headers=clerk
    )
    _assert_refused(preview, 403, "protected_person")
    assert _log_total(client, clerk) == before
    logged = _blocked_entries(state, demo, pid)
    assert len(logged) == 2
    assert sorted(logged) == [("self", None), ("third_party", "貸金返還請求の訴訟のため")]


def test_a_supervisor_release_lets_exactly_one_issuance_through(client, clerk, state, demo) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    reason = {"reason": "本人が窓口で本人確認書類を提示したため"}
    not_protected = client.post(
        f"{API}/residents/{pid}/protection-release",
        json=reason,
        headers=bearer(state, IMIZU, "supervisor"),
    )
    _assert_refused(not_protected, 422, "not_protected")
    _protect(client, state, pid)
    by_clerk = client.post(f"{API}/residents/{pid}/protection-release", json=reason, headers=clerk)
    assert by_clerk.status_code == 403, by_clerk.text
    released = client.post(
        f"{API}/residents/{pid}/protection-release",
        json=reason,
        headers=bearer(state, IMIZU, "supervisor"),
    )
    assert released.status_code == 201, released.text
    release_id = released.json()["release_id"]
    body = _request([pid], release_ids=[release_id])
    before = _log_total(client, clerk)
    (doc,) = _issue(client, clerk, body)
    assert f"氏名{IVS_NAME}" in _text(_pdf(client, clerk, doc))
    entry = client.get(f"{API}/documents/{doc['document_id']}", headers=clerk).json()
    assert entry["options"]["releases"] == [release_id]
    again = client.post(f"{API}/certificates/resident-record", json=body, headers=clerk)
    _assert_refused(again, 403, "protected_person")
    assert _log_total(client, clerk) == before + 1
    assert len(_blocked_entries(state, demo, pid)) == 1


# --- 7. who may ask for what -----------------------------------------------------------------

THIRD = {"type": "third_party", "name": "第三 者", "purpose": "貸金返還請求の訴訟のため"}
PROFESSIONAL = {
    "type": "professional",
    "name": "弁護 士郎",
    "purpose": "受任事件の相手方の住所確認",
    "profession": "弁護士",
    "registration_number": "12345",
}
OFFICIAL = {"type": "official", "name": "富山県警察本部", "purpose": "捜査関係事項照会"}


def test_outsiders_get_neither_my_number_nor_juminhyo_code(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person(juminhyo_code=JUMINHYO_CODE)])
    pid = moved["person_ids"][0]
    before = _log_total(client, clerk)
    cases: list[tuple[dict[str, Any], dict[str, bool], str, str]] = [
        (r, {"my_number": True}, "my_number_not_for_outsider", "個人番号")
        for r in (THIRD, PROFESSIONAL, OFFICIAL)
    ] + [
        (r, {"juminhyo_code": True}, "juminhyo_code_not_for_outsider", "住民票コード")
        for r in (THIRD, PROFESSIONAL, OFFICIAL)
    ]
    for requester, options, code, word in cases:
        for path in ("", "/preview"):
            response = client.post(
                f"{API}/certificates/resident-record{path}",
                json=_request([pid], requester=requester, options=options),
                headers=clerk,
            )
            error = _assert_refused(response, 422, code)
            assert word in error["message"]
            assert f"options.{next(iter(options))}" in error["details"]["fields"]
    assert _log_total(client, clerk) == before
    # Self and household members may have both.
    for requester in (_self(), {"type": "household_member", "name": "髙橋 花子"}):
        text = _issued_text(
            client,
            clerk,
            _request(
                [pid], requester=requester, options={"my_number": True, "juminhyo_code": True}
            ),
        )
        assert MY_NUMBER in text
        assert JUMINHYO_CODE in text


def test_requesters_must_show_what_the_law_asks(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    before = _log_total(client, clerk)
    cases = [
        ({"type": "third_party", "name": "第三 者"}, "purpose_required"),
        ({"type": "official", "name": "富山県警察本部"}, "purpose_required"),
        ({"type": "agent", "name": "代理 人"}, "authorisation_required"),
        ({"type": "agent", "name": "代理 人", "authorisation": False}, "authorisation_required"),
        (PROFESSIONAL | {"registration_number": None}, "professional_registration_required"),
        (PROFESSIONAL | {"registration_number": ""}, "professional_registration_required"),
        (PROFESSIONAL | {"profession": None}, "professional_registration_required"),
    ]
    for requester, code in cases:
        response = client.post(
            f"{API}/certificates/resident-record",
            json=_request([pid], requester=requester),
            headers=clerk,
        )
        _assert_refused(response, 422, code)
    disaster = client.post(
        f"{API}/certificates/disaster-damage",
        json={
            "person_id": pid,
            "requester": {"type": "agent", "name": "代理 人"},
            "disaster_name": "台風第10号",
            "occurred_on": TODAY.isoformat(),
            "damage_level": "半壊",
        },
        headers=clerk,
    )
    _assert_refused(disaster, 422, "authorisation_required")
    assert _log_total(client, clerk) == before
    for requester in (
        {"type": "agent", "name": "代理 人", "authorisation": True},
        THIRD,
        PROFESSIONAL,
    ):
        _issue(client, clerk, _request([pid], requester=requester))
    assert _log_total(client, clerk) == before + 3


# --- 8. idempotency --------------------------------------------------------------------------


def test_the_same_idempotency_key_issues_once(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    headers = clerk | {"Idempotency-Key": f"certificate-{uuid.uuid4()}"}
    before = _log_total(client, clerk)
    first = client.post(
        f"{API}/certificates/resident-record", json=_request([pid]), headers=headers
    )
    second = client.post(
        f"{API}/certificates/resident-record", json=_request([pid]), headers=headers
    )
    assert first.status_code == second.status_code == 201, second.text
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()
    assert _log_total(client, clerk) == before + 1
    log = client.get(f"{API}/documents", params={"person_id": pid}, headers=clerk).json()
    assert [i["serial"] for i in log["items"]] == [first.json()["documents"][0]["serial"]]


# --- 9. bad input ----------------------------------------------------------------------------


def test_bad_input_is_refused_in_japanese_and_writes_nothing(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    other = _move_in(client, clerk, [_person(given_name="次郎", given_name_kana="ジロウ")])
    before = _log_total(client, clerk)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("resident-record", _request([pid], kind="tax_certificate"), "kind"),
        ("resident-record", _request([]), "person_ids"),
        ("resident-record", _request([pid], copies=0), "copies"),
        ("resident-record", _request([pid], copies=11), "copies"),
        ("resident-record", _request([pid], layout="vertical"), "layout"),
        ("resident-record", _request(["not-a-uuid"]), "person_ids.0"),
        (
            "resident-record",
            _request([pid], requester={"type": "neighbour", "name": "x"}),
            "requester.type",
        ),
        ("resident-record", _request([pid], options={"everything": True}), "options.everything"),
        (
            "disaster-damage",
            {
                "person_id": pid,
                "requester": _self(),
                "disaster_name": "台風第10号",
                "occurred_on": TODAY.isoformat(),
                "damage_level": "少し",
            },
            "damage_level",
        ),
    ]
    for path, body, field in cases:
        response = client.post(f"{API}/certificates/{path}", json=body, headers=clerk)
        error = _assert_refused(response, 422, "validation_error")
        assert field in [d["field"] for d in error["details"]], (field, error)
        assert all(JAPANESE.search(d["message"]) for d in error["details"]), error
    future = client.post(
        f"{API}/certificates/disaster-damage",
        json={
            "person_id": pid,
            "requester": _self(),
            "disaster_name": "台風第10号",
            "occurred_on": (TODAY + dt.timedelta(days=1)).isoformat(),
            "damage_level": "半壊",
        },
        headers=clerk,
    )
    error = _assert_refused(future, 422, "future_occurred_on")
    assert error["message"] == "発生日に未来の日付は指定できません。"
    nobody = str(uuid.uuid4())
    for path, body in (
        ("resident-record", _request([pid, nobody])),
        ("resident-record/preview", _request([nobody])),
        ("move-out", {"person_ids": [nobody], "requester": _self()}),
        (
            "disaster-damage",
            {
                "person_id": nobody,
                "requester": _self(),
                "disaster_name": "台風第10号",
                "occurred_on": TODAY.isoformat(),
                "damage_level": "半壊",
            },
        ),
    ):
        response = client.post(f"{API}/certificates/{path}", json=body, headers=clerk)
        if path == "move-out":
            _assert_refused(response, 422, "no_move_out")
        else:
            _assert_refused(response, 404, "resident_not_found")
    mixed = client.post(
        f"{API}/certificates/resident-record",
        json=_request([pid, other["person_ids"][0]], layout="household"),
        headers=clerk,
    )
    _assert_refused(mixed, 422, "household_layout_mixed")
    assert _log_total(client, clerk) == before


def test_duplicated_persons_are_refused_with_their_own_message(client, clerk) -> None:
    pid = _move_in(client, clerk, [_person()])["person_ids"][0]
    before = _log_total(client, clerk)
    response = client.post(
        f"{API}/certificates/resident-record", json=_request([pid, pid]), headers=clerk
    )
    assert _log_total(client, clerk) == before
    error = _assert_refused(response, 422, "validation_error")
    assert "重複" in error["message"]


# --- 10. verification ------------------------------------------------------------------------


def _code_of(state: Any, demo: dict[str, Any], serial: str) -> tuple[str, str]:
    """The hash and signature the document's QR code carries."""
    with UnitOfWork(state.session_factory) as uow:
        set_context(uow.session, TenantContext(TenantId(demo[IMIZU])))
        row = uow.session.scalar(select(IssuedDocument).where(IssuedDocument.serial == serial))
        assert row is not None
        return row.content_hash, row.signature


def test_verification_by_serial_and_code(client, clerk, state, demo) -> None:
    moved = _move_in(client, clerk, [_person()])
    (doc,) = _issue(client, clerk, _request(moved["person_ids"], options={"my_number": True}))
    serial = doc["serial"]
    digest, signature = _code_of(state, demo, serial)
    bad_signature = altered(signature)
    checks = {
        "": "genuine",
        f"?h={digest}&s={signature}": "genuine",
        f"?h={digest}&s={bad_signature}": "forged",
        f"?h={'0' * 64}&s={signature}": "forged",
        f"?h={digest}": "forged",
        f"?s={signature}": "forged",
    }
    for query, status in checks.items():
        result = client.get(f"/verify/{serial}{query}")
        assert result.status_code == 200
        body = result.json()
        assert body["status"] == status, query
        assert body["genuine"] == (status == "genuine")
        assert body["serial"] == serial
        dumped = json.dumps(body, ensure_ascii=False)
        for secret in ("髙橋", "葛", "カツラギ", MY_NUMBER, moved["person_ids"][0], "大門"):
            assert secret not in dumped, (query, secret)
    genuine = client.get(f"/verify/{serial}").json()
    assert genuine["title"] == "住民票の写し"
    assert genuine["issuer"] and "射水市" in genuine["issuer"]
    assert genuine["issued_on"] == TODAY.isoformat()
    page = client.get(f"/verify/{serial}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert serial in page.text
    assert "髙橋" not in page.text


def test_revoked_and_unknown_serials(client, clerk, state, demo) -> None:
    moved = _move_in(client, clerk, [_person()])
    (doc,) = _issue(client, clerk, _request(moved["person_ids"]))
    serial = doc["serial"]
    digest, signature = _code_of(state, demo, serial)
    reason = {"reason": "交付誤りのため回収"}
    by_clerk = client.post(f"{API}/documents/{serial}/revoke", json=reason, headers=clerk)
    assert by_clerk.status_code == 403
    assert client.get(f"/verify/{serial}").json()["status"] == "genuine"
    supervisor = bearer(state, IMIZU, "supervisor")
    revoked = client.post(f"{API}/documents/{serial}/revoke", json=reason, headers=supervisor)
    assert revoked.status_code == 200, revoked.text
    twice = client.post(f"{API}/documents/{serial}/revoke", json=reason, headers=supervisor)
    _assert_refused(twice, 422, "already_revoked")
    for query in ("", f"?h={digest}&s={signature}"):
        result = client.get(f"/verify/{serial}{query}").json()
        assert result["status"] == "revoked"
        assert result["genuine"] is False
        assert "交付誤りのため回収" in result["message"]
        assert "髙橋" not in json.dumps(result, ensure_ascii=False)
    for unknown in (f"{IMIZU}-{TODAY.year}-9999999", f"999999-{TODAY.year}-0000001", "garbage"):
        result = client.get(f"/verify/{unknown}").json()
        assert result["status"] == "unknown", unknown
        assert result["genuine"] is False
        assert result["title"] is None
        assert JAPANESE.search(result["message"])


def test_a_preview_is_a_sample_and_nothing_is_issued(client, clerk) -> None:
    moved = _move_in(client, clerk, [_person()])
    pid = moved["person_ids"][0]
    before = _log_total(client, clerk)
    text = _preview_text(client, clerk, _request([pid]))
    assert "見本" in text
    assert "発行番号見本" in text
    assert SERIAL.search(text) is None
    assert f"氏名{IVS_NAME}" in text
    assert _log_total(client, clerk) == before
    log = client.get(f"{API}/documents", params={"person_id": pid}, headers=clerk).json()
    assert log["total"] == 0


def test_another_municipalitys_resident_in_the_body_is_not_found(client, clerk, state) -> None:
    """The certificate routes take persons in the body: another member's person is answered
    exactly as a person who does not exist, and nothing is issued or logged for them."""
    add_machiaza(state, NAMERIKAWA, [("162060-C001", "証明町", "ショウメイマチ")])
    theirs = client.post(
        f"{API}/residents/move-in",
        json={
            "effective_on": (TODAY - dt.timedelta(days=3)).isoformat(),
            "persons": [_person(my_number=None)],
            "address": {"machiaza_code": "162060-C001", "banchi": "1番地"},
            "previous_address": "富山県富山市新桜町7番38号",
        },
        headers=bearer(state, NAMERIKAWA, "clerk"),
    )
    assert theirs.status_code == 201, theirs.text
    pid = theirs.json()["person_ids"][0]
    before = _log_total(client, clerk)
    damage = {
        "person_id": pid,
        "requester": _self(),
        "disaster_name": "台風第10号",
        "occurred_on": TODAY.isoformat(),
        "damage_level": "半壊",
    }
    for path, body in (
        ("resident-record", _request([pid])),
        ("resident-record/preview", _request([pid])),
        ("disaster-damage", damage),
    ):
        response = client.post(f"{API}/certificates/{path}", json=body, headers=clerk)
        _assert_refused(response, 404, "resident_not_found")
        assert "髙橋" not in response.text
    # 転出証明書 answers as for any person without a move-out here (the same as for nobody).
    move_out = client.post(
        f"{API}/certificates/move-out",
        json={"person_ids": [pid], "requester": _self()},
        headers=clerk,
    )
    _assert_refused(move_out, 422, "no_move_out")
    assert _log_total(client, clerk) == before
