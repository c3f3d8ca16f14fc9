"""Cross-tenant cases for the register's id-addressed routes (used by the isolation test).

Each case makes a record in 滑川市, shows that 射水市 staff with the right role get 404 for it
(and change nothing), and shows the same route works for 射水市's own record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer

API = "/api/v1"
TODAY = dt.date.today()
_MACHIAZA = {
    IMIZU: ("162116-T001", "試験町", "シケンマチ"),
    NAMERIKAWA: ("162060-T001", "試験町", "シケンマチ"),
}


def _resident(client: TestClient, state: Any, lg_code: str, kana: str = "ブンリ") -> dict[str, Any]:
    """Move a household of two into ``lg_code``; returns the event result."""
    add_machiaza(state, lg_code, [_MACHIAZA[lg_code]])
    body = {
        "effective_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "persons": [
            {
                "family_name": "分離",
                "given_name": "試験",
                "family_name_kana": kana,
                "given_name_kana": "シケン",
                "birth_date": "昭和60年1月1日",
                "sex": "female",
                "relationship": "世帯主",
            },
            {
                "family_name": "分離",
                "given_name": "次郎",
                "family_name_kana": kana,
                "given_name_kana": "ジロウ",
                "birth_date": "平成25年1月1日",
                "sex": "male",
                "relationship": "子",
            },
        ],
        "address": {"machiaza_code": _MACHIAZA[lg_code][0], "banchi": "1番地"},
        "previous_address": "東京都千代田区霞が関2丁目1番2号",
    }
    response = client.post(
        f"{API}/residents/move-in", json=body, headers=bearer(state, lg_code, "clerk")
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _get_404(client: TestClient, url: str, headers: dict[str, str], code: str) -> None:
    response = client.get(url, headers=headers)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == code
    assert "分離" not in response.text


def case_get_resident(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _resident(client, state, NAMERIKAWA), _resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    assert client.get(f"{API}/residents/{own['person_ids'][0]}", headers=clerk).status_code == 200
    _get_404(client, f"{API}/residents/{theirs['person_ids'][0]}", clerk, "resident_not_found")


def case_get_history(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _resident(client, state, NAMERIKAWA), _resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    ok = client.get(f"{API}/residents/{own['person_ids'][0]}/history", headers=clerk)
    assert ok.status_code == 200
    _get_404(
        client, f"{API}/residents/{theirs['person_ids'][0]}/history", clerk, "resident_not_found"
    )


def case_get_household(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _resident(client, state, NAMERIKAWA), _resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    ok = client.get(f"{API}/households/{own['household_ids'][0]}", headers=clerk)
    assert ok.status_code == 200
    _get_404(client, f"{API}/households/{theirs['household_ids'][0]}", clerk, "household_not_found")


def case_get_protection(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _resident(client, state, NAMERIKAWA), _resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    ok = client.get(f"{API}/residents/{own['person_ids'][0]}/protection", headers=clerk)
    assert ok.status_code == 200
    _get_404(
        client, f"{API}/residents/{theirs['person_ids'][0]}/protection", clerk, "resident_not_found"
    )


def case_start_protection(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _resident(client, state, NAMERIKAWA), _resident(client, state, IMIZU)
    sup = bearer(state, IMIZU, "supervisor")
    body = {"category": "DV", "started_on": TODAY.isoformat()}
    ok = client.post(f"{API}/residents/{own['person_ids'][0]}/protection", json=body, headers=sup)
    assert ok.status_code == 201, ok.text
    response = client.post(
        f"{API}/residents/{theirs['person_ids'][0]}/protection", json=body, headers=sup
    )
    assert response.status_code == 404
    listed = client.get(
        f"{API}/residents/{theirs['person_ids'][0]}/protection",
        headers=bearer(state, NAMERIKAWA, "clerk"),
    ).json()
    assert listed == []


def _their_measure(client: TestClient, state: Any) -> tuple[dict[str, Any], str]:
    theirs = _resident(client, state, NAMERIKAWA)
    pid = theirs["person_ids"][0]
    made = client.post(
        f"{API}/residents/{pid}/protection",
        json={"category": "DV", "started_on": TODAY.isoformat()},
        headers=bearer(state, NAMERIKAWA, "supervisor"),
    )
    assert made.status_code == 201, made.text
    return made.json(), pid


def _measure_case(action: str) -> Callable[..., None]:
    def case(client: TestClient, state: Any, database: Any, demo: Any) -> None:
        measure, pid = _their_measure(client, state)
        sup = bearer(state, IMIZU, "supervisor")
        response = client.post(
            f"{API}/protection-measures/{measure['id']}/{action}",
            json={"version": measure["version"]},
            headers=sup,
        )
        assert response.status_code == 404
        assert response.json()["code"] == "measure_not_found"
        after = client.get(
            f"{API}/residents/{pid}/protection", headers=bearer(state, NAMERIKAWA, "clerk")
        ).json()
        assert after[0]["ends_on"] == measure["ends_on"]
        assert after[0]["ended_on"] is None
        assert after[0]["in_force"] is True
        # Control: 滑川市's own supervisor reaches the endpoint (ending is allowed at once).
        if action == "end":
            ended = client.post(
                f"{API}/protection-measures/{measure['id']}/end",
                json={"version": measure["version"]},
                headers=bearer(state, NAMERIKAWA, "supervisor"),
            )
            assert ended.status_code == 200, ended.text

    return case


def case_cancel_event(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs = _resident(client, state, NAMERIKAWA, kana="トリケシブンリ")
    sup = bearer(state, IMIZU, "supervisor")
    response = client.post(
        f"{API}/residents/events/{theirs['event_id']}/cancel", json={"reason": "試験"}, headers=sup
    )
    assert response.status_code == 404
    assert response.json()["code"] == "event_not_found"
    still = client.get(
        f"{API}/residents/{theirs['person_ids'][0]}", headers=bearer(state, NAMERIKAWA, "clerk")
    ).json()
    assert still["status"] == "resident"


def case_disclosure_check(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _resident(client, state, NAMERIKAWA), _resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    body = {"requester_type": "第三者", "purpose": "債権回収"}
    ok = client.post(
        f"{API}/residents/{own['person_ids'][0]}/disclosure-check", json=body, headers=clerk
    )
    assert ok.status_code == 200
    response = client.post(
        f"{API}/residents/{theirs['person_ids'][0]}/disclosure-check", json=body, headers=clerk
    )
    assert response.status_code == 404


def case_reveal_my_number(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs, own = _resident(client, state, NAMERIKAWA), _resident(client, state, IMIZU)
    clerk = bearer(state, IMIZU, "clerk")
    body = {"purpose": "分離試験"}
    ok = client.post(f"{API}/residents/{own['person_ids'][0]}/my-number", json=body, headers=clerk)
    assert ok.status_code == 200
    response = client.post(
        f"{API}/residents/{theirs['person_ids'][0]}/my-number", json=body, headers=clerk
    )
    assert response.status_code == 404


def case_transfer_move_in(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    # 射水市 moves a household out to 滑川市: the transfer belongs to 滑川市, and even the
    # source cannot use (or see) it.
    own = _resident(client, state, IMIZU, kana="テンシュツブンリ")
    clerk = bearer(state, IMIZU, "clerk")
    hid = own["household_ids"][0]
    version = client.get(f"{API}/households/{hid}", headers=clerk).json()["version"]
    out = client.post(
        f"{API}/residents/move-out",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "person_ids": own["person_ids"],
            "household": {"household_id": hid, "version": version},
            "destination_address": "富山県滑川市寺家町104番地",
            "destination_lg_code": NAMERIKAWA,
        },
    )
    assert out.status_code == 201, out.text
    theirs = client.get(
        f"{API}/residents-transfers", headers=bearer(state, NAMERIKAWA, "clerk")
    ).json()
    transfer = next(t for t in theirs if t["persons"][0]["family_name_kana"] == "テンシュツブンリ")
    assert client.get(f"{API}/residents-transfers", headers=clerk).json() == [] or all(
        t["id"] != transfer["id"]
        for t in client.get(f"{API}/residents-transfers", headers=clerk).json()
    )
    add_machiaza(state, IMIZU, [_MACHIAZA[IMIZU]])
    response = client.post(
        f"{API}/residents-transfers/{transfer['id']}/move-in",
        headers=clerk,
        json={
            "effective_on": TODAY.isoformat(),
            "address": {"machiaza_code": _MACHIAZA[IMIZU][0], "banchi": "2番地"},
        },
    )
    assert response.status_code == 404
    assert response.json()["code"] == "transfer_not_found"


CASES: dict[tuple[str, str], Callable[..., None]] = {
    ("GET", f"{API}/residents/{{person_id}}"): case_get_resident,
    ("GET", f"{API}/residents/{{person_id}}/history"): case_get_history,
    ("GET", f"{API}/households/{{household_id}}"): case_get_household,
    ("GET", f"{API}/residents/{{person_id}}/protection"): case_get_protection,
    ("POST", f"{API}/residents/{{person_id}}/protection"): case_start_protection,
    ("POST", f"{API}/protection-measures/{{measure_id}}/extend"): _measure_case("extend"),
    ("POST", f"{API}/protection-measures/{{measure_id}}/end"): _measure_case("end"),
    ("POST", f"{API}/residents/events/{{event_id}}/cancel"): case_cancel_event,
    ("POST", f"{API}/residents/{{person_id}}/disclosure-check"): case_disclosure_check,
    ("POST", f"{API}/residents/{{person_id}}/my-number"): case_reveal_my_number,
    ("POST", f"{API}/residents-transfers/{{transfer_id}}/move-in"): case_transfer_move_in,
}
# A role of the caller's own municipality that may NOT use the route (for the 403 check).
UNPRIVILEGED: dict[tuple[str, str], str] = dict.fromkeys(CASES, "tenant_admin")
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", f"{API}/residents/{{person_id}}/protection"): {
        "category": "DV",
        "started_on": TODAY.isoformat(),
    },
    ("POST", f"{API}/protection-measures/{{measure_id}}/extend"): {"version": 1},
    ("POST", f"{API}/protection-measures/{{measure_id}}/end"): {"version": 1},
    ("POST", f"{API}/residents/events/{{event_id}}/cancel"): {"reason": "試験"},
    ("POST", f"{API}/residents/{{person_id}}/disclosure-check"): {"requester_type": "第三者"},
    ("POST", f"{API}/residents/{{person_id}}/my-number"): {"purpose": "試験"},
    ("POST", f"{API}/residents-transfers/{{transfer_id}}/move-in"): {
        "effective_on": TODAY.isoformat(),
        "address": {"machiaza_code": "162116-T001", "banchi": "1番地"},
    },
}
