"""取消 of a cover fact recorded by mistake: append-only, reverted qualification, audited, keys."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.uow import UnitOfWork
from nhi.models import CoverageKind
from nhi.service import Qualifications
from tests.helpers import IMIZU, NAMERIKAWA, bearer
from tests.nhi.assessment_support import (
    ACTOR,
    HEAD_BIRTH,
    HEAD_SALARY,
    family_persons,
    history,
    incomes,
    months,
    run,
    salary,
)
from tests.nhi.assessment_support import move_in as move_in_on
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
from tests.resident_records.test_service import _new_env

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
JOINED = ("employee-insurance/joined", {"joined_on": days(-5).isoformat()})
LEFT = ("employee-insurance/left", {"left_on": days(-2).isoformat()})
REASON = "別人の届出を誤って登録したため"


def _resident(client: TestClient, state: Any, lg_code: str = IMIZU) -> str:
    moved = move_in(client, state, [person("太郎", born_years_ago(40), "世帯主")], lg_code=lg_code)
    pid: str = moved["person_ids"][0]
    return pid


def _fact(client: TestClient, state: Any, pid: str, path: str, body: dict[str, str]) -> str:
    response = record_cover(client, state, pid, path, body)
    assert response.status_code == 201, response.text
    fact_id: str = response.json()["recorded"]["id"]
    return fact_id


def cancel(
    client: TestClient,
    state: Any,
    pid: str,
    event_id: str,
    *,
    reason: str = REASON,
    key: str | None = None,
    lg_code: str = IMIZU,
    headers: dict[str, str] | None = None,
) -> Any:
    return record_cover(
        client,
        state,
        pid,
        "coverage/cancellation",
        {"event_id": event_id, "reason": reason},
        key=key,
        lg_code=lg_code,
        headers=headers,
    )


def test_cancelling_a_joining_restores_the_qualification(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    joined = _fact(client, state, pid, *JOINED)
    assert only(client, state, pid)["lost_on"] == days(-4).isoformat()
    response = cancel(client, state, pid, joined)
    assert response.status_code == 201, response.text
    body = response.json()
    (q,) = body["qualifications"]
    assert (q["status"], q["lost_on"], q["loss_reason"]) == ("active", None, None)
    assert q["cause_kind"] == "cancellation" and q["cause_id"] == body["recorded"]["id"]
    assert [v["revision"] for v in q["versions"]] == [1, 2, 3]  # nothing rewritten
    assert body["insured_today"] is True
    # Append-only: the fact stays, marked cancelled; the cancellation names it and says why.
    fact, cancellation = body["coverage"]
    assert (fact["id"], fact["cancelled"]) == (joined, True)
    assert cancellation == body["recorded"]
    assert (cancellation["kind"], cancellation["cancels_id"], cancellation["reason"]) == (
        "cancelled",
        joined,
        REASON,
    )
    assert stored_rows(state, demo[IMIZU], pid) == (3, 2)
    entries = client.get(
        f"{API}/audit", params={"limit": 50}, headers=bearer(state, IMIZU, "supervisor")
    ).json()
    assert any(e["action"] == "nhi.coverage_cancelled" and e["subject_id"] == pid for e in entries)


def test_cancelling_a_leaving_voids_the_acquisition_and_a_new_fact_can_follow(
    client: TestClient, state, demo
) -> None:
    pid = _resident(client, state)
    _fact(client, state, pid, *JOINED)
    left = _fact(client, state, pid, *LEFT)
    body = cancel(client, state, pid, left).json()
    lost, voided = body["qualifications"]
    assert lost["lost_on"] == days(-4).isoformat()
    assert (voided["status"], voided["void_reason"], voided["void_reason_label"]) == (
        "voided",
        "cover_cancelled",
        "社会保険・生活保護の届出の取消",
    )
    assert body["insured_today"] is False
    # The employee insurance is open again: the right date of leaving can be recorded.
    again = record_cover(
        client, state, pid, "employee-insurance/left", {"left_on": days(-1).isoformat()}
    )
    assert again.status_code == 201, again.text
    assert again.json()["qualifications"][-1]["acquired_on"] == days(0).isoformat()


def test_cancelling_a_joining_that_voided_an_acquisition_restores_it(
    client: TestClient, state, demo
) -> None:
    pid = _resident(client, state)  # moved in (and acquired) ten days ago
    joined = _fact(
        client, state, pid, "employee-insurance/joined", {"joined_on": days(-10).isoformat()}
    )
    assert only(client, state, pid)["status"] == "voided"
    body = cancel(client, state, pid, joined).json()
    (q,) = body["qualifications"]
    assert (q["status"], q["void_reason"], q["acquired_on"]) == (
        "active",
        None,
        days(-10).isoformat(),
    )


def test_cancelling_the_start_of_livelihood_assistance_restores_the_qualification(
    client: TestClient, state, demo
) -> None:
    pid = _resident(client, state)
    started = _fact(
        client, state, pid, "livelihood-assistance/started", {"started_on": days(-6).isoformat()}
    )
    (q,) = cancel(client, state, pid, started).json()["qualifications"]
    assert (q["status"], q["lost_on"]) == ("active", None)


REFUSED = [
    pytest.param([], False, lambda ids: str(uuid.uuid4()), "nothing_to_cancel", id="nothing"),
    pytest.param([JOINED, LEFT], False, lambda ids: ids[0], "not_latest", id="not-the-latest"),
    pytest.param([JOINED], True, lambda ids: ids[0], "nothing_to_cancel", id="already-cancelled"),
]


@pytest.mark.parametrize(("setup", "cancelled_first", "target", "code"), REFUSED)
def test_a_refused_cancellation_is_422_in_japanese_and_writes_nothing(
    client: TestClient,
    state,
    demo,
    setup: list[tuple[str, dict[str, str]]],
    cancelled_first: bool,
    target: Callable[[list[str]], str],
    code: str,
) -> None:
    pid = _resident(client, state)
    ids = [_fact(client, state, pid, path, body) for path, body in setup]
    event_id = target(ids)
    if cancelled_first:
        assert cancel(client, state, pid, event_id).status_code == 201
    before = stored_rows(state, demo[IMIZU], pid)
    history_before = qualifications(client, state, pid)
    response = cancel(client, state, pid, event_id)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == code and JAPANESE.search(error["message"])
    (detail,) = error["details"]
    assert (detail["field"], detail["type"]) == ("event_id", code)
    assert stored_rows(state, demo[IMIZU], pid) == before
    assert qualifications(client, state, pid) == history_before


def test_the_reason_is_required(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    joined = _fact(client, state, pid, *JOINED)
    response = cancel(client, state, pid, joined, reason="  ")
    assert response.status_code == 422 and JAPANESE.search(response.json()["message"])
    assert stored_rows(state, demo[IMIZU], pid) == (2, 1)


def test_same_idempotency_key_cancels_once(client: TestClient, state, demo) -> None:
    pid = _resident(client, state)
    joined = _fact(client, state, pid, *JOINED)
    key = f"nhi-{uuid.uuid4()}"
    officer = bearer(state, IMIZU, "nhi_officer")  # one caller: a key is per principal
    first = cancel(client, state, pid, joined, key=key, headers=officer)
    second = cancel(client, state, pid, joined, key=key, headers=officer)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()
    assert stored_rows(state, demo[IMIZU], pid) == (3, 2)


def test_another_municipalitys_person_is_404(client: TestClient, state, demo) -> None:
    theirs = _resident(client, state, lg_code=NAMERIKAWA)
    response = record_cover(client, state, theirs, *JOINED, lg_code=NAMERIKAWA)
    joined = response.json()["recorded"]["id"]
    before = stored_rows(state, demo[NAMERIKAWA], theirs)
    refused = cancel(client, state, theirs, joined)
    assert refused.status_code == 404 and refused.json()["code"] == "resident_not_found"
    assert stored_rows(state, demo[NAMERIKAWA], theirs) == before


def test_a_cancellation_corrects_the_assessed_premium(state: Any) -> None:
    env = _new_env(state)
    moved = move_in_on(env, family_persons(), dt.date(2025, 4, 1))
    incomes(env, [salary(env, moved.person_ids[0], HEAD_BIRTH, HEAD_SALARY)])
    run(env)
    wife = moved.person_ids[1]

    def in_one_transaction(action: Any) -> Any:
        with UnitOfWork(env.state.session_factory, env.state.bus) as uow:
            uow.set_tenant(env.ctx)
            result = action(Qualifications(uow.session, ACTOR, uow.publish))
            uow.commit()
        return result

    joined = in_one_transaction(
        lambda q: q.record_cover(wife, CoverageKind.EMPLOYEE_INSURANCE_JOINED, dt.date(2026, 8, 20))
    )
    in_one_transaction(lambda q: q.cancel_cover(wife, joined.fact.id, REASON))
    rows = history(env, moved.household_ids[0])
    assert [r.reason for r in rows] == ["initial", "correction", "correction"]
    # April–July after the joining; the whole year again once it is withdrawn.
    assert [months(r) for r in rows] == [[12, 12, 12], [12, 4, 12], [12, 12, 12]]
    assert rows[2].total == rows[0].total
