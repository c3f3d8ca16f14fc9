"""Residency events at the counter drive NHI qualification (same transaction, real HTTP API)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer
from tests.nhi.qualification_support import (
    API,
    MACHIAZA,
    born_years_ago,
    days,
    household_ref,
    move_in,
    only,
    person,
    qualifications,
    record_cover,
    register_event,
)


def _family(client: TestClient, state: Any, **kw: Any) -> dict[str, Any]:
    return move_in(
        client,
        state,
        [
            person("太郎", born_years_ago(50), "世帯主"),
            person("花子", born_years_ago(45), "妻", sex="female"),
            person("一郎", born_years_ago(20), "子"),
        ],
        **kw,
    )


def test_move_in_acquires_for_everyone_under_75(client: TestClient, state, demo) -> None:
    moved = move_in(
        client,
        state,
        [
            person("太郎", born_years_ago(50), "世帯主"),
            person("ウメ", born_years_ago(80), "母", sex="female"),
            person("次郎", born_years_ago(75, plus_days=1), "子"),  # 75 tomorrow: still 74
        ],
        on=days(-10),
    )
    head, mother, almost = moved["person_ids"]
    for pid in (head, almost):
        q = only(client, state, pid)
        assert q["status"] == "active"
        assert q["acquired_on"] == days(-10).isoformat()
        assert q["acquisition_reason"] == "move_in"
        assert q["acquisition_reason_label"] == "転入"
        assert q["lost_on"] is None
        assert q["cause_kind"] == "residency_event"
        assert q["cause_id"] == moved["event_id"]
    # 後期高齢者医療: no NHI for the 80-year-old.
    assert qualifications(client, state, mother) == {
        "person_id": mother,
        "insured_today": False,
        "qualifications": [],
        "coverage": [],
    }
    assert qualifications(client, state, head)["insured_today"] is True


def test_birth_into_an_insured_household_acquires_on_the_birth_date(
    client: TestClient, state, demo
) -> None:
    moved = _family(client, state)
    hid = moved["household_ids"][0]
    birth_day = days(-2)
    born = register_event(
        client,
        state,
        "birth",
        {
            "effective_on": birth_day.isoformat(),
            "person": person("三郎", birth_day, "子"),
            "household": household_ref(client, state, hid),
        },
    )
    assert born.status_code == 201, born.text
    q = only(client, state, born.json()["person_ids"][0])
    assert (q["acquired_on"], q["acquisition_reason"], q["status"]) == (
        birth_day.isoformat(),
        "birth",
        "active",
    )


def test_birth_into_an_employee_insured_household_acquires_nothing(
    client: TestClient, state, demo
) -> None:
    moved = move_in(
        client,
        state,
        [
            person("太郎", born_years_ago(35), "世帯主"),
            person("花子", born_years_ago(33), "妻", sex="female"),
        ],
        on=days(-30),
    )
    # Both were in employee insurance all along: their move-in acquisitions are voided.
    for pid in moved["person_ids"]:
        joined = record_cover(
            client,
            state,
            pid,
            "employee-insurance/joined",
            {"joined_on": days(-400).isoformat(), "insurer_name": "全国健康保険協会"},
        )
        assert joined.status_code == 201, joined.text
        assert only(client, state, pid)["status"] == "voided"
    birth_day = days(-1)
    born = register_event(
        client,
        state,
        "birth",
        {
            "effective_on": birth_day.isoformat(),
            "person": person("三郎", birth_day, "子"),
            "household": household_ref(client, state, moved["household_ids"][0]),
        },
    )
    assert born.status_code == 201, born.text
    child = qualifications(client, state, born.json()["person_ids"][0])
    assert child["qualifications"] == [] and child["insured_today"] is False


def _move_out(
    client: TestClient, state: Any, moved: dict[str, Any], pids: list[str], on: Any, path: str
) -> Any:
    return register_event(
        client,
        state,
        path,
        {
            "effective_on": on.isoformat(),
            "person_ids": pids,
            "household": household_ref(client, state, moved["household_ids"][0]),
            "destination_address": "石川県金沢市広坂1丁目1番1号",
        },
    )


def test_move_out_ends_the_qualification_on_the_move_out_date(
    client: TestClient, state, demo
) -> None:
    moved = _family(client, state)
    head, _wife, son = moved["person_ids"]
    out = _move_out(client, state, moved, [son], days(-1), "move-out")
    assert out.status_code == 201, out.text
    q = only(client, state, son)
    assert (q["lost_on"], q["loss_reason"], q["loss_reason_label"]) == (
        days(-1).isoformat(),
        "move_out",
        "転出",
    )
    assert q["cause_id"] == out.json()["event_id"]
    assert [v["lost_on"] for v in q["versions"]] == [None, days(-1).isoformat()]
    assert qualifications(client, state, son)["insured_today"] is False
    # The others stay insured.
    assert only(client, state, head)["lost_on"] is None


def test_planned_move_out_ends_the_qualification_in_the_future(
    client: TestClient, state, demo
) -> None:
    moved = _family(client, state)
    son = moved["person_ids"][2]
    out = _move_out(client, state, moved, [son], days(7), "move-out")
    assert out.status_code == 201, out.text
    assert only(client, state, son)["lost_on"] == days(7).isoformat()
    assert qualifications(client, state, son)["insured_today"] is True


def test_move_out_confirmation_brings_the_loss_forward(client: TestClient, state, demo) -> None:
    moved = _family(client, state)
    son = moved["person_ids"][2]
    assert _move_out(client, state, moved, [son], days(7), "move-out").status_code == 201
    confirmed = register_event(
        client,
        state,
        "move-out-confirmation",
        {"person_ids": [son], "moved_in_on": days(-1).isoformat()},
    )
    assert confirmed.status_code == 201, confirmed.text
    q = only(client, state, son)
    assert q["lost_on"] == days(-1).isoformat()
    assert q["loss_reason"] == "move_out"
    assert [v["lost_on"] for v in q["versions"]] == [
        None,
        days(7).isoformat(),
        days(-1).isoformat(),
    ]


def test_emigration_ends_the_qualification_the_day_after(client: TestClient, state, demo) -> None:
    moved = _family(client, state)
    son = moved["person_ids"][2]
    out = _move_out(client, state, moved, [son], days(-1), "emigration")
    assert out.status_code == 201, out.text
    q = only(client, state, son)
    assert (q["lost_on"], q["loss_reason"]) == (days(0).isoformat(), "emigration")


def test_death_ends_the_qualification_the_day_after(client: TestClient, state, demo) -> None:
    moved = _family(client, state)
    head = moved["person_ids"][0]
    died = register_event(
        client,
        state,
        "death",
        {
            "effective_on": days(-3).isoformat(),
            "person_id": head,
            "household": household_ref(client, state, moved["household_ids"][0]),
        },
    )
    assert died.status_code == 201, died.text
    q = only(client, state, head)
    assert (q["lost_on"], q["loss_reason"]) == (days(-2).isoformat(), "death")


def test_ex_officio_removal_ends_the_qualification_the_day_after(
    client: TestClient, state, demo
) -> None:
    moved = _family(client, state)
    son = moved["person_ids"][2]
    removed = register_event(
        client,
        state,
        "ex-officio-removal",
        {
            "effective_on": days(-2).isoformat(),
            "person_id": son,
            "household": household_ref(client, state, moved["household_ids"][0]),
            "reason": "実態調査により居住の事実なし",
        },
        role="supervisor",
    )
    assert removed.status_code == 201, removed.text
    q = only(client, state, son)
    assert (q["lost_on"], q["loss_reason"]) == (days(-1).isoformat(), "removal")


def _cancel(client: TestClient, state: Any, event_id: str) -> Any:
    return register_event(
        client,
        state,
        f"events/{event_id}/cancel",
        {"reason": "届出の取り違え"},
        role="supervisor",
    )


def test_cancelled_move_out_restores_the_qualification(client: TestClient, state, demo) -> None:
    moved = _family(client, state)
    son = moved["person_ids"][2]
    out = _move_out(client, state, moved, [son], days(-1), "move-out")
    assert out.status_code == 201, out.text
    cancelled = _cancel(client, state, out.json()["event_id"])
    assert cancelled.status_code == 201, cancelled.text
    q = only(client, state, son)
    assert (q["status"], q["lost_on"], q["loss_reason"]) == ("active", None, None)
    # History keeps the loss and its reversal.
    assert [(v["lost_on"], v["cause_kind"]) for v in q["versions"]] == [
        (None, "residency_event"),
        (days(-1).isoformat(), "residency_event"),
        (None, "cancellation"),
    ]
    assert q["cause_id"] == cancelled.json()["event_id"]


def test_cancelled_move_in_voids_the_acquisition(client: TestClient, state, demo) -> None:
    moved = _family(client, state)
    cancelled = _cancel(client, state, moved["event_id"])
    assert cancelled.status_code == 201, cancelled.text
    for pid in moved["person_ids"]:
        q = only(client, state, pid)
        assert q["status"] == "voided"
        assert q["void_reason"] == "event_cancelled"
        assert q["void_reason_label"] == "住民異動の取消"
        assert [v["status"] for v in q["versions"]] == ["active", "voided"]
        assert qualifications(client, state, pid)["insured_today"] is False


def test_cancelled_death_restores_and_cancelled_birth_voids(
    client: TestClient, state, demo
) -> None:
    moved = _family(client, state)
    hid = moved["household_ids"][0]
    wife = moved["person_ids"][1]
    died = register_event(
        client,
        state,
        "death",
        {
            "effective_on": days(-1).isoformat(),
            "person_id": wife,
            "household": household_ref(client, state, hid),
        },
    )
    assert died.status_code == 201, died.text
    assert only(client, state, wife)["lost_on"] == days(0).isoformat()
    assert _cancel(client, state, died.json()["event_id"]).status_code == 201
    assert only(client, state, wife)["lost_on"] is None

    born = register_event(
        client,
        state,
        "birth",
        {
            "effective_on": days(-1).isoformat(),
            "person": person("四郎", days(-1), "子"),
            "household": household_ref(client, state, hid),
        },
    )
    assert born.status_code == 201, born.text
    child = born.json()["person_ids"][0]
    assert only(client, state, child)["status"] == "active"
    assert _cancel(client, state, born.json()["event_id"]).status_code == 201
    assert only(client, state, child)["status"] == "voided"


def test_changes_are_published_to_the_outbox(client: TestClient, state, demo) -> None:
    from sqlalchemy import select

    from core.events import OutboxMessage
    from core.scoping import TenantContext, TenantId, set_context

    moved = _family(client, state)
    son = moved["person_ids"][2]
    assert _move_out(client, state, moved, [son], days(-1), "move-out").status_code == 201
    session = state.session_factory()
    try:
        set_context(session, TenantContext(TenantId(demo[IMIZU])))
        payloads = [
            m.payload
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.event_name == "nhi.qualification_changed")
            )
            if m.payload["person_id"] == son
        ]
    finally:
        session.rollback()
        session.close()
    assert [(p["change"], p["lost_on"]) for p in payloads] == [
        ("acquired", None),
        ("lost", days(-1).isoformat()),
    ]


def test_nhi_household_follows_head_and_nominal_head(client: TestClient, state, demo) -> None:
    moved = _family(client, state)
    head, wife, son = moved["person_ids"]
    hid = moved["household_ids"][0]
    officer = bearer(state, IMIZU, "nhi_officer")

    def household() -> dict[str, Any]:
        response = client.get(f"{API}/nhi/households/{hid}", headers=officer)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    h = household()
    assert (h["head_person_id"], h["head_insured"], h["nominal_head"]) == (head, True, False)
    assert h["insured_count"] == 3
    # The head joins employee insurance: still the liable head, now 擬制世帯主.
    joined = record_cover(
        client, state, head, "employee-insurance/joined", {"joined_on": days(-5).isoformat()}
    )
    assert joined.status_code == 201, joined.text
    h = household()
    assert (h["head_person_id"], h["head_insured"], h["nominal_head"]) == (head, False, True)
    assert h["insured_count"] == 2
    # Before the head joined, the household read on that date had an insured head.
    past = client.get(
        f"{API}/nhi/households/{hid}", params={"on": days(-6).isoformat()}, headers=officer
    ).json()
    assert (past["head_insured"], past["nominal_head"]) == (True, False)
    # 世帯主変更 at the counter: the NHI household's liable head follows on that date.
    changed = register_event(
        client,
        state,
        "head-change",
        {
            "effective_on": days(0).isoformat(),
            "household": household_ref(client, state, hid),
            "relationships": {wife: "世帯主", head: "夫", son: "子"},
        },
    )
    assert changed.status_code == 201, changed.text
    h = household()
    assert (h["head_person_id"], h["head_insured"], h["nominal_head"]) == (wife, True, False)


def test_a_move_between_members_moves_the_qualification_in_one_transaction(
    client: TestClient, state, demo
) -> None:
    moved = move_in(
        client, state, [person("移動", born_years_ago(44), "世帯主", family_name_kana="イドウ")]
    )
    pid = moved["person_ids"][0]
    planned = days(5)
    out = register_event(
        client,
        state,
        "move-out",
        {
            "effective_on": planned.isoformat(),
            "person_ids": [pid],
            "household": household_ref(client, state, moved["household_ids"][0]),
            "destination_address": "富山県滑川市寺家町104番地",
            "destination_lg_code": NAMERIKAWA,
        },
    )
    assert out.status_code == 201, out.text
    assert only(client, state, pid)["lost_on"] == planned.isoformat()

    # 滑川市 registers the move-in from the electronic data two days ago: its NHI acquires on
    # that day, and 射水市's loss moves to it, in the same transaction (転入通知 → 転出確定).
    add_machiaza(state, NAMERIKAWA, [MACHIAZA[NAMERIKAWA]])
    namerikawa = bearer(state, NAMERIKAWA, "clerk")
    pending = client.get(f"{API}/residents-transfers", headers=namerikawa).json()
    transfer = next(t for t in pending if t["persons"][0]["family_name_kana"] == "イドウ")
    arrived = client.post(
        f"{API}/residents-transfers/{transfer['id']}/move-in",
        headers=namerikawa,
        json={
            "effective_on": days(-2).isoformat(),
            "address": {"machiaza_code": MACHIAZA[NAMERIKAWA][0], "banchi": "104番地"},
        },
    )
    assert arrived.status_code == 201, arrived.text
    there = arrived.json()["person_ids"][0]
    acquired = client.get(
        f"{API}/nhi/persons/{there}/qualifications",
        headers=bearer(state, NAMERIKAWA, "nhi_officer"),
    ).json()["qualifications"]
    assert [(q["acquired_on"], q["acquisition_reason"]) for q in acquired] == [
        (days(-2).isoformat(), "move_in")
    ]
    here = only(client, state, pid)
    assert (here["lost_on"], here["loss_reason"]) == (days(-2).isoformat(), "move_out")
    assert [v["lost_on"] for v in here["versions"]] == [
        None,
        planned.isoformat(),
        days(-2).isoformat(),
    ]
