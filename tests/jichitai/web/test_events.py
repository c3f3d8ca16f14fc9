"""The event forms of the counter (jichitai.web.events) through HTTP: for each form, the
confirmation writes nothing, the commit registers (checked through the API), a bad input shows
its field error (422), and another municipality's record is the not-found page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer, web_login

API = "/api/v1"
TODAY = dt.date.today()
MACHIAZA = [("162116-W001", "画面町", "ガメンマチ"), ("162116-W002", "異動町", "イドウマチ")]
THEIR_MACHIAZA = [("162060-W001", "他町", "タマチ")]


@pytest.fixture
def api(client: TestClient, state, demo) -> dict[str, str]:
    add_machiaza(state, IMIZU, MACHIAZA)
    return bearer(state, IMIZU, "clerk")


@pytest.fixture
def clerk(client: TestClient, api: dict[str, str]) -> str:
    return web_login(client, IMIZU, "clerk")


@pytest.fixture
def supervisor(client: TestClient, api: dict[str, str]) -> str:
    return web_login(client, IMIZU, "supervisor")


# --- helpers --------------------------------------------------------------------------------


def _person(family: str, given: str, kana: str, **over: str) -> dict[str, str]:
    person = {
        "family_name": family,
        "given_name": given,
        "family_name_kana": "イベント",
        "given_name_kana": kana,
        "birth_date": "昭和55年5月5日",
        "sex": "male",
        "relationship": "世帯主",
        "honseki": "富山県射水市新開発410番地1",
        "koseki_head": f"{family} 太郎",
    }
    return person | over


def _move_in(
    client: TestClient,
    headers: dict[str, str],
    persons: list[dict[str, str]],
    machiaza: str = "162116-W001",
) -> tuple[str, list[str]]:
    body = {
        "effective_on": (TODAY - dt.timedelta(days=30)).isoformat(),
        "notified_on": (TODAY - dt.timedelta(days=30)).isoformat(),
        "persons": persons,
        "address": {"machiaza_code": machiaza, "banchi": "1番地"},
        "previous_address": "富山県富山市新桜町7番38号",
    }
    response = client.post(f"{API}/residents/move-in", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result = response.json()
    return result["household_ids"][0], result["person_ids"]


def _family(
    client: TestClient, headers: dict[str, str], family: str, machiaza: str = "162116-W001"
) -> tuple[str, list[str]]:
    """世帯主, 妻 and 子; returns the household and the persons in that order."""
    return _move_in(
        client,
        headers,
        [
            _person(family, "太郎", "タロウ"),
            _person(family, "花子", "ハナコ", sex="female", relationship="妻"),
            _person(family, "一郎", "イチロウ", relationship="子", birth_date="平成22年3月3日"),
        ],
        machiaza,
    )


def _record(client: TestClient, api: dict[str, str], person_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/residents/{person_id}", headers=api)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _household(client: TestClient, api: dict[str, str], household_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/households/{household_id}", headers=api)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _members(client: TestClient, api: dict[str, str], household_id: str) -> dict[str, str]:
    return {
        m["person_id"]: m["relationship"] for m in _household(client, api, household_id)["members"]
    }


def _history(client: TestClient, api: dict[str, str], person_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/residents/{person_id}/history", headers=api)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}"[^>]*? value="([^"]*)"', html)
    assert found is not None, f"no field {name}"
    return found.group(1)


def _form(client: TestClient, url: str, **params: str) -> str:
    page = client.get(url, params=params)
    assert page.status_code == 200, page.text
    return str(page.text)


def _confirm(client: TestClient, url: str, form: dict[str, Any]) -> str:
    response = client.post(url, data=form)
    assert response.status_code == 200, response.text
    assert "（確認）" in response.text and "登録する" in response.text, response.text
    return str(response.text)


def _commit(client: TestClient, url: str, form: dict[str, Any], label: str) -> str:
    """Register; the receipt names what was registered. Returns the event id."""
    done = client.post(url, data=form | {"action": "commit"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    location = str(done.headers["location"])
    assert location.startswith("/receipts/")
    receipt = client.get(location)
    assert f"{label}を登録しました" in receipt.text, receipt.text
    return location.removeprefix("/receipts/")


def _refused(client: TestClient, url: str, form: dict[str, Any], field: str) -> None:
    response = client.post(url, data=form)
    assert response.status_code == 422, response.text
    assert f'id="e-{field}"' in response.text, response.text
    assert "入力内容に誤りがあります" in response.text


def _dates(**over: str) -> dict[str, str]:
    return {"effective_on": TODAY.isoformat(), "notified_on": TODAY.isoformat()} | over


# --- 転居 ---------------------------------------------------------------------------------


def test_move_within_whole_household(client: TestClient, clerk: str, api) -> None:
    hid, (head, wife, child) = _family(client, api, "転居全")
    url = f"/residents/{head}/move-within"
    page = _form(client, url)
    assert "転居届" in page and "転居全 花子" in page
    form = _dates(
        csrf_token=clerk,
        **{
            "household.version": _hidden(page, "household.version"),
            "address.machiaza_code": "162116-W002",
            "address.banchi": "9番地",
        },
    ) | {"person_ids": [head, wife, child]}
    confirm = _confirm(client, url, form)
    assert "異動町 9番地" in confirm
    assert "異動町" not in (_record(client, api, head)["address"] or "")
    _commit(client, url, form, "転居")
    for pid in (head, wife, child):
        assert _record(client, api, pid)["address"] == "異動町 9番地"
    assert set(_members(client, api, hid)) == {head, wife, child}


def test_move_within_part_of_the_household(client: TestClient, clerk: str, api) -> None:
    hid, (head, _wife, child) = _family(client, api, "転居分")
    url = f"/residents/{child}/move-within"
    page = _form(client, url)
    form = _dates(
        csrf_token=clerk,
        **{
            "household.version": _hidden(page, "household.version"),
            "address.machiaza_code": "162116-W002",
            "address.banchi": "10番地",
        },
    ) | {"person_ids": [child]}
    # Part of the household moves: the service asks for their new 続柄.
    _refused(client, url, form, "new_household_relationships")
    _refused(
        client,
        url,
        form | {f"new_household_relationships.{child}": "祖父"},
        f"new_household_relationships.{child}",
    )
    form[f"new_household_relationships.{child}"] = "世帯主"
    # 続柄 entered for members who stay are not part of the notification.
    form[f"new_household_relationships.{head}"] = "子"
    _confirm(client, url, form)
    assert child in _members(client, api, hid)
    _commit(client, url, form, "転居")
    assert child not in _members(client, api, hid)
    moved = _record(client, api, child)
    assert moved["data"]["relationship"] == "世帯主" and moved["household_id"] != hid


# --- 出生 ---------------------------------------------------------------------------------


def test_birth_into_the_household(client: TestClient, clerk: str, api) -> None:
    hid, (head, _wife, _child) = _family(client, api, "出生画")
    url = f"/residents/{head}/birth"
    page = _form(client, url)
    assert 'value="出生画"' in page  # the parent's 氏 is prefilled
    born = TODAY - dt.timedelta(days=3)
    form = {
        "csrf_token": clerk,
        "household.version": _hidden(page, "household.version"),
        "effective_on": born.isoformat(),
        "notified_on": TODAY.isoformat(),
        "person.family_name": "出生画",
        "person.given_name": "二郎",
        "person.family_name_kana": "イベント",
        "person.given_name_kana": "ジロウ",
        "person.sex": "male",
        "person.relationship": "子",
    }
    _refused(client, url, form | {"person.given_name_kana": ""}, "person.given_name_kana")
    _refused(client, url, form | {"person.relationship": "世帯主"}, "person.relationship")
    _confirm(client, url, form)
    assert len(_members(client, api, hid)) == 3
    _commit(client, url, form, "出生")
    members = _household(client, api, hid)["members"]
    assert len(members) == 4
    baby = next(m for m in members if m["given_name"] == "二郎")
    record = _record(client, api, baby["person_id"])
    assert record["data"]["birth_date"]["value"] == born.isoformat()
    assert record["data"]["birth_date"]["text"].startswith("令和")  # written as the register does


# --- 死亡 ---------------------------------------------------------------------------------


def test_death(client: TestClient, clerk: str, api) -> None:
    hid, (head, wife, _child) = _family(client, api, "死亡画")
    url = f"/residents/{wife}/death"
    page = _form(client, url)
    form = _dates(csrf_token=clerk, **{"household.version": _hidden(page, "household.version")})
    future = (TODAY + dt.timedelta(days=1)).isoformat()
    _refused(client, url, form | {"effective_on": future}, "effective_on")
    _refused(client, url, form | {"date_of_death_text": "ある日"}, "date_of_death_text")
    _confirm(client, url, form)
    assert _record(client, api, wife)["status"] == "resident"
    _commit(client, url, form, "死亡")
    assert _record(client, api, wife)["status"] == "removed"
    assert wife not in _members(client, api, hid) and head in _members(client, api, hid)


def test_a_stale_household_version_is_refused_and_the_form_reloads(
    client: TestClient, clerk: str, api
) -> None:
    hid, (head, wife, _child) = _family(client, api, "版違い")
    url = f"/residents/{wife}/death"
    stale = _hidden(_form(client, url), "household.version")
    # Meanwhile, another counter changes the household.
    split = client.post(
        f"{API}/residents/household-split",
        headers=api,
        json={
            "effective_on": TODAY.isoformat(),
            "household": {"household_id": hid, "version": int(stale)},
            "relationships": {head: "世帯主"},
        },
    )
    assert split.status_code == 201, split.text
    form = _dates(csrf_token=clerk, **{"household.version": stale})
    response = client.post(url, data=form)
    assert response.status_code == 409
    assert "他の処理で先に更新されています" in response.text
    assert _hidden(response.text, "household.version") != stale  # reloaded: confirm again
    assert _record(client, api, wife)["status"] == "resident"


# --- 国外転出 -------------------------------------------------------------------------------


def test_emigration(client: TestClient, clerk: str, api) -> None:
    _hid, (head, wife, child) = _family(client, api, "国外出")
    url = f"/residents/{head}/emigration"
    page = _form(client, url)
    planned = (TODAY + dt.timedelta(days=7)).isoformat()
    form = _dates(
        csrf_token=clerk,
        effective_on=planned,
        destination_address="アメリカ合衆国",
        **{"household.version": _hidden(page, "household.version")},
    ) | {"person_ids": [head, wife, child]}
    _refused(client, url, {k: v for k, v in form.items() if k != "person_ids"}, "person_ids")
    _refused(client, url, form | {"destination_address": ""}, "destination_address")
    _confirm(client, url, form)
    assert _record(client, api, head)["status"] == "resident"
    _commit(client, url, form, "国外転出")
    record = _record(client, api, head)
    assert record["status"] == "removed"
    assert record["data"]["removal"]["destination_address"] == "アメリカ合衆国"
    assert record["data"]["removal"]["reason"] == "国外転出"


# --- 氏名等の変更 ---------------------------------------------------------------------------


def test_name_change(client: TestClient, clerk: str, api) -> None:
    _hid, (_head, wife, _child) = _family(client, api, "改氏前")
    url = f"/residents/{wife}/name-change"
    page = _form(client, url)
    assert "現在：改氏前" in page and 'name="alias_name"' not in page  # 通称: foreigners only
    form = _dates(csrf_token=clerk)
    _refused(client, url, form, "family_name")  # nothing to change
    _refused(client, url, form | {"family_name_kana": "kaisi"}, "family_name_kana")
    form |= {"family_name": "改氏後", "family_name_kana": "カイシゴ"}
    _confirm(client, url, form)
    assert _record(client, api, wife)["data"]["family_name"] == "改氏前"
    _commit(client, url, form, "氏名変更")
    data = _record(client, api, wife)["data"]
    assert (data["family_name"], data["family_name_kana"]) == ("改氏後", "カイシゴ")
    assert data["given_name"] == "花子"


# --- 誤記修正・職権修正 ---------------------------------------------------------------------


def _correction_form(page: str, csrf: str) -> dict[str, str]:
    """The correction form as loaded: every item prefilled with the record's value."""
    form = _dates(csrf_token=csrf, kind="clerical_correction", reason="届書との照合で判明")
    for name in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
        form[f"changes.{name}"] = _hidden(page, f"changes.{name}")
    form["changes.birth_date"] = _hidden(page, "changes.birth_date")
    form["changes.sex"] = "male"
    form["changes.honseki"] = _hidden(page, "changes.honseki")
    form["changes.koseki_head"] = _hidden(page, "changes.koseki_head")
    return form


