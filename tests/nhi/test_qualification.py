"""NHI staff endpoints: employee insurance and livelihood assistance, reads, bad input, keys."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
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


def _resident(client: TestClient, state: Any, years: int = 40, lg_code: str = IMIZU) -> str:
    moved = move_in(
        client, state, [person("太郎", born_years_ago(years), "世帯主")], lg_code=lg_code
    )
    pid: str = moved["person_ids"][0]
    return pid


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_joining_employee_insurance_ends_nhi_the_day_after(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    body = _ok(
        record_cover(
            client,
            state,
            pid,
            "employee-insurance/joined",
            {"joined_on": days(-5).isoformat(), "insurer_name": "全国健康保険協会富山支部"},
        )
    )
    assert body["recorded"]["kind"] == "employee_insurance_joined"
    assert body["recorded"]["insurer_name"] == "全国健康保険協会富山支部"
    (q,) = body["qualifications"]
    assert (q["lost_on"], q["loss_reason"], q["loss_reason_label"]) == (
        days(-4).isoformat(),
        "joined_employee_insurance",
        "社会保険加入",
    )
    assert q["cause_kind"] == "coverage" and q["cause_id"] == body["recorded"]["id"]
    assert body["insured_today"] is False


def test_employee_insurance_from_before_the_acquisition_voids_it(
    client: TestClient, state, demo
) -> None:
    pid = _resident(client, state)  # moved in ten days ago, acquired then
    _ok(
        record_cover(
            client, state, pid, "employee-insurance/joined", {"joined_on": days(-10).isoformat()}
        )
    )
    q = only(client, state, pid)
    assert (q["status"], q["void_reason"]) == ("voided", "employee_insurance")
    assert [v["status"] for v in q["versions"]] == ["active", "voided"]
    assert q["acquired_on"] == days(-10).isoformat()  # kept visible as voided


def test_leaving_employee_insurance_acquires_the_day_after(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    _ok(
        record_cover(
            client, state, pid, "employee-insurance/joined", {"joined_on": days(-300).isoformat()}
        )
    )
    body = _ok(
        record_cover(
            client, state, pid, "employee-insurance/left", {"left_on": days(-3).isoformat()}
        )
    )
    voided, acquired = body["qualifications"]
    assert voided["status"] == "voided"
    assert (acquired["status"], acquired["acquired_on"], acquired["acquisition_reason"]) == (
        "active",
        days(-2).isoformat(),
        "left_employee_insurance",
    )
    assert acquired["acquisition_reason_label"] == "社会保険離脱"
    assert body["insured_today"] is True
    assert [c["kind"] for c in body["coverage"]] == [
        "employee_insurance_joined",
        "employee_insurance_left",
    ]


def test_livelihood_assistance_ends_on_the_start_and_acquires_on_the_end(
    client: TestClient, state, demo
) -> None:
    pid = _resident(client, state)
    started = _ok(
        record_cover(
            client,
            state,
            pid,
            "livelihood-assistance/started",
            {"started_on": days(-6).isoformat()},
        )
    )
    (q,) = started["qualifications"]
    assert (q["lost_on"], q["loss_reason"]) == (days(-6).isoformat(), "livelihood_assistance")
    ended = _ok(
        record_cover(
            client, state, pid, "livelihood-assistance/ended", {"ended_on": days(-2).isoformat()}
        )
    )
    first, second = ended["qualifications"]
    assert first["lost_on"] == days(-6).isoformat()
    assert (second["acquired_on"], second["acquisition_reason"]) == (
        days(-2).isoformat(),
        "left_livelihood_assistance",
    )


def test_leaving_employee_insurance_at_75_acquires_nothing(client: TestClient, state, demo) -> None:
    pid = _resident(client, state, years=80)
    assert qualifications(client, state, pid)["qualifications"] == []
    _ok(
        record_cover(
            client, state, pid, "employee-insurance/joined", {"joined_on": days(-900).isoformat()}
        )
    )
    body = _ok(
        record_cover(
            client, state, pid, "employee-insurance/left", {"left_on": days(-1).isoformat()}
        )
    )
    assert body["qualifications"] == [] and body["insured_today"] is False


def test_reading_the_history_is_audited(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    qualifications(client, state, pid)
    entries = client.get(
        f"{API}/audit", params={"limit": 50}, headers=bearer(state, IMIZU, "supervisor")
    ).json()
    assert any(e["action"] == "nhi.qualification_read" and e["subject_id"] == pid for e in entries)


def test_only_nhi_staff_may_use_the_routes(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    clerk = bearer(state, IMIZU, "clerk")
    read = client.get(f"{API}/nhi/persons/{pid}/qualifications", headers=clerk)
    assert read.status_code == 403 and read.json()["code"] == "forbidden"
    write = client.post(
        f"{API}/nhi/persons/{pid}/employee-insurance/joined",
        json={"joined_on": days(-1).isoformat()},
        headers=clerk,
    )
    assert write.status_code == 403
    assert stored_rows(state, demo[IMIZU], pid) == (1, 0)


BAD_INPUT = [
    pytest.param(
        [],
        "employee-insurance/joined",
        {"joined_on": days(1).isoformat()},
        "future_date",
        id="future",
    ),
    pytest.param(
        [],
        "livelihood-assistance/started",
        {"started_on": born_years_ago(40, plus_days=-1).isoformat()},
        "before_birth",
        id="before-birth",
    ),
    pytest.param(
        [("employee-insurance/joined", {"joined_on": days(-20).isoformat()})],
        "employee-insurance/joined",
        {"joined_on": days(-5).isoformat()},
        "overlapping_period",
        id="overlapping-open",
    ),
    pytest.param(
        [
            ("employee-insurance/joined", {"joined_on": days(-20).isoformat()}),
            ("employee-insurance/left", {"left_on": days(-8).isoformat()}),
        ],
        "employee-insurance/joined",
        {"joined_on": days(-8).isoformat()},
        "overlapping_period",
        id="overlapping-closed",
    ),
    pytest.param(
        [],
        "employee-insurance/left",
        {"left_on": days(-2).isoformat()},
        "no_open_period",
        id="left-without-joined",
    ),
    pytest.param(
        [("livelihood-assistance/started", {"started_on": days(-4).isoformat()})],
        "livelihood-assistance/ended",
        {"ended_on": days(-4).isoformat()},
        "end_before_start",
        id="ended-on-start",
    ),
]


@pytest.mark.parametrize(("setup", "path", "body", "code"), BAD_INPUT)
def test_bad_dates_are_refused_in_japanese_and_write_nothing(
    client: TestClient,
    state,
    demo,
    setup: list[tuple[str, dict[str, str]]],
    path: str,
    body: dict[str, str],
    code: str,
) -> None:
    pid = _resident(client, state)
    for step_path, step_body in setup:
        _ok(record_cover(client, state, pid, step_path, step_body))
    before = stored_rows(state, demo[IMIZU], pid)
    history = qualifications(client, state, pid)
    response = record_cover(client, state, pid, path, body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == code
    assert JAPANESE.search(error["message"])
    (detail,) = error["details"]
    assert detail["field"] == next(iter(body)) and detail["type"] == code
    assert JAPANESE.search(detail["message"])
    assert stored_rows(state, demo[IMIZU], pid) == before
    assert qualifications(client, state, pid) == history


def test_malformed_body_is_refused_in_japanese(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    response = record_cover(
        client, state, pid, "employee-insurance/joined", {"joined_on": "令和の初め", "x": 1}
    )
    assert response.status_code == 422
    assert JAPANESE.search(response.json()["message"])
    assert stored_rows(state, demo[IMIZU], pid) == (1, 0)


def test_same_idempotency_key_records_once(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    key = f"nhi-{uuid.uuid4()}"
    body = {"joined_on": days(-3).isoformat()}
    officer = bearer(state, IMIZU, "nhi_officer")
    first = record_cover(
        client, state, pid, "employee-insurance/joined", body, key=key, headers=officer
    )
    second = record_cover(
        client, state, pid, "employee-insurance/joined", body, key=key, headers=officer
    )
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()
    assert stored_rows(state, demo[IMIZU], pid) == (2, 1)  # acquisition + loss; one fact
    reused = record_cover(
        client,
        state,
        pid,
        "employee-insurance/joined",
        {"joined_on": days(-2).isoformat()},
        key=key,
        headers=officer,
    )
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"


ROUTES = [
    ("GET", "qualifications", None),
    ("POST", "employee-insurance/joined", {"joined_on": days(-1).isoformat()}),
    ("POST", "employee-insurance/left", {"left_on": days(-1).isoformat()}),
    ("POST", "livelihood-assistance/started", {"started_on": days(-1).isoformat()}),
    ("POST", "livelihood-assistance/ended", {"ended_on": days(-1).isoformat()}),
]


def test_another_municipalitys_person_is_404_on_every_route(
    client: TestClient, state, demo
) -> None:
    theirs = _resident(client, state, lg_code=NAMERIKAWA)
    officer = bearer(state, IMIZU, "nhi_officer")
    before = stored_rows(state, demo[NAMERIKAWA], theirs)
    for method, path, body in ROUTES:
        response = client.request(
            method, f"{API}/nhi/persons/{theirs}/{path}", json=body, headers=officer
        )
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "resident_not_found"
    assert stored_rows(state, demo[NAMERIKAWA], theirs) == before
    unknown = client.get(f"{API}/nhi/households/{uuid.uuid4()}", headers=officer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "household_not_found"


def test_acquisition_after_a_notified_move_out_ends_on_the_move_out(
    client: TestClient, state, demo
) -> None:
    moved = move_in(client, state, [person("太郎", born_years_ago(40), "世帯主")], on=days(-60))
    pid = moved["person_ids"][0]
    _ok(
        record_cover(
            client, state, pid, "employee-insurance/joined", {"joined_on": days(-30).isoformat()}
        )
    )
    clerk = bearer(state, IMIZU, "clerk")
    hid = moved["household_ids"][0]
    version = client.get(f"{API}/households/{hid}", headers=clerk).json()["version"]
    out = client.post(
        f"{API}/residents/move-out",
        json={
            "effective_on": days(7).isoformat(),
            "person_ids": [pid],
            "household": {"household_id": hid, "version": version},
            "destination_address": "石川県金沢市広坂1丁目1番1号",
        },
        headers=clerk,
    )
    assert out.status_code == 201, out.text
    body = _ok(
        record_cover(
            client, state, pid, "employee-insurance/left", {"left_on": days(-1).isoformat()}
        )
    )
    first, second = body["qualifications"]
    assert first["lost_on"] == days(-29).isoformat()
    assert (second["acquired_on"], second["lost_on"], second["loss_reason"]) == (
        days(0).isoformat(),
        days(7).isoformat(),
        "move_out",
    )
