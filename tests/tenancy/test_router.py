"""Tenancy API: municipalities, staff, tenant parameters — and what bad input gets."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.scoping import TenantContext, TenantId, set_context
from core.uow import UnitOfWork
from tenancy.models import Municipality, Staff, TenantParameterVersion
from tests.helpers import IMIZU, bearer, operator_headers


def _counts(state) -> tuple[int, int]:
    with UnitOfWork(state.session_factory) as uow:
        municipalities = uow.session.scalar(select(func.count()).select_from(Municipality))
        return int(municipalities or 0), len(uow.session.scalars(select(Municipality)).all())


def test_operator_lists_every_tenant_without_personal_data(client: TestClient) -> None:
    rows = client.get("/api/v1/municipalities", headers=operator_headers(client)).json()
    codes = {r["lg_code"] for r in rows}
    assert {
        "162116",
        "162060",
        "163422",
        "163228",
        "163431",
        "163210",
        "162078",
        "162043",
        "163236",
    } <= codes
    assert set(rows[0]) == {"lg_code", "name", "prefecture", "kind", "status", "in_continuity_mode"}


def test_lg_code_with_a_wrong_check_digit_is_refused(client: TestClient, state) -> None:
    before = _counts(state)
    headers = operator_headers(client)
    response = client.post(
        "/api/v1/municipalities",
        headers=headers,
        json={"lg_code": "162117", "name": "誤り市", "prefecture": "富山県", "kind": "市"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["details"][0]["type"] == "invalid_lg_code"
    assert "検査数字" in body["details"][0]["message"]
    assert _counts(state) == before


def test_municipality_kind_outside_the_five_is_refused(client: TestClient, state) -> None:
    before = _counts(state)
    response = client.post(
        "/api/v1/municipalities",
        headers=operator_headers(client),
        json={"lg_code": "472018", "name": "那覇市", "prefecture": "沖縄県", "kind": "郡"},
    )
    assert response.status_code == 422
    assert "選択肢" in response.json()["details"][0]["message"]
    assert _counts(state) == before


def test_duplicate_lg_code_is_a_conflict(client: TestClient) -> None:
    response = client.post(
        "/api/v1/municipalities",
        headers=operator_headers(client),
        json={"lg_code": IMIZU, "name": "射水市", "prefecture": "富山県", "kind": "市"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_lg_code"


def test_oversized_body_is_413_and_writes_nothing(client: TestClient, state, settings) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    huge = {"name": "x" * (settings.max_body_bytes + 10), "role": "clerk"}
    response = client.post("/api/v1/tokens", json=huge, headers=admin)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    names = [t["name"] for t in client.get("/api/v1/tokens", headers=admin).json()]
    assert all(len(n) < 1000 for n in names)


def test_invalid_json_is_a_japanese_422(client: TestClient, state) -> None:
    response = client.post(
        "/api/v1/tokens",
        content=b"{not json",
        headers={**bearer(state, IMIZU, "tenant_admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert "JSON" in response.json()["message"]


def test_tenant_parameters_are_versioned_and_audited(client: TestClient, state) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    current = client.get("/api/v1/tenant/parameters", headers=admin).json()
    params = dict(current["parameters"], mayor_name="夏野 元志")
    updated = client.put(
        "/api/v1/tenant/parameters",
        headers=admin,
        json={"version": current["version"], "parameters": params, "reason": "市長の氏名を設定"},
    )
    assert updated.status_code == 200
    assert updated.json()["version"] == current["version"] + 1
    assert updated.json()["parameters"]["mayor_name"] == "夏野 元志"
    # The stale version now answers 409 and writes nothing.
    stale = client.put(
        "/api/v1/tenant/parameters",
        headers=admin,
        json={"version": current["version"], "parameters": params},
    )
    assert stale.status_code == 409
    with UnitOfWork(state.session_factory) as uow:
        m = uow.session.scalar(select(Municipality).where(Municipality.lg_code == IMIZU))
        assert m is not None
        set_context(uow.session, TenantContext(TenantId(m.id)))
        versions = uow.session.scalars(select(TenantParameterVersion.version)).all()
        assert max(versions) == current["version"] + 1
        entry = uow.session.scalar(
            select(AuditEntry)
            .where(AuditEntry.action == "tenant.parameters_changed")
            .order_by(AuditEntry.seq.desc())
        )
        assert entry is not None
        assert entry.details["mayor_name"]["after"] == "夏野 元志"


def test_unknown_tenant_parameter_is_refused(client: TestClient, state) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    current = client.get("/api/v1/tenant/parameters", headers=admin).json()
    params = dict(current["parameters"], certificate_template="<html>自前の様式</html>")
    response = client.put(
        "/api/v1/tenant/parameters",
        headers=admin,
        json={"version": current["version"], "parameters": params},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_parameter"
    assert "certificate_template" in response.json()["message"]
    after = client.get("/api/v1/tenant/parameters", headers=admin).json()
    assert after["version"] == current["version"]


def test_a_negative_fee_is_refused(client: TestClient, state) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    current = client.get("/api/v1/tenant/parameters", headers=admin).json()
    params = dict(current["parameters"])
    params["fees"] = dict(params["fees"], resident_record_copy=-1)
    response = client.put(
        "/api/v1/tenant/parameters",
        headers=admin,
        json={"version": current["version"], "parameters": params},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"


def test_staff_create_is_idempotent(client: TestClient, state) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    login_id = f"new-{uuid.uuid4().hex[:8]}"
    body = {
        "login_id": login_id,
        "display_name": "新人 職員",
        "password": "long-password-123",
        "roles": ["clerk"],
    }
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = client.post("/api/v1/staff", json=body, headers={**admin, **key})
    again = client.post("/api/v1/staff", json=body, headers={**admin, **key})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other = client.post(
        "/api/v1/staff", json=dict(body, display_name="別人"), headers={**admin, **key}
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    listed = client.get("/api/v1/staff", headers=admin).json()
    assert [s["login_id"] for s in listed].count(login_id) == 1


def test_stale_staff_version_is_a_conflict(client: TestClient, state) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    login_id = f"ver-{uuid.uuid4().hex[:8]}"
    created = client.post(
        "/api/v1/staff",
        headers=admin,
        json={
            "login_id": login_id,
            "display_name": "版 確認",
            "password": "long-password-123",
            "roles": ["clerk"],
        },
    ).json()
    ok = client.patch(
        f"/api/v1/staff/{created['id']}",
        headers=admin,
        json={"version": created["version"], "roles": ["clerk", "supervisor"]},
    )
    assert ok.status_code == 200 and ok.json()["version"] == created["version"] + 1
    stale = client.patch(
        f"/api/v1/staff/{created['id']}",
        headers=admin,
        json={"version": created["version"], "active": False},
    )
    assert stale.status_code == 409
    assert client.get(f"/api/v1/staff/{created['id']}", headers=admin).json()["active"] is True


def test_short_password_gets_a_field_message(client: TestClient, state) -> None:
    response = client.post(
        "/api/v1/staff",
        headers=bearer(state, IMIZU, "tenant_admin"),
        json={
            "login_id": "short-pw",
            "display_name": "短い",
            "password": "abc",
            "roles": ["clerk"],
        },
    )
    assert response.status_code == 422
    detail = response.json()["details"][0]
    assert detail["field"] == "password"
    assert "12文字以上" in detail["message"]
    with UnitOfWork(state.session_factory) as uow:
        m = uow.session.scalar(select(Municipality).where(Municipality.lg_code == IMIZU))
        assert m is not None
        set_context(uow.session, TenantContext(TenantId(m.id)))
        assert uow.session.scalar(select(Staff).where(Staff.login_id == "short-pw")) is None


def test_continuity_mode_is_declared_and_shown(client: TestClient) -> None:
    headers = operator_headers(client)
    declared = client.post(
        "/api/v1/municipalities/163210/continuity",
        headers=headers,
        json={"reason": "令和8年豪雨災害"},
    )
    assert declared.status_code == 200 and declared.json()["in_continuity_mode"] is True
    again = client.post(
        "/api/v1/municipalities/163210/continuity", headers=headers, json={"reason": "重複"}
    )
    assert again.status_code == 409
    ended = client.delete("/api/v1/municipalities/163210/continuity", headers=headers)
    assert ended.json()["in_continuity_mode"] is False
