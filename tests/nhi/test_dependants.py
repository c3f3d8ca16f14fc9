"""被扶養者: dependants recorded with the employee leave or join NHI with them, all or nothing."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import IMIZU, NAMERIKAWA
from tests.nhi.qualification_support import (
    born_years_ago,
    days,
    move_in,
    only,
    person,
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
    assert [d["person_id"] for d in body["dependants"]] == [wife, child]
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