def test_clerical_correction(client: TestClient, clerk: str, api) -> None:
    _hid, (head, _wife, _child) = _family(client, api, "誤記画")
    url = f"/residents/{head}/correction"
    page = _form(client, url)
    assert "職権修正（責任者）" not in page  # a clerk corrects their own typing errors only
    form = _correction_form(page, clerk)
    assert form["changes.given_name"] == "太郎"
    _refused(client, url, form, "changes")  # nothing differs from the record
    _refused(client, url, form | {"changes.given_name_kana": "taro"}, "changes.given_name_kana")
    _refused(client, url, form | {"kind": "ex_officio_correction"}, "kind")
    form["changes.given_name"] = "太朗"
    confirm = _confirm(client, url, form)
    assert "太郎" in confirm and "太朗" in confirm
    assert _record(client, api, head)["data"]["given_name"] == "太郎"
    _commit(client, url, form, "誤記修正")
    assert _record(client, api, head)["data"]["given_name"] == "太朗"
    assert _history(client, api, head)[-1]["event_kind"] == "clerical_correction"


def test_ex_officio_correction_by_a_supervisor(client: TestClient, supervisor: str, api) -> None:
    _hid, (head, _wife, _child) = _family(client, api, "職権画")
    url = f"/residents/{head}/correction"
    page = _form(client, url)
    assert "職権修正（責任者）" in page
    form = _correction_form(page, supervisor) | {"kind": "ex_officio_correction"}
    form["changes.honseki"] = "富山県射水市本町二丁目10番30号"
    _confirm(client, url, form)
    _commit(client, url, form, "職権修正")
    assert _record(client, api, head)["data"]["honseki"] == "富山県射水市本町二丁目10番30号"
    assert _history(client, api, head)[-1]["event_kind"] == "ex_officio_correction"


