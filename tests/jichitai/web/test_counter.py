"""Counter screens through HTTP: search, views, the 転入 and 転出 forms with their confirmation."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer, web_login

TODAY = dt.date.today()
MACHIAZA = [("162116-W001", "画面町", "ガメンマチ")]


@pytest.fixture
def clerk(client: TestClient, state, demo) -> str:
    add_machiaza(state, IMIZU, MACHIAZA)
    return web_login(client, IMIZU, "clerk")


def _move_in_form(csrf: str, family: str, **over: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "effective_on": (TODAY - dt.timedelta(days=2)).isoformat(),
        "notified_on": TODAY.isoformat(),
        "previous_address": "富山県富山市新桜町7番38号",
        "address.machiaza_code": "162116-W001",
        "address.banchi": "3番地",
        "persons.0.family_name": family,
        "persons.0.given_name": "太郎",
        "persons.0.family_name_kana": "ガメン",
        "persons.0.given_name_kana": "タロウ",
        "persons.0.birth_date": "昭和55年5月5日",
        "persons.0.sex": "male",
        "persons.0.relationship": "世帯主",
        "persons.1.family_name": family,
        "persons.1.given_name": "花子",
        "persons.1.family_name_kana": "ガメン",
        "persons.1.given_name_kana": "ハナコ",
        "persons.1.birth_date": "昭和57年6月6日",
        "persons.1.sex": "female",
        "persons.1.relationship": "妻",
        "persons.2.family_name": "",
    }
    return form | over


def _register(client: TestClient, csrf: str, family: str) -> str:
    confirm = client.post("/residents-move-in", data=_move_in_form(csrf, family))
    assert confirm.status_code == 200, confirm.text
    assert "（確認）" in confirm.text and "登録する" in confirm.text
    done = client.post(
        "/residents-move-in",
        data=_move_in_form(csrf, family, action="commit"),
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


def test_move_in_confirm_then_register_then_receipt(client: TestClient, clerk: str, state) -> None:
    api = bearer(state, IMIZU, "clerk")
    before = client.get("/api/v1/residents", params={"name": "画面一"}, headers=api).json()
    location = _register(client, clerk, "画面一")
    after = client.get("/api/v1/residents", params={"name": "画面一"}, headers=api).json()
    assert after["total"] == before["total"] + 2
    receipt = client.get(location)
    assert "転入を登録しました" in receipt.text
    assert "画面一 太郎" in receipt.text and "画面一 花子" in receipt.text


def test_the_confirmation_step_writes_nothing(client: TestClient, clerk: str, state) -> None:
    api = bearer(state, IMIZU, "clerk")
    client.post("/residents-move-in", data=_move_in_form(clerk, "確認止"))
    found = client.get("/api/v1/residents", params={"name": "確認止"}, headers=api).json()
    assert found["total"] == 0


def test_field_errors_are_shown_next_to_their_fields(client: TestClient, clerk: str) -> None:
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    bad = _move_in_form(
        clerk,
        "誤入力",
        effective_on=future,
        **{"persons.0.birth_date": "", "persons.1.relationship": "祖父"},
    )
    response = client.post("/residents-move-in", data=bad)
    assert response.status_code == 422
    html = response.text
    assert 'id="e-persons.0.birth_date"' in html
    assert 'id="e-persons.1.relationship"' in html
    assert "入力内容に誤りがあります" in html


def test_search_as_you_type_returns_the_results_fragment(client: TestClient, clerk: str) -> None:
    _register(client, clerk, "検索画面")
    fragment = client.get("/residents", params={"q": "ガメン"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "検索画面 太郎" in fragment.text
    full = client.get("/residents", params={"q": "ガメン"})
    assert "<html" in full.text and 'hx-get="/residents"' in full.text


def test_resident_page_and_move_out(client: TestClient, clerk: str) -> None:
    location = _register(client, clerk, "転出画面")
    receipt = client.get(location).text
    person = re.search(r'href="/residents/([0-9a-f-]{36})"', receipt)
    assert person is not None
    person_id = person.group(1)
    view = client.get(f"/residents/{person_id}")
    assert view.status_code == 200 and "異動の履歴" in view.text and "転入" in view.text
    form = {
        "csrf_token": clerk,
        "person_ids": person_id,
        "effective_on": TODAY.isoformat(),
        "notified_on": TODAY.isoformat(),
        "destination_address": "東京都千代田区霞が関2丁目1番2号",
    }
    confirm = client.post(f"/residents/{person_id}/move-out", data=form)
    assert confirm.status_code == 200 and "（確認）" in confirm.text, confirm.text
    done = client.post(
        f"/residents/{person_id}/move-out", data=form | {"action": "commit"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert "転出を登録しました" in client.get(done.headers["location"]).text


def test_another_municipalitys_resident_is_the_not_found_page(
    client: TestClient, clerk: str, state
) -> None:
    add_machiaza(state, NAMERIKAWA, [("162060-W001", "他町", "タマチ")])
    body = {
        "effective_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "persons": [
            {
                "family_name": "他団体",
                "given_name": "住民",
                "family_name_kana": "タダンタイ",
                "given_name_kana": "ジュウミン",
                "birth_date": "平成1年1月8日",
                "sex": "female",
                "relationship": "世帯主",
            }
        ],
        "address": {"machiaza_code": "162060-W001", "banchi": "1番地"},
        "previous_address": "富山県富山市新桜町7番38号",
    }
    theirs = client.post(
        "/api/v1/residents/move-in", json=body, headers=bearer(state, NAMERIKAWA, "clerk")
    ).json()
    page = client.get(f"/residents/{theirs['person_ids'][0]}", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "他団体" not in page.text and "見つかりません" in page.text
