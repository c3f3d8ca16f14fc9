"""A move between two members of the deployment, end to end through the API (法24条の2, 9条)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from core.audit import AuditEntry
from core.scoping import TenantContext, TenantId, set_context
from core.uow import UnitOfWork
from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer

API = "/api/v1"
TODAY = dt.date.today()


def _move_in_imizu(
    client: TestClient, clerk: dict[str, str], kana: str, my_number: str | None = None
) -> dict[str, Any]:
    person = {
        "family_name": "転居",
        "given_name": "一郎",
        "family_name_kana": kana,
        "given_name_kana": "イチロウ",
        "birth_date": "昭和45年6月1日",
        "sex": "male",
        "relationship": "世帯主",
        "honseki": "富山県射水市新開発410番地1",
        "koseki_head": "転居 一郎",
    }
    if my_number:
        person["my_number"] = my_number
    child = dict(
        person,
        given_name="花",
        given_name_kana="ハナ",
        sex="female",
        relationship="子",
        birth_date="平成22年3月3日",
    )
    child.pop("my_number", None)
    body = {
        "effective_on": (TODAY - dt.timedelta(days=100)).isoformat(),
        "persons": [person, child],
        "address": {"machiaza_code": "162116-0001", "banchi": "5番地"},
        "previous_address": "石川県金沢市広坂1丁目1番1号",
    }
    response = client.post(f"{API}/residents/move-in", json=body, headers=clerk)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_move_out_and_electronic_move_in_round_trip(
    client: TestClient, state, demo, database
) -> None:
    from stdnum.jp import in_

    add_machiaza(state, IMIZU, [("162116-0001", "大門", "ダイモン")])
    add_machiaza(state, NAMERIKAWA, [("162060-0001", "寺家町", "ジケマチ")])
    imizu, namerikawa = bearer(state, IMIZU, "clerk"), bearer(state, NAMERIKAWA, "clerk")
    number = "34567890123"
    number += in_.calc_check_digit(number)
    moved = _move_in_imizu(client, imizu, "ラウンドトリップ", my_number=number)
    hid = moved["household_ids"][0]
    version = client.get(f"{API}/households/{hid}", headers=imizu).json()["version"]
    planned = TODAY + dt.timedelta(days=5)

    # 1. 射水市: 転出届 to 滑川市 with a planned date; no paper certificate is needed.
    out = client.post(
        f"{API}/residents/move-out",
        headers=imizu,
        json={
            "effective_on": planned.isoformat(),
            "notified_on": TODAY.isoformat(),
            "person_ids": moved["person_ids"],
            "household": {"household_id": hid, "version": version},
            "destination_address": "富山県滑川市寺家町104番地",
            "destination_lg_code": NAMERIKAWA,
        },
    )
    assert out.status_code == 201, out.text
    still = client.get(f"{API}/residents/{moved['person_ids'][0]}", headers=imizu).json()
    assert still["status"] == "removed"  # the newest entry: removal on the planned date
    found = client.get(
        f"{API}/residents", params={"kana": "ラウンドトリップ"}, headers=imizu
    ).json()
    assert found["total"] == 2  # still residents until the planned date

    # 2. 滑川市 sees the electronic move-out data, without the ciphertext of the My Number.
    pending = client.get(f"{API}/residents-transfers", headers=namerikawa)
    assert pending.status_code == 200
    transfer = next(
        t for t in pending.json() if t["persons"][0]["family_name_kana"] == "ラウンドトリップ"
    )
    assert transfer["source_lg_code"] == IMIZU
    assert transfer["planned_move_out_on"] == planned.isoformat()
    assert number not in pending.text
    assert all("my_number_cipher" not in p for p in transfer["persons"])

    # 3. 滑川市: 特例転入 from that data (moved in two days ago, before the planned date).
    moved_in_on = TODAY - dt.timedelta(days=2)
    arrived = client.post(
        f"{API}/residents-transfers/{transfer['id']}/move-in",
        headers=namerikawa,
        json={
            "effective_on": moved_in_on.isoformat(),
            "card": True,
            "address": {"machiaza_code": "162060-0001", "banchi": "104番地"},
        },
    )
    assert arrived.status_code == 201, arrived.text
    assert arrived.json()["label"] == "特例転入"
    new_head = arrived.json()["person_ids"][0]
    record = client.get(f"{API}/residents/{new_head}", headers=namerikawa).json()
    assert record["data"]["honseki"] == "富山県射水市新開発410番地1"
    assert record["data"]["previous_address"].startswith("射水市")
    shown = client.post(
        f"{API}/residents/{new_head}/my-number",
        headers=namerikawa,
        json={"purpose": "転入時の確認"},
    ).json()
    assert shown["my_number"] == number  # re-encrypted under 滑川市's own key
    again = client.post(
        f"{API}/residents-transfers/{transfer['id']}/move-in",
        headers=namerikawa,
        json={
            "effective_on": moved_in_on.isoformat(),
            "address": {"machiaza_code": "162060-0001", "banchi": "104番地"},
        },
    )
    assert again.status_code == 409

    # 4. 射水市 received the 転入通知: the removal date is now the earlier actual date.
    after = client.get(f"{API}/residents/{moved['person_ids'][0]}", headers=imizu).json()
    assert after["data"]["removal"]["move_out_confirmed_on"] == moved_in_on.isoformat()
    assert after["data"]["removal"]["removed_on"] == moved_in_on.isoformat()
    assert after["data"]["removal"]["planned_move_out_on"] == planned.isoformat()
    gone = client.get(f"{API}/residents", params={"kana": "ラウンドトリップ"}, headers=imizu).json()
    assert gone["total"] == 0
    removed = client.get(
        f"{API}/residents",
        headers=imizu,
        params={"kana": "ラウンドトリップ", "include_removed": True},
    ).json()
    assert removed["total"] == 2  # 除票 stays searchable

    # 5. Both sides' audit chains hold their half, and each chain still verifies.
    with UnitOfWork(state.session_factory) as uow:
        for code, expected in (
            (
                IMIZU,
                {
                    "transfer.sent",
                    "transfer.move_in_notice_received",
                    "resident.move_out_confirmed",
                },
            ),
            (NAMERIKAWA, {"transfer.received", "resident.card_move_in"}),
        ):
            set_context(uow.session, TenantContext(TenantId(demo[code])))
            actions = set(uow.session.scalars(select(AuditEntry.action)))
            assert expected <= actions, (code, expected - actions)
        from core import audit

        results = audit.verify_tenants(uow.session, [demo[IMIZU], demo[NAMERIKAWA]])
        assert all(r.ok for r in results)


def test_card_move_in_after_thirty_days_is_refused(client: TestClient, state, demo) -> None:
    add_machiaza(state, IMIZU, [("162116-0001", "大門", "ダイモン")])
    add_machiaza(state, NAMERIKAWA, [("162060-0001", "寺家町", "ジケマチ")])
    imizu, namerikawa = bearer(state, IMIZU, "clerk"), bearer(state, NAMERIKAWA, "clerk")
    moved = _move_in_imizu(client, imizu, "キゲンギレ")
    hid = moved["household_ids"][0]
    version = client.get(f"{API}/households/{hid}", headers=imizu).json()["version"]
    planned = TODAY - dt.timedelta(days=40)
    out = client.post(
        f"{API}/residents/move-out",
        headers=imizu,
        json={
            "effective_on": planned.isoformat(),
            "person_ids": moved["person_ids"],
            "household": {"household_id": hid, "version": version},
            "destination_address": "富山県滑川市寺家町104番地",
            "destination_lg_code": NAMERIKAWA,
        },
    )
    assert out.status_code == 201, out.text
    transfer = next(
        t
        for t in client.get(f"{API}/residents-transfers", headers=namerikawa).json()
        if t["persons"][0]["family_name_kana"] == "キゲンギレ"
    )
    body = {
        "effective_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "card": True,
        "address": {"machiaza_code": "162060-0001", "banchi": "1番地"},
    }
    refused = client.post(
        f"{API}/residents-transfers/{transfer['id']}/move-in", json=body, headers=namerikawa
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "card_move_in_expired"
    # An ordinary 転入 with the same data is still possible (the certificate's data is valid).
    body["card"] = False
    accepted = client.post(
        f"{API}/residents-transfers/{transfer['id']}/move-in", json=body, headers=namerikawa
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["late_days"] == 0


def test_move_out_to_oneself_is_refused(client: TestClient, state, demo) -> None:
    add_machiaza(state, IMIZU, [("162116-0001", "大門", "ダイモン")])
    imizu = bearer(state, IMIZU, "clerk")
    moved = _move_in_imizu(client, imizu, "ジブンアテ")
    hid = moved["household_ids"][0]
    version = client.get(f"{API}/households/{hid}", headers=imizu).json()["version"]
    out = client.post(
        f"{API}/residents/move-out",
        headers=imizu,
        json={
            "effective_on": TODAY.isoformat(),
            "person_ids": moved["person_ids"],
            "household": {"household_id": hid, "version": version},
            "destination_address": "富山県射水市大門1番地",
            "destination_lg_code": IMIZU,
        },
    )
    assert out.status_code == 422
    assert out.json()["code"] == "move_out_to_self"
