"""Cross-tenant cases for the NHI qualification routes (used by the isolation test).

Each case makes an insured resident in 滑川市, shows that 射水市's NHI staff get 404 for them
(and change nothing, read nothing into 滑川市's audit chain), and shows the same route works for
射水市's own resident.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient

from core import audit
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from nhi.assessment_service import assess_year
from tenancy import repository as tenancy_repo
from tenancy.parameters import TenantParameters
from tests.helpers import IMIZU, NAMERIKAWA, bearer
from tests.nhi.premium_support import rates
from tests.nhi.qualification_support import (
    born_years_ago,
    days,
    move_in,
    person,
    record_cover,
    stored_rows,
)

API = "/api/v1"
PERSON = f"{API}/nhi/persons/{{person_id}}"
HOUSEHOLD = f"{API}/nhi/households/{{household_id}}"


def _insured(client: TestClient, state: Any, lg_code: str) -> dict[str, Any]:
    """An NHI-insured resident of ``lg_code`` (moved in at the counter); the move-in result."""
    return move_in(
        client,
        state,
        [
            person(
                "分離", born_years_ago(42), "世帯主", family_name="分離", family_name_kana="ブンリ"
            )
        ],
        lg_code=lg_code,
    )


def _audit_subjects(client: TestClient, state: Any, lg_code: str) -> set[tuple[str, str]]:
    response = client.get(
        f"{API}/audit", params={"limit": 500}, headers=bearer(state, lg_code, "supervisor")
    )
    assert response.status_code == 200, response.text
    return {(e["action"], e["subject_id"]) for e in response.json() if e["subject_id"]}


def _assert_404(response: Any, code: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["code"] == code
    assert "分離" not in response.text


def case_get_qualifications(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs = _insured(client, state, NAMERIKAWA)["person_ids"][0]
    own = _insured(client, state, IMIZU)["person_ids"][0]
    officer = bearer(state, IMIZU, "nhi_officer")
    ok = client.get(f"{API}/nhi/persons/{own}/qualifications", headers=officer)
    assert ok.status_code == 200 and len(ok.json()["qualifications"]) == 1
    _assert_404(
        client.get(f"{API}/nhi/persons/{theirs}/qualifications", headers=officer),
        "resident_not_found",
    )
    assert ("nhi.qualification_read", theirs) not in _audit_subjects(client, state, NAMERIKAWA)
    mine = client.get(
        f"{API}/nhi/persons/{theirs}/qualifications",
        headers=bearer(state, NAMERIKAWA, "nhi_officer"),
    )
    assert mine.status_code == 200 and mine.json()["qualifications"][0]["status"] == "active"


def _write_case(path: str, body: dict[str, str], setup: list[tuple[str, dict[str, str]]]) -> Any:
    def case(client: TestClient, state: Any, database: Any, demo: Any) -> None:
        theirs = _insured(client, state, NAMERIKAWA)["person_ids"][0]
        own = _insured(client, state, IMIZU)["person_ids"][0]
        for step_path, step_body in setup:
            made = record_cover(client, state, theirs, step_path, step_body, lg_code=NAMERIKAWA)
            assert made.status_code == 201, made.text
            assert record_cover(client, state, own, step_path, step_body).status_code == 201
        before = stored_rows(state, demo[NAMERIKAWA], theirs)
        response = record_cover(client, state, theirs, path, body)
        _assert_404(response, "resident_not_found")
        # Nothing written in either municipality, nothing in 滑川市's chain.
        assert stored_rows(state, demo[NAMERIKAWA], theirs) == before
        assert stored_rows(state, demo[IMIZU], theirs) == (0, 0)
        action = f"nhi.{path.replace('-', '_').replace('/', '_')}"
        assert (action, theirs) not in _audit_subjects(client, state, NAMERIKAWA)
        # Control: the same route for 射水市's own resident.
        ok = record_cover(client, state, own, path, body)
        assert ok.status_code == 201, ok.text

    return case


JOINED = ("employee-insurance/joined", {"joined_on": days(-30).isoformat()})
STARTED = ("livelihood-assistance/started", {"started_on": days(-30).isoformat()})

CASES: dict[tuple[str, str], Callable[..., None]] = {
    ("GET", f"{PERSON}/qualifications"): case_get_qualifications,
    ("POST", f"{PERSON}/employee-insurance/joined"): _write_case(
        "employee-insurance/joined", {"joined_on": days(-1).isoformat()}, []
    ),
    ("POST", f"{PERSON}/employee-insurance/left"): _write_case(
        "employee-insurance/left", {"left_on": days(-1).isoformat()}, [JOINED]
    ),
    ("POST", f"{PERSON}/livelihood-assistance/started"): _write_case(
        "livelihood-assistance/started", {"started_on": days(-1).isoformat()}, []
    ),
    ("POST", f"{PERSON}/livelihood-assistance/ended"): _write_case(
        "livelihood-assistance/ended", {"ended_on": days(-1).isoformat()}, [STARTED]
    ),
}


def case_cancel_coverage(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    """取消 of a fact: 射水市 cannot withdraw 滑川市's fact, even when naming its id."""
    theirs = _insured(client, state, NAMERIKAWA)["person_ids"][0]
    own = _insured(client, state, IMIZU)["person_ids"][0]
    made = record_cover(client, state, theirs, *JOINED, lg_code=NAMERIKAWA)
    assert made.status_code == 201, made.text
    mine = record_cover(client, state, own, *JOINED)
    assert mine.status_code == 201, mine.text
    before = stored_rows(state, demo[NAMERIKAWA], theirs)
    body = {"event_id": made.json()["recorded"]["id"], "reason": "入力誤り"}
    _assert_404(
        record_cover(client, state, theirs, "coverage/cancellation", body), "resident_not_found"
    )
    assert stored_rows(state, demo[NAMERIKAWA], theirs) == before
    assert stored_rows(state, demo[IMIZU], theirs) == (0, 0)
    assert ("nhi.coverage_cancelled", theirs) not in _audit_subjects(client, state, NAMERIKAWA)
    own_body = {"event_id": mine.json()["recorded"]["id"], "reason": "入力誤り"}
    ok = record_cover(client, state, own, "coverage/cancellation", own_body)
    assert ok.status_code == 201, ok.text