# --- 職権消除 -------------------------------------------------------------------------------


def test_ex_officio_removal_is_for_supervisors(client: TestClient, clerk: str, api) -> None:
    _hid, (head, _wife, _child) = _family(client, api, "消除可否")
    assert client.get(f"/residents/{head}/removal").status_code == 403
    response = client.post(f"/residents/{head}/removal", data=_dates(csrf_token=clerk))
    assert response.status_code == 403


def test_ex_officio_removal(client: TestClient, supervisor: str, api) -> None:
    _hid, (_head, _wife, child) = _family(client, api, "職権消")
    url = f"/residents/{child}/removal"
    page = _form(client, url)
    form = _dates(
        csrf_token=supervisor, **{"household.version": _hidden(page, "household.version")}
    )
    _refused(client, url, form, "reason")
    form["reason"] = "実態調査の結果、居住の事実なし"
    _confirm(client, url, form)
    assert _record(client, api, child)["status"] == "resident"
    _commit(client, url, form, "職権消除")
    record = _record(client, api, child)
    assert record["status"] == "removed"
    assert record["data"]["removal"]["ex_officio_reason"] == "実態調査の結果、居住の事実なし"


# --- 取消 -----------------------------------------------------------------------------------


def test_cancel_an_event(client: TestClient, supervisor: str, api) -> None:
    hid, (_head, wife, _child) = _family(client, api, "取消画")
    version = _household(client, api, hid)["version"]
    death = client.post(
        f"{API}/residents/death",
        headers=api,
        json={
            "effective_on": TODAY.isoformat(),
            "person_id": wife,
            "household": {"household_id": hid, "version": version},
        },
    )
    assert death.status_code == 201, death.text
    event_id = death.json()["event_id"]
    resident = client.get(f"/residents/{wife}").text
    assert f'href="/events/{event_id}/cancel"' in resident  # from the history
    url = f"/events/{event_id}/cancel"
    page = _form(client, url)
    assert "死亡" in page and "取消画 花子" in page
    form = {"csrf_token": supervisor}
    _refused(client, url, form, "reason")
    form["reason"] = "届出人の申出により誤りと判明"
    _confirm(client, url, form)
    assert _record(client, api, wife)["status"] == "removed"
    _commit(client, url, form, "取消")
    assert _record(client, api, wife)["status"] == "resident"
    assert "既に取り消されています" in client.get(url).text
    again = client.post(url, data=form)
    assert again.status_code == 409 and "既に取り消されています" in again.text


