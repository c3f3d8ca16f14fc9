"""The counter's main journeys in a real browser (Debian Chromium through Playwright)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from pypdf import PdfReader

from jichitai import demo as demo_data
from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer, staff_login_id

TODAY = dt.date.today()


def _login(page: Any, lg_code: str, role: str) -> None:
    page.goto("/login")
    page.fill("#lg_code", lg_code)
    page.fill("#login_id", staff_login_id(lg_code, role))
    page.fill("#password", demo_data.DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")


def _person(page: Any, i: int, values: dict[str, str]) -> None:
    for key, value in values.items():
        selector = f"[name='persons.{i}.{key}']"
        if key == "sex":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)


def _move_in_household(page: Any, family: str, kana: str) -> str:
    page.click("text=転入届")
    page.fill("[name=effective_on]", (TODAY - dt.timedelta(days=1)).isoformat())
    page.fill("[name=previous_address]", "富山県富山市新桜町7番38号")
    page.select_option("[name='address.machiaza_code']", "162116-B001")
    page.fill("[name='address.banchi']", "5番地")
    rows = [
        ("太郎", "タロウ", "昭和50年4月1日", "male", "世帯主"),
        ("花子", "ハナコ", "昭和52年5月5日", "female", "妻"),
        ("一郎", "イチロウ", "平成20年1月10日", "male", "子"),
    ]
    for i, (given, given_kana, birth, sex, rel) in enumerate(rows):
        _person(
            page,
            i,
            {
                "family_name": family,
                "given_name": given,
                "family_name_kana": kana,
                "given_name_kana": given_kana,
                "birth_date": birth,
                "sex": sex,
                "relationship": rel,
            },
        )
    page.click("button[value=confirm]")
    page.wait_for_selector("text=以下の内容で登録します")
    page.click("button[value=commit]")
    page.wait_for_selector("text=転入を登録しました")
    return str(page.url)


def test_move_in_certificate_move_out_logout(page: Any, state: Any, demo: Any) -> None:
    add_machiaza(state, IMIZU, [("162116-B001", "ブラウザ町", "ブラウザマチ")])
    _login(page, IMIZU, "clerk")
    _move_in_household(page, "試験閲覧", "シケンエツラン")
    # Search as you type finds the household.
    page.click("text=住民検索")
    page.fill("#q", "シケンエツ")
    page.wait_for_selector("#results >> text=試験閲覧 太郎")
    assert page.locator("#results tbody tr").count() == 3
    page.click("#results >> text=試験閲覧 太郎")
    page.wait_for_selector("text=異動の履歴")
    # Issue a 住民票の写し and download the PDF.
    page.click("text=証明書の発行")
    page.fill("[name='requester.name']", "試験閲覧 太郎")
    page.click("button[value=issue]")
    page.wait_for_selector("text=証明書を発行しました")
    serial = page.locator("tbody td").first.inner_text()
    assert re.fullmatch(rf"{IMIZU}-\d{{4}}-\d{{7}}", serial)
    with page.expect_download() as download:
        page.click("text=PDFを開いて印刷")
    pdf = open(download.value.path(), "rb").read()  # noqa: SIM115
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")
    assert "住民票の写し" in text and serial in text and "試験閲覧" in text
    # Register the 転出.
    page.click("text=住民票の表示へ戻る")
    page.click("text=転出届")
    page.fill("[name=destination_address]", "東京都千代田区霞が関2丁目1番2号")
    page.click("button[value=confirm]")
    page.wait_for_selector("text=転出予定日に住民票が消除されます")
    page.click("button[value=commit]")
    page.wait_for_selector("text=転出を登録しました")
    # Log out: the session is over.
    page.click("text=ログアウト")
    page.wait_for_url("**/login")
    page.goto("/residents")
    assert "/login" in page.url


def test_validation_errors_are_shown_in_japanese(page: Any, state: Any, demo: Any) -> None:
    add_machiaza(state, IMIZU, [("162116-B001", "ブラウザ町", "ブラウザマチ")])
    _login(page, IMIZU, "clerk")
    page.click("text=転入届")
    page.fill("[name=effective_on]", (TODAY + dt.timedelta(days=5)).isoformat())
    _person(page, 0, {"family_name": "誤り", "given_name": "太郎", "relationship": "祖父"})
    page.click("button[value=confirm]")
    page.wait_for_selector("text=入力内容に誤りがあります")
    assert page.locator(".field-error").count() >= 3
    relation_error = page.locator("[id='e-persons.0.relationship']").inner_text()
    assert "祖父" in relation_error or "続柄" in relation_error
    assert page.get_attribute("[name='persons.0.relationship']", "aria-invalid") == "true"


def test_another_municipalitys_resident_is_not_found(page: Any, state: Any, demo: Any) -> None:
    add_machiaza(state, NAMERIKAWA, [("162060-B001", "他町", "タマチ")])
    body = {
        "effective_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "persons": [
            {
                "family_name": "滑川",
                "given_name": "秘子",
                "family_name_kana": "ナメリカワ",
                "given_name_kana": "ヒメコ",
                "birth_date": "平成2年2月2日",
                "sex": "female",
                "relationship": "世帯主",
            }
        ],
        "address": {"machiaza_code": "162060-B001", "banchi": "1番地"},
        "previous_address": "富山県富山市新桜町7番38号",
    }
    from fastapi.testclient import TestClient

    from jichitai.app import create_app

    api = TestClient(create_app(state.settings, state))
    theirs = api.post(
        "/api/v1/residents/move-in", json=body, headers=bearer(state, NAMERIKAWA, "clerk")
    ).json()
    _login(page, IMIZU, "clerk")
    response = page.goto(f"/residents/{theirs['person_ids'][0]}")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "見つかりません"
    assert "秘子" not in page.content()


def test_protected_person_is_blocked_then_released_by_a_supervisor(
    page: Any, state: Any, demo: Any
) -> None:
    add_machiaza(state, IMIZU, [("162116-B001", "ブラウザ町", "ブラウザマチ")])
    _login(page, IMIZU, "supervisor")
    _move_in_household(page, "画面保護", "ガメンホゴ")
    person_url = page.locator("tbody a").first.get_attribute("href")
    assert person_url is not None
    person_id = person_url.rsplit("/", 1)[-1]
    from fastapi.testclient import TestClient

    from jichitai.app import create_app

    api = TestClient(create_app(state.settings, state))
    started = api.post(
        f"/api/v1/residents/{person_id}/protection",
        json={"category": "DV", "started_on": TODAY.isoformat(), "aggressor": {"name": "加害 者"}},
        headers=bearer(state, IMIZU, "supervisor"),
    )
    assert started.status_code == 201, started.text
    page.goto(f"/certificates/new?person_id={person_id}")
    page.fill("[name='requester.name']", "第三 者")
    page.select_option("[name='requester.type']", "third_party")
    page.fill("[name='requester.purpose']", "債権回収のため")
    page.click("button[value=issue]")
    page.wait_for_selector("#blocked")
    assert "支援措置" in page.locator("#blocked").inner_text()
    page.fill("[name=reason]", "裁判所の嘱託を確認したため")
    page.click("button[value=release]")
    page.wait_for_selector("text=交付制限を解除しました")
    page.click("button[value=issue]")
    page.wait_for_selector("text=証明書を発行しました")