CASES[("POST", f"{PERSON}/coverage/cancellation")] = case_cancel_coverage


def case_get_household(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs = _insured(client, state, NAMERIKAWA)["household_ids"][0]
    own = _insured(client, state, IMIZU)["household_ids"][0]
    officer = bearer(state, IMIZU, "nhi_officer")
    ok = client.get(f"{API}/nhi/households/{own}", headers=officer)
    assert ok.status_code == 200 and ok.json()["insured_count"] == 1
    _assert_404(
        client.get(f"{API}/nhi/households/{theirs}", headers=officer), "household_not_found"
    )
    assert ("nhi.household_read", theirs) not in _audit_subjects(client, state, NAMERIKAWA)
    mine = client.get(
        f"{API}/nhi/households/{theirs}", headers=bearer(state, NAMERIKAWA, "nhi_officer")
    )
    assert mine.status_code == 200 and mine.json()["head_insured"] is True


CASES[("GET", HOUSEHOLD)] = case_get_household

ASSESSED_YEAR = 2026


def _assess(state: Any, tenant_id: int) -> None:
    """The annual NHI assessment of one municipality (as ``jichitai nhi assess`` runs it)."""
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        assess_year(
            uow.session,
            ASSESSED_YEAR,
            TenantParameters(nhi=rates(ASSESSED_YEAR)),
            audit.Actor("staff", "isolation"),
        )


def case_get_assessments(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs = _insured(client, state, NAMERIKAWA)["household_ids"][0]
    own = _insured(client, state, IMIZU)["household_ids"][0]
    _assess(state, demo[NAMERIKAWA])
    _assess(state, demo[IMIZU])
    url = f"{HOUSEHOLD}/assessments?fiscal_year={ASSESSED_YEAR}"
    officer = bearer(state, IMIZU, "nhi_officer")
    ok = client.get(url.format(household_id=own), headers=officer)
    assert ok.status_code == 200, ok.text
    assert ok.json()["revisions"][0]["total"] == ok.json()["breakdown"]["total"] > 0
    _assert_404(
        client.get(url.format(household_id=theirs), headers=officer), "nhi_assessment_not_found"
    )
    assert ("nhi.assessment_read", theirs) not in _audit_subjects(client, state, NAMERIKAWA)
    mine = client.get(
        url.format(household_id=theirs), headers=bearer(state, NAMERIKAWA, "nhi_officer")
    )
    assert mine.status_code == 200 and mine.json()["revisions"][0]["reason"] == "initial"


CASES[("GET", f"{HOUSEHOLD}/assessments")] = case_get_assessments

# A role of the caller's own municipality that may not use the route: NHI routes are for NHI staff.
UNPRIVILEGED: dict[tuple[str, str], str] = dict.fromkeys(CASES, "clerk")
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", f"{PERSON}/employee-insurance/joined"): {"joined_on": days(-1).isoformat()},
    ("POST", f"{PERSON}/employee-insurance/left"): {"left_on": days(-1).isoformat()},
    ("POST", f"{PERSON}/livelihood-assistance/started"): {"started_on": days(-1).isoformat()},
    ("POST", f"{PERSON}/livelihood-assistance/ended"): {"ended_on": days(-1).isoformat()},
    ("POST", f"{PERSON}/coverage/cancellation"): {"event_id": str(uuid4()), "reason": "入力誤り"},
}
SEEDED_TABLES = (
    "nhi_coverage_events",
    "nhi_qualification_versions",
    "nhi_assessment_runs",
    "nhi_assessments",
    "nhi_assessment_members",
)


def seed_namerikawa(client: TestClient, state: Any) -> None:
    """Give 滑川市 a row in every NHI table, so that "射水市 sees none of them" is not vacuous."""
    pid = _insured(client, state, NAMERIKAWA)["person_ids"][0]
    joined = record_cover(client, state, pid, *JOINED, lg_code=NAMERIKAWA)
    assert joined.status_code == 201, joined.text
    # A household still insured, assessed: rows in the assessment tables too.
    _insured(client, state, NAMERIKAWA)
    with UnitOfWork(state.session_factory) as uow:
        municipality = tenancy_repo.municipality_by_code(uow.session, NAMERIKAWA)
        assert municipality is not None
        tenant_id = municipality.id
    _assess(state, tenant_id)