def test_cancel_is_for_supervisors(client: TestClient, clerk: str, api) -> None:
    _hid, persons = _family(client, api, "取消不可")
    assert "/cancel" not in client.get(f"/residents/{persons[0]}").text
    event = _history(client, api, persons[0])[0]["event_id"]
    assert client.get(f"/events/{event}/cancel").status_code == 403


# --- 世帯分離・世帯主変更 ---------------------------------------------------------------------


def test_household_split(client: TestClient, clerk: str, api) -> None:
    hid, (head, wife, child) = _family(client, api, "分離画")
    url = f"/households/{hid}/split"
    page = _form(client, url)
    form = _dates(csrf_token=clerk, **{"household.version": _hidden(page, "household.version")})
    _refused(client, url, form, "relationships")  # nobody named
    _refused(client, url, form | {f"relationships.{child}": "祖父"}, f"relationships.{child}")
    _refused(
        client,
        url,
        form | {f"relationships.{child}": "世帯主", f"relationships.{wife}": "世帯主"},
        "relationships",
    )
    form[f"relationships.{child}"] = "世帯主"
    _confirm(client, url, form)
    assert set(_members(client, api, hid)) == {head, wife, child}
    _commit(client, url, form, "世帯分離")
    assert set(_members(client, api, hid)) == {head, wife}
    record = _record(client, api, child)
    assert record["household_id"] != hid and record["data"]["relationship"] == "世帯主"


