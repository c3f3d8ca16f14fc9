"""DV等支援措置: start, extension window, end, blocked disclosure (logged), following a move."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from core.audit import AuditEntry
from core.scoping import TenantContext, TenantId, set_context
from core.uow import UnitOfWork
from resident_records import protection
from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer

API = "/api/v1"
TODAY = dt.date.today()


def _resident(client: TestClient, state: Any, kana: str) -> dict[str, Any]:
    add_machiaza(state, IMIZU, [("162116-0001", "大門", "ダイモン")])
    response = client.post(
        f"{API}/residents/move-in",
        headers=bearer(state, IMIZU, "clerk"),
        json={
            "effective_on": (TODAY - dt.timedelta(days=3)).isoformat(),
            "persons": [
                {
                    "family_name": "保護",
                    "given_name": "桜",
                    "family_name_kana": kana,
                    "given_name_kana": "サクラ",
                    "birth_date": "平成2年2月2日",
                    "sex": "female",
                    "relationship": "世帯主",
                }
            ],
            "address": {"machiaza_code": "162116-0001", "banchi": "9番地"},
            "previous_address": "大阪府大阪市北区中之島1丁目3番20号",
        },
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_term_is_one_year_ending_by_itself() -> None:
    assert protection.term_end(dt.date(2026, 4, 1)) == dt.date(2027, 3, 31)
    assert protection.term_end(dt.date(2024, 2, 29)) == dt.date(2025, 2, 27)


def test_blocked_disclosure_is_refused_and_logged(client: TestClient, state, demo) -> None:
    pid = _resident(client, state, "ホゴタイショウ")["person_ids"][0]
    clerk, supervisor = bearer(state, IMIZU, "clerk"), bearer(state, IMIZU, "supervisor")
    body = {"requester_type": "第三者", "requester_name": "加害 太郎", "purpose": "住所確認"}
    assert client.post(
        f"{API}/residents/{pid}/disclosure-check", json=body, headers=clerk
    ).json() == {"allowed": True}
    started = client.post(
        f"{API}/residents/{pid}/protection",
        headers=supervisor,
        json={
            "category": "DV",
            "started_on": TODAY.isoformat(),
            "aggressor": {"name": "加害 太郎"},
        },
    )
    assert started.status_code == 201, started.text
    assert started.json()["ends_on"] == protection.term_end(TODAY).isoformat()
    blocked = client.post(f"{API}/residents/{pid}/disclosure-check", json=body, headers=clerk)
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "protected_person"
    found = client.get(f"{API}/residents", params={"kana": "ホゴタイショウ"}, headers=clerk)
    assert found.json()["items"][0]["protected"] is True
    with UnitOfWork(state.session_factory) as uow:
        set_context(uow.session, TenantContext(TenantId(demo[IMIZU])))
        logged = uow.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "protection.blocked", AuditEntry.subject_id == pid
            )
        ).all()
        assert len(logged) == 1
        assert logged[0].details["requester_type"] == "第三者"
        assert logged[0].purpose == "住所確認"


def test_extension_only_in_the_last_month_and_end(client: TestClient, state, demo) -> None:
    pid = _resident(client, state, "エンチョウ")["person_ids"][0]
    supervisor = bearer(state, IMIZU, "supervisor")
    started = client.post(
        f"{API}/residents/{pid}/protection",
        headers=supervisor,
        json={"category": "ストーカー行為等", "started_on": TODAY.isoformat()},
    ).json()
    early = client.post(
        f"{API}/protection-measures/{started['id']}/extend",
        headers=supervisor,
        json={"version": started["version"]},
    )
    assert early.status_code == 422
    assert early.json()["code"] == "extension_too_early"
    twice = client.post(
        f"{API}/residents/{pid}/protection",
        headers=supervisor,
        json={"category": "DV", "started_on": TODAY.isoformat()},
    )
    assert twice.status_code == 409
    ended = client.post(
        f"{API}/protection-measures/{started['id']}/end",
        headers=supervisor,
        json={"version": started["version"]},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["in_force"] is False
    stale = client.post(
        f"{API}/protection-measures/{started['id']}/end",
        headers=supervisor,
        json={"version": started["version"]},
    )
    assert stale.status_code == 409


def test_extension_from_one_month_before_the_end(client: TestClient, state, demo) -> None:
    pid = _resident(client, state, "マツビエンチョウ")["person_ids"][0]
    supervisor = bearer(state, IMIZU, "supervisor")
    started_on = protection.add_years(TODAY, -1) + dt.timedelta(days=20)  # ends in ~19 days
    started = client.post(
        f"{API}/residents/{pid}/protection",
        headers=supervisor,
        json={"category": "DV", "started_on": started_on.isoformat()},
    ).json()
    extended = client.post(
        f"{API}/protection-measures/{started['id']}/extend",
        headers=supervisor,
        json={"version": started["version"]},
    )
    assert extended.status_code == 200, extended.text
    new_end = dt.date.fromisoformat(extended.json()["ends_on"])
    assert new_end == protection.add_years(dt.date.fromisoformat(started["ends_on"]), 1)
    assert extended.json()["extensions"] == 1


def test_a_clerk_cannot_start_a_measure(client: TestClient, state, demo) -> None:
    pid = _resident(client, state, "ケンゲン")["person_ids"][0]
    response = client.post(
        f"{API}/residents/{pid}/protection",
        headers=bearer(state, IMIZU, "clerk"),
        json={"category": "DV", "started_on": TODAY.isoformat()},
    )
    assert response.status_code == 403


def test_the_measure_follows_the_person_to_another_member(client: TestClient, state, demo) -> None:
    moved = _resident(client, state, "ツイテイク")
    pid, hid = moved["person_ids"][0], moved["household_ids"][0]
    imizu_clerk, supervisor = bearer(state, IMIZU, "clerk"), bearer(state, IMIZU, "supervisor")
    started = client.post(
        f"{API}/residents/{pid}/protection",
        headers=supervisor,
        json={
            "category": "DV",
            "started_on": TODAY.isoformat(),
            "aggressor": {"name": "加害 次郎"},
        },
    ).json()
    version = client.get(f"{API}/households/{hid}", headers=imizu_clerk).json()["version"]
    out = client.post(
        f"{API}/residents/move-out",
        headers=imizu_clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "person_ids": [pid],
            "household": {"household_id": hid, "version": version},
            "destination_address": "富山県滑川市寺家町104番地",
            "destination_lg_code": NAMERIKAWA,
        },
    )
    assert out.status_code == 201, out.text
    add_machiaza(state, NAMERIKAWA, [("162060-0001", "寺家町", "ジケマチ")])
    namerikawa = bearer(state, NAMERIKAWA, "clerk")
    transfer = next(
        t
        for t in client.get(f"{API}/residents-transfers", headers=namerikawa).json()
        if t["persons"][0]["family_name_kana"] == "ツイテイク"
    )
    arrived = client.post(
        f"{API}/residents-transfers/{transfer['id']}/move-in",
        headers=namerikawa,
        json={
            "effective_on": TODAY.isoformat(),
            "address": {"machiaza_code": "162060-0001", "banchi": "1番地"},
        },
    )
    assert arrived.status_code == 201, arrived.text
    new_pid = arrived.json()["person_ids"][0]
    measures = client.get(f"{API}/residents/{new_pid}/protection", headers=namerikawa).json()
    assert len(measures) == 1
    assert measures[0]["in_force"] is True
    assert measures[0]["ends_on"] == started["ends_on"]
    assert measures[0]["origin_lg_code"] == IMIZU
    blocked = client.post(
        f"{API}/residents/{new_pid}/disclosure-check",
        headers=namerikawa,
        json={"requester_type": "第三者"},
    )
    assert blocked.status_code == 403
