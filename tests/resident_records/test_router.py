"""The register through its API: events, reads, search, rules and bad input."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer

TODAY = dt.date.today()
MACHIAZA = [("162116-0001", "大門", "ダイモン"), ("162116-0002", "小島", "オシマ")]


@pytest.fixture
def clerk(state, demo) -> dict[str, str]:
    add_machiaza(state, IMIZU, MACHIAZA)
    return bearer(state, IMIZU, "clerk")


def person(**over: Any) -> dict[str, Any]:
    base = {
        "family_name": "射水",
        "given_name": "太郎",
        "family_name_kana": "イミズ",
        "given_name_kana": "タロウ",
        "birth_date": "昭和50年4月1日",
        "sex": "male",
        "relationship": "世帯主",
    }
    return base | over


def move_in_body(persons: list[dict[str, Any]], days_ago: int = 3, **over: Any) -> dict[str, Any]:
    return {
        "effective_on": (TODAY - dt.timedelta(days=days_ago)).isoformat(),
        "persons": persons,
        "address": {"machiaza_code": "162116-0001", "banchi": "1番地"},
        "previous_address": "富山県富山市新桜町7番38号",
    } | over


def test_move_in_of_a_household_of_three(client: TestClient, clerk) -> None:
    family = [
        person(),
        person(
            given_name="花子",
            given_name_kana="ハナコ",
            sex="female",
            relationship="妻",
            birth_date="昭和52年5月5日",
        ),
        person(
            given_name="一郎",
            given_name_kana="イチロウ",
            relationship="子",
            birth_date="平成20年1月10日",
        ),
    ]
    response = client.post("/api/v1/residents/move-in", json=move_in_body(family), headers=clerk)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["label"] == "転入"
    assert len(result["person_ids"]) == 3
    household = client.get(f"/api/v1/households/{result['household_ids'][0]}", headers=clerk).json()
    assert [m["relationship"] for m in household["members"]] == ["世帯主", "妻", "子"]
    assert household["address"].startswith("大門 1番地")
    record = client.get(f"/api/v1/residents/{result['person_ids'][0]}", headers=clerk).json()
    assert record["data"]["birth_date"]["display"] == "昭和50年4月1日"
    assert record["status"] == "resident"


def test_kana_search_is_normalised(client: TestClient, clerk) -> None:
    unique = "ヨシモト"
    client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body([person(family_name="吉本", family_name_kana=unique)]),
    )
    for query in ("よしもと", "ﾖｼﾓﾄ", "ヨシ", "よし"):
        found = client.get("/api/v1/residents", params={"kana": query}, headers=clerk).json()
        assert any(i["family_name"] == "吉本" for i in found["items"]), query


def test_bad_input_gets_a_message_per_field_and_writes_nothing(client: TestClient, clerk) -> None:
    before = client.get("/api/v1/residents", params={"kana": "ミライ"}, headers=clerk).json()
    bad = move_in_body(
        [
            person(
                family_name="未来\u0007",
                family_name_kana="mirai",
                my_number="123456789012",
                relationship="孫",
            )
        ],
        days_ago=-1,
    )
    response = client.post("/api/v1/residents/move-in", json=bad, headers=clerk)
    assert response.status_code == 422
    fields = {d["field"]: d for d in response.json()["details"]}
    assert fields["persons.0.family_name"]["type"] == "control_character"
    assert fields["persons.0.family_name_kana"]["type"] == "invalid_kana"
    assert fields["persons.0.my_number"]["type"] == "invalid_my_number"
    assert "123456789012" not in response.text
    assert fields["persons.0.relationship"]["type"] == "invalid_relationship"
    after = client.get("/api/v1/residents", params={"kana": "ミライ"}, headers=clerk).json()
    assert after["total"] == before["total"]


def test_future_effective_date_is_refused(client: TestClient, clerk) -> None:
    response = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body([person(family_name_kana="ミライ")], days_ago=-1),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "future_effective_date"


def test_unknown_machiaza_is_refused(client: TestClient, clerk) -> None:
    body = move_in_body([person()])
    body["address"]["machiaza_code"] = "162116-9999"
    response = client.post("/api/v1/residents/move-in", json=body, headers=clerk)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_machiaza"


def test_late_notification_is_accepted_and_flagged(client: TestClient, clerk) -> None:
    response = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body([person(family_name_kana="オクレ")], days_ago=30),
    )
    assert response.status_code == 201
    assert response.json()["late_days"] == 16
    alerts = client.get("/api/v1/residents-alerts", headers=clerk).json()
    assert any(
        a["kind"] == "late_notification" and a["event_id"] == response.json()["event_id"]
        for a in alerts
    )


def test_same_idempotency_key_registers_once(client: TestClient, clerk) -> None:
    key = {"Idempotency-Key": f"move-in-{uuid.uuid4()}"}
    body = move_in_body([person(family_name="二重", family_name_kana="ニジュウトウロク")])
    first = client.post("/api/v1/residents/move-in", json=body, headers=clerk | key)
    second = client.post("/api/v1/residents/move-in", json=body, headers=clerk | key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    found = client.get(
        "/api/v1/residents", params={"kana": "ニジュウトウロク"}, headers=clerk
    ).json()
    assert found["total"] == 1


def test_head_leaving_one_member_left_becomes_head(client: TestClient, clerk) -> None:
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body(
            [
                person(family_name_kana="フタリ"),
                person(
                    given_name="次郎",
                    given_name_kana="ジロウ",
                    relationship="子",
                    family_name_kana="フタリ",
                ),
            ]
        ),
    ).json()
    head, child = moved["person_ids"]
    hid = moved["household_ids"][0]
    version = client.get(f"/api/v1/households/{hid}", headers=clerk).json()["version"]
    died = client.post(
        "/api/v1/residents/death",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "person_id": head,
            "household": {"household_id": hid, "version": version},
        },
    )
    assert died.status_code == 201, died.text
    members = client.get(f"/api/v1/households/{hid}", headers=clerk).json()["members"]
    assert [(m["person_id"], m["relationship"]) for m in members] == [(child, "世帯主")]


def test_head_leaving_two_members_left_raises_an_alert(client: TestClient, clerk) -> None:
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body(
            [
                person(family_name_kana="サンニン"),
                person(
                    given_name="花子", given_name_kana="ハナコ", sex="female", relationship="妻"
                ),
                person(given_name="次郎", given_name_kana="ジロウ", relationship="子"),
            ]
        ),
    ).json()
    head, wife, child = moved["person_ids"]
    hid = moved["household_ids"][0]
    version = client.get(f"/api/v1/households/{hid}", headers=clerk).json()["version"]
    out = client.post(
        "/api/v1/residents/move-out",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "person_ids": [head],
            "household": {"household_id": hid, "version": version},
            "destination_address": "石川県金沢市広坂1丁目1番1号",
        },
    ).json()
    assert any("世帯主変更" in a for a in out["alerts"])
    version = client.get(f"/api/v1/households/{hid}", headers=clerk).json()["version"]
    changed = client.post(
        "/api/v1/residents/head-change",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "household": {"household_id": hid, "version": version},
            "relationships": {wife: "世帯主", child: "子"},
        },
    )
    assert changed.status_code == 201, changed.text
    open_alerts = client.get("/api/v1/residents-alerts", headers=clerk).json()
    assert not any(
        a["household_id"] == hid and a["kind"] == "head_change_required" for a in open_alerts
    )


def test_stale_household_version_is_a_conflict(client: TestClient, clerk) -> None:
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body(
            [
                person(family_name_kana="キョウゴウ"),
                person(given_name="次郎", given_name_kana="ジロウ", relationship="子"),
            ]
        ),
    ).json()
    hid = moved["household_ids"][0]
    version = client.get(f"/api/v1/households/{hid}", headers=clerk).json()["version"]
    ref = {"household_id": hid, "version": version}
    birth_day = (TODAY - dt.timedelta(days=1)).isoformat()
    baby = person(
        given_name="三郎", given_name_kana="サブロウ", relationship="子", birth_date=birth_day
    )
    first = client.post(
        "/api/v1/residents/birth",
        headers=clerk,
        json={"effective_on": birth_day, "person": baby, "household": ref},
    )
    second = client.post(
        "/api/v1/residents/birth",
        headers=clerk,
        json={"effective_on": birth_day, "person": baby, "household": ref},
    )
    assert first.status_code == 201, first.text
    assert second.status_code == 409
    members = client.get(f"/api/v1/households/{hid}", headers=clerk).json()["members"]
    assert len(members) == 3


def test_record_as_of_both_time_axes(client: TestClient, clerk) -> None:
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body([person(family_name="誤記", family_name_kana="ゴキ")], days_ago=10),
    ).json()
    pid = moved["person_ids"][0]
    before_fix = client.get(f"/api/v1/residents/{pid}", headers=clerk).json()
    fixed = client.post(
        "/api/v1/residents/clerical-correction",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "person_id": pid,
            "changes": {"family_name": "吾木"},
            "reason": "入力誤り",
        },
    )
    assert fixed.status_code == 201, fixed.text
    now = client.get(f"/api/v1/residents/{pid}", headers=clerk).json()
    assert now["data"]["family_name"] == "吾木"
    then = client.get(
        f"/api/v1/residents/{pid}", headers=clerk, params={"known_at": before_fix["recorded_at"]}
    ).json()
    assert then["data"]["family_name"] == "誤記"
    before_move = client.get(
        f"/api/v1/residents/{pid}",
        headers=clerk,
        params={"as_of": (TODAY - dt.timedelta(days=11)).isoformat()},
    )
    assert before_move.status_code == 404
    history = client.get(f"/api/v1/residents/{pid}/history", headers=clerk).json()
    assert [h["data"]["family_name"] for h in history] == ["誤記", "吾木"]


def test_cancel_keeps_history_and_voids_the_entry(client: TestClient, state, clerk) -> None:
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body([person(family_name_kana="トリケシ")]),
    ).json()
    supervisor = bearer(state, IMIZU, "supervisor")
    cancel = client.post(
        f"/api/v1/residents/events/{moved['event_id']}/cancel",
        headers=supervisor,
        json={"reason": "別人の届出と取り違え"},
    )
    assert cancel.status_code == 201, cancel.text
    found = client.get("/api/v1/residents", params={"kana": "トリケシ"}, headers=clerk).json()
    assert found["total"] == 0
    history = client.get(
        f"/api/v1/residents/{moved['person_ids'][0]}/history", headers=clerk
    ).json()
    assert [h["status"] for h in history] == ["resident", "voided"]


def test_my_number_is_masked_found_by_index_and_revealed_with_a_purpose(
    client: TestClient, clerk
) -> None:
    from stdnum.jp import in_

    number = "23456789012"
    number += in_.calc_check_digit(number)
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body([person(family_name_kana="バンゴウ", my_number=number)]),
    ).json()
    pid = moved["person_ids"][0]
    record = client.get(f"/api/v1/residents/{pid}", headers=clerk)
    assert number not in record.text
    assert record.json()["my_number_masked"] == "************"
    found = client.post(
        "/api/v1/residents/search/my-number", headers=clerk, json={"my_number": number}
    ).json()
    assert [i["person_id"] for i in found["items"]] == [pid]
    shown = client.post(
        f"/api/v1/residents/{pid}/my-number",
        headers=clerk,
        json={"purpose": "国民健康保険の資格取得"},
    ).json()
    assert shown["my_number"] == number


def test_another_municipality_cannot_see_imizu_residents(client: TestClient, state, clerk) -> None:
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body([person(family_name_kana="ベツノマチ")]),
    ).json()
    other = bearer(state, NAMERIKAWA, "clerk")
    assert (
        client.get(f"/api/v1/residents/{moved['person_ids'][0]}", headers=other).status_code == 404
    )
    assert (
        client.get(f"/api/v1/households/{moved['household_ids'][0]}", headers=other).status_code
        == 404
    )
    found = client.get("/api/v1/residents", params={"kana": "ベツノマチ"}, headers=other).json()
    assert found["total"] == 0


def test_statistics_count_the_population_on_a_date(client: TestClient, clerk) -> None:
    stats = client.get("/api/v1/residents/statistics", headers=clerk).json()
    assert stats["total"] == stats["japanese"] + stats["foreign"]
    assert sum(stats["by_sex"].values()) == stats["total"]
    assert sum(stats["by_age_band"].values()) == stats["total"]
    past = client.get(
        "/api/v1/residents/statistics", headers=clerk, params={"as_of": "2000-01-01"}
    ).json()
    assert past["total"] == 0


def test_uncertain_birth_date_prints_as_entered(client: TestClient, clerk) -> None:
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body(
            [
                person(family_name_kana="フショウ", birth_date="明治45年7月30日"),
                person(
                    family_name_kana="フショウ",
                    given_name="ウメ",
                    given_name_kana="ウメ",
                    sex="female",
                    relationship="母",
                    birth_date="大正10年頃",
                ),
            ]
        ),
    ).json()
    head, mother = moved["person_ids"]
    exact = client.get(f"/api/v1/residents/{head}", headers=clerk).json()["data"]["birth_date"]
    assert exact["display"] == "明治45年7月30日"
    assert exact["value"] == "1912-07-30"
    about = client.get(f"/api/v1/residents/{mother}", headers=clerk).json()["data"]["birth_date"]
    assert about["display"] == "大正10年頃"
    assert about["kind"] == "about_year"


def test_ivs_name_is_kept_and_found_with_or_without_the_selector(client: TestClient, clerk) -> None:
    ivs_family = "\u8fbb\U000e0100"  # 辻 with the one-dot しんにょう selected
    moved = client.post(
        "/api/v1/residents/move-in",
        headers=clerk,
        json=move_in_body(
            [
                person(
                    family_name=ivs_family,
                    given_name="一",
                    family_name_kana="ツジ",
                    given_name_kana="ハジメ",
                )
            ]
        ),
    ).json()
    record = client.get(f"/api/v1/residents/{moved['person_ids'][0]}", headers=clerk).json()
    assert record["data"]["family_name"] == ivs_family
    for query in (ivs_family + "一", "\u8fbb一"):
        found = client.get("/api/v1/residents", params={"name": query}, headers=clerk).json()
        assert moved["person_ids"][0] in [i["person_id"] for i in found["items"]], query


def test_non_resident_is_registered_and_found_on_request(client: TestClient, state, clerk) -> None:
    tax = bearer(state, IMIZU, "tax_officer")
    created = client.post(
        "/api/v1/non-residents",
        headers=tax,
        json={
            "family_name": "住外",
            "given_name": "地主",
            "family_name_kana": "ジュウガイ",
            "given_name_kana": "ジヌシ",
            "birth_date": "昭和40年10月10日",
            "sex": "male",
            "address": "東京都新宿区西新宿2丁目8番1号",
            "reason": "固定資産の所有者（課税）",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["label"] == "住登外登録"
    hidden = client.get("/api/v1/residents", params={"kana": "ジュウガイ"}, headers=tax).json()
    assert hidden["total"] == 0
    shown = client.get(
        "/api/v1/residents",
        headers=tax,
        params={"kana": "ジュウガイ", "include_non_residents": True},
    ).json()
    assert [i["status"] for i in shown["items"]] == ["non_resident"]
    stats_before = client.get("/api/v1/residents/statistics", headers=tax).json()["total"]
    assert stats_before == client.get("/api/v1/residents/statistics", headers=tax).json()["total"]


def test_foreign_resident_immigrates_with_an_alias(client: TestClient, clerk) -> None:
    body = move_in_body(
        [
            {
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
                    "stay_expires_on": "2027-08-31",
                    "residence_card_number": "AB12345678CD",
                    "alias_name": "中村 安",
                    "alias_name_kana": "ナカムラ アン",
                },
            }
        ],
        previous_address="ベトナム",
    )
    moved = client.post("/api/v1/residents/immigration", headers=clerk, json=body)
    assert moved.status_code == 201, moved.text
    pid = moved.json()["person_ids"][0]
    record = client.get(f"/api/v1/residents/{pid}", headers=clerk).json()
    assert record["data"]["birth_date"]["display"] == "1995年8月15日"  # Western (J:90)
    found = client.get("/api/v1/residents", params={"kana": "ナカムラ"}, headers=clerk).json()
    assert pid in [i["person_id"] for i in found["items"]]
    changed = client.post(
        "/api/v1/residents/name-change",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "person_id": pid,
            "alias_name": "中山 安",
            "alias_name_kana": "ナカヤマ アン",
        },
    )
    assert changed.status_code == 201, changed.text
    assert changed.json()["label"] == "通称変更"
    aliases = [
        h["data"]["foreign"]["alias_name"]
        for h in client.get(f"/api/v1/residents/{pid}/history", headers=clerk).json()
    ]
    assert aliases == ["中村 安", "中山 安"]  # 通称 keeps its history


def test_search_by_every_key(client: TestClient, clerk) -> None:
    body = move_in_body(
        [
            person(
                family_name="検索",
                given_name="全項目",
                family_name_kana="ケンサクゼンコウモク",
                given_name_kana="ゼン",
                birth_date="昭和61年3月4日",
                juminhyo_code="12345678901",
            )
        ]
    )
    body["address"] = {"machiaza_code": "162116-0002", "banchi": "77番地"}
    pid = client.post("/api/v1/residents/move-in", json=body, headers=clerk).json()["person_ids"][0]
    atena = client.get(f"/api/v1/residents/{pid}", headers=clerk).json()["atena_number"]
    queries: list[dict[str, Any]] = [
        {"name": "検索全"},
        {"birth_date": "1986-03-04"},
        {"machiaza_code": "162116-0002", "banchi": "77番地"},
        {"atena_number": atena},
        {"juminhyo_code": "12345678901"},
        {"given_kana": "ゼン"},  # the given name's reading alone
    ]
    for q in queries:
        found = client.get("/api/v1/residents", params=q, headers=clerk).json()
        assert pid in [i["person_id"] for i in found["items"]], q
    page = client.get(
        "/api/v1/residents", params={"kana": "ケンサク", "per_page": 1}, headers=clerk
    ).json()
    assert page["per_page"] == 1
    assert len(page["items"]) == 1
    bad = client.get("/api/v1/residents", params={"kana": "abc"}, headers=clerk)
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_kana"


def test_idempotency_record_keeps_no_invertible_trace_of_the_my_number(
    client: TestClient, state, demo, clerk
) -> None:
    import hashlib
    import json

    from sqlalchemy import select
    from stdnum.jp import in_

    from core.idempotency import IdempotencyRecord
    from core.scoping import TenantContext, TenantId, set_context
    from core.uow import UnitOfWork

    number = "45678901234"
    number += in_.calc_check_digit(number)
    key = f"mn-{uuid.uuid4()}"
    body = move_in_body([person(family_name_kana="キーツキ", my_number=number)])
    response = client.post(
        "/api/v1/residents/move-in", json=body, headers=clerk | {"Idempotency-Key": key}
    )
    assert response.status_code == 201
    with UnitOfWork(state.session_factory) as uow:
        set_context(uow.session, TenantContext(TenantId(demo[IMIZU])))
        record = uow.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))
        assert record is not None
        assert number not in json.dumps(record.response_body)
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
        plain = hashlib.sha256(f"POST /api/v1/residents/move-in\n{canonical}".encode()).hexdigest()
        assert record.request_fingerprint != plain


def test_non_resident_bad_input_writes_nothing(client: TestClient, state, clerk) -> None:
    tax = bearer(state, IMIZU, "tax_officer")
    response = client.post(
        "/api/v1/non-residents",
        headers=tax,
        json={
            "family_name": "不正",
            "given_name": "入力",
            "family_name_kana": "fusei",
            "given_name_kana": "ニュウリョク",
            "birth_date": "令和2年13月1日",
            "sex": "male",
            "address": "東京都新宿区西新宿2丁目8番1号",
            "reason": "課税",
            "my_number": "111111111111",
        },
    )
    assert response.status_code == 422
    types = {d["field"]: d["type"] for d in response.json()["details"]}
    assert types["family_name_kana"] == "invalid_kana"
    assert types["birth_date"] == "invalid_register_date"
    assert types["my_number"] == "invalid_my_number"
    assert "111111111111" not in response.text
    shown = client.get(
        "/api/v1/residents", headers=tax, params={"name": "不正入力", "include_non_residents": True}
    ).json()
    assert shown["total"] == 0
