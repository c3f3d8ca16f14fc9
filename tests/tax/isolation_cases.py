"""Cross-tenant cases for the inhabitant tax's id-addressed routes (used by the isolation test).

Each case assesses a resident in 滑川市 and one in 射水市, shows that 射水市's tax officer gets
404 for 滑川市's person (and that nothing is read or logged there), and that the same route
answers 射水市's own person.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from core import audit
from core.crypto import TenantKeys
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from resident_records.queries import persons_by_id
from tax import assessment_service
from tax.income_service import import_income
from tax.intake import DocumentKind, IncomeRecord, format_csv
from tax.rules.facts import IncomeKind
from tenancy import service as tenancy_service
from tests.helpers import IMIZU, NAMERIKAWA, add_machiaza, bearer

API = "/api/v1"
_MACHIAZA = {
    IMIZU: ("162116-T003", "税務町", "ゼイムマチ"),
    NAMERIKAWA: ("162060-T003", "税務町", "ゼイムマチ"),
}


def assessed_resident(
    client: TestClient, state: Any, lg_code: str, revenue: int = 4_000_000
) -> str:
    """A resident of ``lg_code`` since before 1 January 2026 with a salary report, assessed
    for FY2026 (only that person's household); returns the person id."""
    add_machiaza(state, lg_code, [_MACHIAZA[lg_code]])
    body = {
        "effective_on": "2025-12-01",
        "notified_on": "2025-12-01",
        "persons": [
            {
                "family_name": "課税",
                "given_name": "分離",
                "family_name_kana": "カゼイ",
                "given_name_kana": "ブンリ",
                "birth_date": "昭和60年1月1日",
                "sex": "female",
                "relationship": "世帯主",
            }
        ],
        "address": {"machiaza_code": _MACHIAZA[lg_code][0], "banchi": "5番地"},
        "previous_address": "東京都千代田区霞が関2丁目1番2号",
    }
    response = client.post(
        f"{API}/residents/move-in", json=body, headers=bearer(state, lg_code, "clerk")
    )
    assert response.status_code == 201, response.text
    person_id: str = response.json()["person_ids"][0]
    actor = audit.Actor("staff", "isolation-tests")
    with UnitOfWork(state.session_factory) as uow:
        m = tenancy_service.require_municipality(uow.session, lg_code)
        uow.set_tenant(TenantContext(TenantId(m.id)))
        pid = uuid.UUID(person_id)
        atena = persons_by_id(uow.session, [pid])[pid].atena_number
        record = IncomeRecord(
            fiscal_year=2026,
            document=DocumentKind.DECLARATION,
            atena_number=atena,
            name="課税 分離",
            name_kana="カゼイ ブンリ",
            birth_date=dt.date(1985, 1, 1),
            address="富山県",
            income_kind=IncomeKind.BUSINESS,
            revenue=revenue,
        )
        import_income(
            uow.session,
            TenantKeys(uow.session, state.ring),
            actor,
            format_csv([record]).encode(),
            f"{person_id}.csv",
        )
        _v, params = tenancy_service.current_parameters(uow.session)
        assessment_service.reassess(uow.session, 2026, [pid], params)
        uow.commit()
    return person_id


def _audit(client: TestClient, state: Any, lg_code: str) -> list[dict[str, Any]]:
    response = client.get(
        f"{API}/audit", params={"limit": 500}, headers=bearer(state, lg_code, "supervisor")
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def case_get_assessment(client: TestClient, state: Any, database: Any, demo: Any) -> None:
    theirs = assessed_resident(client, state, NAMERIKAWA)
    own = assessed_resident(client, state, IMIZU)
    officer = bearer(state, IMIZU, "tax_officer")
    params = {"fiscal_year": 2026}
    ok = client.get(f"{API}/tax/assessments/{own}", params=params, headers=officer)
    assert ok.status_code == 200, ok.text
    assert ok.json()["current"]["total"] > 0
    response = client.get(f"{API}/tax/assessments/{theirs}", params=params, headers=officer)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "person_not_found"
    assert "課税" not in response.text and "total" not in response.text
    # Nothing was read: 滑川市's chain records no reading of its person's assessment.
    assert not any(
        e["action"] == "tax.assessment_read" and e["subject_id"] == theirs
        for e in _audit(client, state, NAMERIKAWA)
    )
    # Control: 滑川市's own tax officer reads it through the same route.
    mine = client.get(
        f"{API}/tax/assessments/{theirs}",
        params=params,
        headers=bearer(state, NAMERIKAWA, "tax_officer"),
    )
    assert mine.status_code == 200 and mine.json()["person_id"] == theirs


CASES: dict[tuple[str, str], Callable[..., None]] = {
    ("GET", f"{API}/tax/assessments/{{person_id}}"): case_get_assessment,
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {}
UNPRIVILEGED: dict[tuple[str, str], str] = {}