def test_the_register_refuses_a_split_that_moves_nobody(client: TestClient, api) -> None:
    hid, _persons = _family(client, api, "空分離")
    response = client.post(
        f"{API}/residents/household-split",
        headers=api,
        json={
            "effective_on": TODAY.isoformat(),
            "household": {"household_id": hid, "version": _household(client, api, hid)["version"]},
            "relationships": {},
        },
    )
    assert response.status_code == 422, response.text


def test_the_form_asks_for_the_new_households_head(client: TestClient, clerk: str, api) -> None:
    hid, (_head, wife, child) = _family(client, api, "分離主")
    url = f"/households/{hid}/split"
    page = _form(client, url)
    form = _dates(csrf_token=clerk, **{"household.version": _hidden(page, "household.version")})
    _refused(client, url, form | {f"relationships.{child}": "子"}, "relationships")
    moving = f"/residents/{child}/move-within"
    page = _form(client, moving)
    partial: dict[str, Any] = _dates(
        csrf_token=clerk,
        **{
            "household.version": _hidden(page, "household.version"),
            "address.machiaza_code": "162116-W002",
            "address.banchi": "11番地",
            f"new_household_relationships.{child}": "子",
            f"new_household_relationships.{wife}": "母",
        },
    ) | {"person_ids": [wife, child]}
    _refused(client, moving, partial, "new_household_relationships")
    assert set(_members(client, api, hid)) >= {wife, child}


def test_the_register_refuses_a_split_without_a_head(client: TestClient, api) -> None:
    hid, (_head, _wife, child) = _family(client, api, "無主分離")
    response = client.post(
        f"{API}/residents/household-split",
        headers=api,
        json={
            "effective_on": TODAY.isoformat(),
            "household": {"household_id": hid, "version": _household(client, api, hid)["version"]},
            "relationships": {child: "子"},
        },
    )
    assert response.status_code == 422, response.text


def test_the_register_refuses_a_correction_that_changes_nothing(client: TestClient, api) -> None:
    _hid, (head, _wife, _child) = _family(client, api, "空修正")
    response = client.post(
        f"{API}/residents/clerical-correction",
        headers=api,
        json={
            "effective_on": TODAY.isoformat(),
            "person_id": head,
            "changes": {},
            "reason": "確認のため",
        },
    )
    assert response.status_code == 422, response.text


def test_head_change(client: TestClient, clerk: str, api) -> None:
    hid, (head, wife, child) = _family(client, api, "主変更")
    url = f"/households/{hid}/head-change"
    page = _form(client, url)
    assert _hidden(page, f"relationships.{head}") == "世帯主"  # today's 続柄 prefilled
    form = _dates(
        csrf_token=clerk,
        **{
            "household.version": _hidden(page, "household.version"),
            f"relationships.{head}": "世帯主",
            f"relationships.{wife}": "世帯主",
            f"relationships.{child}": "子",
        },
    )
    _refused(client, url, form, "relationships")  # two heads
    form[f"relationships.{head}"] = "夫"
    _confirm(client, url, form)
    assert _members(client, api, hid)[head] == "世帯主"
    _commit(client, url, form, "世帯主変更")
    assert _members(client, api, hid) == {head: "夫", wife: "世帯主", child: "子"}


