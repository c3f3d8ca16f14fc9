"""被扶養者: dependants recorded with the employee leave or join NHI with them, all or nothing."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import IMIZU, NAMERIKAWA, bearer
from tests.nhi.qualification_support import (
    API,
    born_years_ago,
    days,
    move_in,
    only,
    person,
    qualifications,
    record_cover,
    stored_rows,
)

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _family(client: TestClient, state: Any, lg_code: str = IMIZU, moved_in: int = -10) -> list[str]:
    """A head, a wife and a child moved in ``moved_in`` days from today: all three insured."""
    moved = move_in(
        client,
        state,
        [
            person("太郎", born_years_ago(40), "世帯主"),
            person("花子", born_years_ago(38), "妻", sex="female"),
            person("一郎", born_years_ago(8), "子"),
        ],
        on=days(moved_in),
        lg_code=lg_code,
    )
    ids: list[str] = moved["person_ids"]
    return ids


def _joined(client: TestClient, state: Any, head: str, dependants: list[str], on: int) -> Any:
    return record_cover(
        client,
        state,
        head,
        "employee-insurance/joined",
        {"joined_on": days(on).isoformat(), "dependants": dependants},
    )


def test_dependants_lose_nhi_with_the_employee_joining(client: TestClient, state, demo) -> None:
    head, wife, child = _family(client, state)
    response = _joined(client, state, head, [wife, child], -5)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["recorded"]["kind"] == "employee_insurance_joined"
    assert sorted(d["person_id"] for d in body["dependants"]) == sorted([wife, child])
    for d in body["dependants"]:
        assert d["recorded"]["kind"] == "employee_insurance_joined"
        assert d["recorded"]["occurred_on"] == days(-5).isoformat()
        (q,) = d["qualifications"]
        assert (q["lost_on"], q["loss_reason"]) == (
            days(-4).isoformat(),
            "joined_employee_insurance",
        )
        assert d["insured_today"] is False
    for pid in (head, wife, child):
        assert only(client, state, pid)["lost_on"] == days(-4).isoformat()
        assert stored_rows(state, demo[IMIZU], pid) == (2, 1)


def test_dependants_join_nhi_with_the_employee_leaving(client: TestClient, state, demo) -> None:
    head, wife, child = _family(client, state, moved_in=-400)
    assert _joined(client, state, head, [wife, child], -300).status_code == 201
    response = record_cover(
        client,
        state,
        head,
        "employee-insurance/left",
        {"left_on": days(-3).isoformat(), "dependants": [wife, child]},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    for state_of in (body, *body["dependants"]):
        lost, acquired = state_of["qualifications"]
        assert (lost["lost_on"], lost["loss_reason"]) == (
            days(-299).isoformat(),
            "joined_employee_insurance",
        )
        assert (acquired["acquired_on"], acquired["acquisition_reason"]) == (
            days(-2).isoformat(),
            "left_employee_insurance",
        )
        assert state_of["insured_today"] is True
        assert [c["kind"] for c in state_of["coverage"]] == [
            "employee_insurance_joined",
            "employee_insurance_left",
        ]


def test_a_dependant_of_another_household_refuses_everything(
    client: TestClient, state, demo
) -> None:
    head, wife, child = _family(client, state)
    (neighbour, *_) = _family(client, state)
    (elsewhere, *_) = _family(client, state, lg_code=NAMERIKAWA)
    people = [(IMIZU, p) for p in (head, wife, child, neighbour)] + [(NAMERIKAWA, elsewhere)]
    before = {p: stored_rows(state, demo[lg], p) for lg, p in people}
    response = _joined(client, state, head, [wife, neighbour, elsewhere, wife], -5)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "invalid_dependant" and JAPANESE.search(error["message"])
    assert [(d["field"], d["type"]) for d in error["details"]] == [
        ("dependants.1", "not_household_member"),
        ("dependants.2", "not_household_member"),  # another municipality's: no 404, no hint
        ("dependants.3", "duplicate_dependant"),
    ]
    assert error["details"][0]["message"].startswith(f"2人目の被扶養者（{neighbour}）")
    assert all(JAPANESE.search(d["message"]) for d in error["details"])
    # All or nothing: neither the employee nor the valid dependant has anything new.
    assert {p: stored_rows(state, demo[lg], p) for lg, p in people} == before


def test_a_dependant_who_cannot_take_the_fact_refuses_everything(
    client: TestClient, state, demo
) -> None:
    head, wife, child = _family(client, state, moved_in=-400)
    assert _joined(client, state, head, [wife], -300).status_code == 201
    before = {p: stored_rows(state, demo[IMIZU], p) for p in (head, wife, child)}
    # The child was never recorded as joining: there is nothing for them to leave.
    response = record_cover(
        client,
        state,
        head,
        "employee-insurance/left",
        {"left_on": days(-3).isoformat(), "dependants": [wife, child]},
    )
    assert response.status_code == 422, response.text
    (detail,) = response.json()["details"]
    assert (detail["field"], detail["type"]) == ("dependants.1", "no_open_period")
    assert detail["message"].startswith(f"2人目の被扶養者（{child}）")
    assert {p: stored_rows(state, demo[IMIZU], p) for p in (head, wife, child)} == before


# --- 取消 of an employee's fact takes the dependants' facts recorded with it -----------------

REASON = "別の方の届出を誤って登録したため"


def _cancel(client: TestClient, state: Any, pid: str, event_id: str) -> Any:
    return record_cover(
        client, state, pid, "coverage/cancellation", {"event_id": event_id, "reason": REASON}
    )


def test_cancelling_the_employees_fact_cancels_the_dependants_too(
    client: TestClient, state, demo
) -> None:
    head, wife, child = _family(client, state)
    (neighbour, *_) = _family(client, state)
    joined = _joined(client, state, head, [wife, child], -5).json()
    # Another recording of the same fact on the same day is not linked to the family's.
    assert _joined(client, state, neighbour, [], -5).status_code == 201
    neighbour_before = stored_rows(state, demo[IMIZU], neighbour)
    response = _cancel(client, state, head, joined["recorded"]["id"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["recorded"]["cancels_id"] == joined["recorded"]["id"]
    assert sorted(d["person_id"] for d in body["dependants"]) == sorted([wife, child])
    facts = {j["person_id"]: j["recorded"]["id"] for j in joined["dependants"]}
    for d in body["dependants"]:
        assert (d["recorded"]["kind"], d["recorded"]["reason"]) == ("cancelled", REASON)
        assert d["recorded"]["cancels_id"] == facts[d["person_id"]]
        (q,) = d["qualifications"]
        assert (q["status"], q["lost_on"], q["cause_kind"]) == ("active", None, "cancellation")
        assert q["cause_id"] == d["recorded"]["id"]
        assert d["insured_today"] is True
        assert [c["cancelled"] for c in d["coverage"]] == [True, False]
    for pid in (head, wife, child):
        q = only(client, state, pid)
        assert (q["status"], q["lost_on"], q["loss_reason"]) == ("active", None, None)
        assert stored_rows(state, demo[IMIZU], pid) == (3, 2)
    assert only(client, state, neighbour)["lost_on"] == days(-4).isoformat()
    assert stored_rows(state, demo[IMIZU], neighbour) == neighbour_before
    entries = client.get(
        f"{API}/audit", params={"limit": 50}, headers=bearer(state, IMIZU, "supervisor")
    ).json()
    cancelled = {
        e["subject_id"]: e["details"]
        for e in entries
        if e["action"] == "nhi.coverage_cancelled" and e["subject_id"] in {head, wife, child}
    }
    assert set(cancelled) == {head, wife, child}
    assert "dependant_of" not in cancelled[head]
    assert cancelled[wife]["dependant_of"] == cancelled[child]["dependant_of"] == head


def test_a_dependant_with_a_later_fact_refuses_the_whole_cancellation(
    client: TestClient, state, demo
) -> None:
    head, wife, child = _family(client, state, moved_in=-400)
    joined = _joined(client, state, head, [wife, child], -300).json()
    left = record_cover(
        client, state, child, "employee-insurance/left", {"left_on": days(-3).isoformat()}
    )
    assert left.status_code == 201, left.text
    before = {p: stored_rows(state, demo[IMIZU], p) for p in (head, wife, child)}
    history_before = {p: qualifications(client, state, p) for p in (head, wife, child)}
    response = _cancel(client, state, head, joined["recorded"]["id"])
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "dependant_not_latest" and JAPANESE.search(error["message"])
    (detail,) = error["details"]
    assert (detail["field"], detail["type"]) == ("event_id", "dependant_not_latest")
    assert detail["message"].startswith(f"被扶養者（{child}）")
    assert days(-3).isoformat() in detail["message"]
    assert {p: stored_rows(state, demo[IMIZU], p) for p in (head, wife, child)} == before
    assert {p: qualifications(client, state, p) for p in (head, wife, child)} == history_before


def test_cancelling_a_dependants_own_fact_leaves_the_employee(
    client: TestClient, state, demo
) -> None:
    head, wife, child = _family(client, state)
    joined = _joined(client, state, head, [wife, child], -5).json()
    wifes = joined["dependants"][0]["recorded"]["id"]
    response = _cancel(client, state, wife, wifes)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dependants"] == []
    assert body["recorded"]["cancels_id"] == wifes
    assert only(client, state, wife)["lost_on"] is None
    for pid in (head, child):
        assert only(client, state, pid)["lost_on"] == days(-4).isoformat()
        assert stored_rows(state, demo[IMIZU], pid) == (2, 1)
    # The employee's 取消 afterwards takes the child's fact; the wife's is already withdrawn.
    later = _cancel(client, state, head, joined["recorded"]["id"])
    assert later.status_code == 201, later.text
    assert [d["person_id"] for d in later.json()["dependants"]] == [child]
    assert stored_rows(state, demo[IMIZU], wife) == (3, 2)
    for pid in (head, child):
        assert only(client, state, pid)["lost_on"] is None
        assert stored_rows(state, demo[IMIZU], pid) == (3, 2)


def test_a_livelihood_assistance_cancellation_lists_no_dependants(
    client: TestClient, state, demo
) -> None:
    head, wife, _child = _family(client, state)
    body = {"started_on": days(-6).isoformat()}
    started = [
        record_cover(client, state, pid, "livelihood-assistance/started", body).json()
        for pid in (head, wife)
    ]
    response = _cancel(client, state, head, started[0]["recorded"]["id"])
    assert response.status_code == 201, response.text
    assert response.json()["dependants"] == []
    assert only(client, state, wife)["lost_on"] == days(-6).isoformat()