# --- 世帯合併・世帯変更 ---------------------------------------------------------------------


def test_household_merge(client: TestClient, clerk: str, api) -> None:
    hid, (head, wife, child) = _family(client, api, "合併先")
    other, (mother,) = _move_in(
        client, api, [_person("合併元", "トメ", "トメ", sex="female", birth_date="昭和20年1月1日")]
    )
    number = _household(client, api, other)["household_number"]
    url = f"/households/{hid}/merge"
    missing = client.get(url, params={"merged_number": "0000000000"})
    assert missing.status_code == 422 and 'id="e-merged_number"' in missing.text
    own = client.get(
        url, params={"merged_number": _household(client, api, hid)["household_number"]}
    )
    assert own.status_code == 422 and 'id="e-merged_number"' in own.text
    page = _form(client, url, merged_number=number)
    assert "合併元 トメ" in page
    form = _dates(
        csrf_token=clerk,
        merged_number=number,
        **{
            "household.version": _hidden(page, "household.version"),
            "merged.household_id": _hidden(page, "merged.household_id"),
            "merged.version": _hidden(page, "merged.version"),
        },
    )
    _refused(client, url, form, "relationships")  # every merged member needs a 続柄
    form[f"relationships.{mother}"] = "母"
    _confirm(client, url, form)
    assert set(_members(client, api, other)) == {mother}
    _commit(client, url, form, "世帯合併")
    assert _members(client, api, hid) == {head: "世帯主", wife: "妻", child: "子", mother: "母"}
    assert _members(client, api, other) == {}


def test_household_change(client: TestClient, clerk: str, api) -> None:
    hid, (head, wife, child) = _family(client, api, "変更元")
    target, (grandpa,) = _move_in(
        client, api, [_person("変更先", "源蔵", "ゲンゾウ", birth_date="昭和15年2月2日")]
    )
    number = _household(client, api, target)["household_number"]
    own = _household(client, api, hid)["household_number"]
    url = f"/households/{hid}/change"
    page = _form(client, url, target_number=number)
    assert "変更先 源蔵" in page
    form = _dates(
        csrf_token=clerk,
        target_number=number,
        **{
            "household.version": _hidden(page, "household.version"),
            "target.household_id": _hidden(page, "target.household_id"),
            "target.version": _hidden(page, "target.version"),
        },
    )
    _refused(client, url, form, "relationships")  # nobody moves
    form[f"relationships.{child}"] = "縁故者"
    same = {k: v for k, v in form.items() if not k.startswith("target.")}
    _refused(client, url, same | {"target_number": own}, "target_number")
    _confirm(client, url, form)
    assert set(_members(client, api, target)) == {grandpa}
    _commit(client, url, form, "世帯変更")
    assert _members(client, api, target) == {grandpa: "世帯主", child: "縁故者"}
    assert set(_members(client, api, hid)) == {head, wife}


# --- 国外転入・職権記載 -----------------------------------------------------------------------


def _entry_form(csrf: str, family: str, **over: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "effective_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "notified_on": TODAY.isoformat(),
        "previous_address": "アメリカ合衆国",
        "address.machiaza_code": "162116-W001",
        "address.banchi": "7番地",
        "persons.0.family_name": family,
        "persons.0.given_name": "ジョン",
        "persons.0.birth_date": "1990-01-01",
        "persons.0.sex": "male",
        "persons.0.relationship": "世帯主",
        "persons.0.foreign.name_alphabet": "SMITH JOHN",
        "persons.0.foreign.nationality": "アメリカ合衆国",
        "persons.0.foreign.category": "中長期在留者",
        "persons.0.foreign.residence_status": "技術・人文知識・国際業務",
        "persons.1.family_name": "",
    }
    return form | over


def _found(client: TestClient, api: dict[str, str], name: str) -> int:
    response = client.get(f"{API}/residents", params={"name": name}, headers=api)
    total: int = response.json()["total"]
    return total


def test_immigration(client: TestClient, clerk: str, api) -> None:
    url = "/residents-immigration"
    page = _form(client, url)
    assert "国外転入届" in page and "外国人住民の記載事項" in page
    form = _entry_form(clerk, "スミス国外")
    _refused(
        client,
        url,
        form | {"persons.0.foreign.name_alphabet": "smith"},
        "persons.0.foreign.name_alphabet",
    )
    japanese = {k: v for k, v in form.items() if ".foreign." not in k}
    _refused(client, url, japanese, "persons.0.family_name_kana")  # kana: Japanese residents
    _confirm(client, url, form)
    assert _found(client, api, "スミス国外") == 0
    _commit(client, url, form, "国外転入")
    assert _found(client, api, "スミス国外") == 1


def test_ex_officio_entry(client: TestClient, clerk: str, api) -> None:
    url = "/residents-ex-officio-entry"
    form = _entry_form(
        clerk,
        "職権記載",
        previous_address="不詳",
        memo="実態調査により居住を確認",
        **{"persons.0.family_name_kana": "ショッケン", "persons.0.given_name_kana": "ジョン"},
    )
    form = {k: v for k, v in form.items() if ".foreign." not in k}
    _refused(client, url, form | {"address.banchi": ""}, "address.banchi")
    _confirm(client, url, form)
    assert _found(client, api, "職権記載") == 0
    event = _commit(client, url, form, "職権記載")
    assert _found(client, api, "職権記載") == 1
    found = client.get(f"{API}/residents", params={"name": "職権記載"}, headers=api).json()
    assert _history(client, api, found["items"][0]["person_id"])[0]["event_id"] == event


# --- 電子転出による転入 -----------------------------------------------------------------------


def _transfer_from_namerikawa(client: TestClient, state, family: str) -> tuple[str, list[str]]:
    """滑川市 moves a family in and out to 射水市: the move-out data lands in 射水市."""
    add_machiaza(state, NAMERIKAWA, THEIR_MACHIAZA)
    theirs = bearer(state, NAMERIKAWA, "clerk")
    hid, persons = _family(client, theirs, family, machiaza="162060-W001")
    version = client.get(f"{API}/households/{hid}", headers=theirs).json()["version"]
    out = client.post(
        f"{API}/residents/move-out",
        headers=theirs,
        json={
            "effective_on": (TODAY + dt.timedelta(days=3)).isoformat(),
            "notified_on": TODAY.isoformat(),
            "person_ids": persons,
            "household": {"household_id": hid, "version": version},
            "destination_address": "富山県射水市画面町3番地",
            "destination_lg_code": IMIZU,
        },
    )
    assert out.status_code == 201, out.text
    return hid, persons


def _pending(client: TestClient, api: dict[str, str], family: str) -> list[dict[str, Any]]:
    listed = client.get(f"{API}/residents-transfers", headers=api).json()
    return [t for t in listed if t["persons"][0]["family_name"] == family]


def test_move_in_from_an_electronic_transfer(client: TestClient, clerk: str, api, state) -> None:
    _hid, persons = _transfer_from_namerikawa(client, state, "電子転")
    (transfer,) = _pending(client, api, "電子転")
    listing = client.get("/transfers")
    assert listing.status_code == 200 and "電子転 太郎" in listing.text
    assert f'href="/transfers/{transfer["id"]}/move-in"' in listing.text
    url = f"/transfers/{transfer['id']}/move-in"
    page = _form(client, url)
    assert _hidden(page, f"relationships.{persons[1]}") == "妻"  # prefilled from the data
    form = {
        "csrf_token": clerk,
        "effective_on": TODAY.isoformat(),
        "notified_on": TODAY.isoformat(),
        "address.machiaza_code": "162116-W001",
        "address.banchi": "3番地",
        f"relationships.{persons[0]}": "世帯主",
        f"relationships.{persons[1]}": "妻",
        f"relationships.{persons[2]}": "子",
    }
    _refused(client, url, form | {"address.machiaza_code": "162116-ZZZZ"}, "address.machiaza_code")
    _refused(
        client, url, form | {f"relationships.{persons[2]}": "孫"}, f"relationships.{persons[2]}"
    )
    _confirm(client, url, form)
    assert len(_pending(client, api, "電子転")) == 1
    assert _found(client, api, "電子転") == 0
    _commit(client, url, form, "転入")
    assert _pending(client, api, "電子転") == []
    assert _found(client, api, "電子転") == 3
    used = client.get(url)
    assert used.status_code == 409 and "既に転入に使用されています" in used.text


# --- every page: another municipality's record, CSRF ------------------------------------------


def _their_records(client: TestClient, state) -> dict[str, str]:
    add_machiaza(state, NAMERIKAWA, THEIR_MACHIAZA)
    theirs = bearer(state, NAMERIKAWA, "clerk")
    hid, (head, _wife, _child) = _family(client, theirs, "他団体画", machiaza="162060-W001")
    event = client.get(f"{API}/residents/{head}/history", headers=theirs).json()[0]["event_id"]
    # 射水市 moves out to 滑川市: that move-out data belongs to 滑川市.
    imizu = bearer(state, IMIZU, "clerk")
    ihid, ipersons = _family(client, imizu, "他団体行")
    version = client.get(f"{API}/households/{ihid}", headers=imizu).json()["version"]
    out = client.post(
        f"{API}/residents/move-out",
        headers=imizu,
        json={
            "effective_on": (TODAY + dt.timedelta(days=3)).isoformat(),
            "person_ids": ipersons,
            "household": {"household_id": ihid, "version": version},
            "destination_address": "富山県滑川市他町1番地",
            "destination_lg_code": NAMERIKAWA,
        },
    )
    assert out.status_code == 201, out.text
    transfer = next(
        t
        for t in client.get(f"{API}/residents-transfers", headers=theirs).json()
        if t["persons"][0]["family_name"] == "他団体行"
    )
    return {"person": head, "household": hid, "event": event, "transfer": transfer["id"]}


PERSON_PAGES = ["move-within", "birth", "death", "emigration", "name-change", "correction"]
HOUSEHOLD_PAGES = ["split", "merge", "head-change", "change"]


def test_another_municipalitys_records_are_the_not_found_page(
    client: TestClient, api, state
) -> None:
    ids = _their_records(client, state)
    urls = [f"/residents/{ids['person']}/{p}" for p in PERSON_PAGES]
    urls += [f"/households/{ids['household']}/{p}" for p in HOUSEHOLD_PAGES]
    urls += [f"/transfers/{ids['transfer']}/move-in"]
    supervisor_urls = [f"/residents/{ids['person']}/removal", f"/events/{ids['event']}/cancel"]
    for role, checked in (("clerk", urls), ("supervisor", supervisor_urls)):
        csrf = web_login(client, IMIZU, role)
        for url in checked:
            page = client.get(url)
            assert page.status_code == 404, url
            assert "見つかりません" in page.text and "他団体" not in page.text, url
            posted = client.post(url, data=_dates(csrf_token=csrf, reason="理由"))
            assert posted.status_code == 404, url
            assert "他団体" not in posted.text, url


def test_every_form_checks_the_csrf_token(client: TestClient, supervisor: str, api) -> None:
    hid, (head, _wife, _child) = _family(client, api, "偽装送信")
    event = _history(client, api, head)[0]["event_id"]
    urls = [f"/residents/{head}/{p}" for p in [*PERSON_PAGES, "removal"]]
    urls += [f"/households/{hid}/{p}" for p in HOUSEHOLD_PAGES]
    urls += [f"/events/{event}/cancel", "/residents-immigration", "/residents-ex-officio-entry"]
    for url in urls:
        response = client.post(url, data=_dates(csrf_token="forged", action="commit"))
        assert response.status_code == 403, url
        assert "画面の有効期限" in response.text, url
    assert _record(client, api, head)["status"] == "resident"
    assert _history(client, api, head)[-1]["event_id"] == event


def test_pages_link_to_the_forms(client: TestClient, supervisor: str, api) -> None:
    hid, (head, _wife, _child) = _family(client, api, "導線画")
    resident = client.get(f"/residents/{head}").text
    for path in [*PERSON_PAGES, "removal"]:
        assert f'href="/residents/{head}/{path}"' in resident, path
    household = client.get(f"/households/{hid}").text
    for path in HOUSEHOLD_PAGES:
        assert f'href="/households/{hid}/{path}"' in household, path
    assert 'href="/transfers"' in resident and "電子転出の受付" in resident
