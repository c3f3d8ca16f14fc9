"""Staff authentication: login form, CSRF, lock-out, session time-out, API tokens."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from core.audit import AuditEntry
from core.scoping import TenantContext, TenantId, set_context
from core.uow import UnitOfWork
from jichitai import demo as demo_data
from tenancy import repository as repo
from tenancy.models import Staff, WebSession
from tests.helpers import IMIZU, NAMERIKAWA, bearer, staff_login_id, web_login


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_login_then_home_shows_the_municipality(client: TestClient) -> None:
    web_login(client, IMIZU, "clerk")
    home = client.get("/")
    assert home.status_code == 200
    assert "射水市" in home.text
    assert "富山県情報システム共同利用推進協議会" in home.text
    cookie = client.cookies.get("jichitai_session")
    assert cookie is not None


def test_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "lg_code": IMIZU,
            "login_id": staff_login_id(IMIZU, "clerk"),
            "password": demo_data.DEMO_PASSWORD,
            "csrf_token": _csrf(page.text),
        },
        follow_redirects=False,
    )
    set_cookie = response.headers["set-cookie"].lower()
    assert "jichitai_session=" in set_cookie
    assert "httponly" in set_cookie
    assert "samesite=strict" in set_cookie


def test_login_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "lg_code": IMIZU,
            "login_id": staff_login_id(IMIZU, "clerk"),
            "password": demo_data.DEMO_PASSWORD,
            "csrf_token": "forged",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert client.cookies.get("jichitai_session") is None


def test_wrong_password_is_a_japanese_401(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "lg_code": IMIZU,
            "login_id": staff_login_id(IMIZU, "clerk"),
            "password": "wrong-password",
            "csrf_token": _csrf(page.text),
        },
    )
    assert response.status_code == 401
    assert "正しくありません" in response.text


def test_account_locks_after_repeated_failures(client: TestClient, state, settings) -> None:
    login_id = staff_login_id(NAMERIKAWA, "pension_officer")
    for _ in range(settings.login_max_failures):
        page = client.get("/login")
        client.post(
            "/login",
            data={
                "lg_code": NAMERIKAWA,
                "login_id": login_id,
                "password": "not-the-password",
                "csrf_token": _csrf(page.text),
            },
        )
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "lg_code": NAMERIKAWA,
            "login_id": login_id,
            "password": demo_data.DEMO_PASSWORD,
            "csrf_token": _csrf(page.text),
        },
    )
    assert response.status_code == 401
    assert "ロック" in response.text
    with UnitOfWork(state.session_factory) as uow:
        m = repo.municipality_by_code(uow.session, NAMERIKAWA)
        assert m is not None
        set_context(uow.session, TenantContext(TenantId(m.id)))
        staff = repo.staff_by_login(uow.session, login_id)
        assert staff is not None and staff.locked_until is not None
        actions = [
            e.action
            for e in uow.session.scalars(
                select(AuditEntry).where(AuditEntry.actor_id == str(staff.id))
            )
        ]
        assert actions.count("auth.login_failed") >= settings.login_max_failures
        assert "auth.login_locked" in actions
        # Unlock again so that other tests may use this account.
        staff.locked_until = None
        uow.commit()


def test_idle_session_times_out(client: TestClient, state) -> None:
    web_login(client, IMIZU, "clerk")
    raw = client.cookies.get("jichitai_session")
    from core.security import hash_secret

    with state.session_factory() as session, session.begin():
        session.execute(
            update(WebSession)
            .where(WebSession.id_hash == hash_secret(raw))
            .values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
        )
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "session_timeout"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_server_side_session(client: TestClient) -> None:
    csrf = web_login(client, IMIZU, "clerk")
    assert client.get("/api/v1/me").status_code == 200
    raw = client.cookies.get("jichitai_session")
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    client.cookies.set("jichitai_session", raw)  # a stolen copy of the cookie no longer works
    assert client.get("/api/v1/me").status_code == 401


def test_cookie_authenticated_write_needs_the_csrf_header(client: TestClient) -> None:
    csrf = web_login(client, IMIZU, "tenant_admin")
    body = {"name": "夜間バッチ", "role": "clerk"}
    refused = client.post("/api/v1/tokens", json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    accepted = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201


def test_operator_logs_in_without_a_municipality(client: TestClient) -> None:
    web_login(client, "", "operator")
    page = client.get("/operator/tenants")
    assert page.status_code == 200
    for name in ("射水市", "滑川市", "舟橋村", "立山町"):
        assert name in page.text


# --- API tokens ----------------------------------------------------------------------------


def test_no_credentials_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Bearer jct_12345_short",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
def test_malformed_token_is_401_with_stable_code(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "malformed_token"
    assert "形式" in response.json()["message"]


def test_token_is_bound_to_its_tenant_and_role(client: TestClient, state) -> None:
    headers = bearer(state, IMIZU, "clerk")
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["lg_code"] == IMIZU and me["roles"] == ["clerk"]
    # A token whose prefix names another municipality does not resolve there.
    forged = headers["Authorization"].replace(f"jct_{IMIZU}_", f"jct_{NAMERIKAWA}_")
    response = client.get("/api/v1/me", headers={"Authorization": forged})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_wrong_role_is_403(client: TestClient, state) -> None:
    response = client.get("/api/v1/staff", headers=bearer(state, IMIZU, "clerk"))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_revoked_token_stops_working(client: TestClient, state) -> None:
    admin = bearer(state, IMIZU, "tenant_admin")
    issued = client.post(
        "/api/v1/tokens", json={"name": "連携", "role": "tax_officer"}, headers=admin
    ).json()
    own = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/me", headers=own).status_code == 200
    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=own).status_code == 401
    listed = client.get("/api/v1/tokens", headers=admin).json()
    assert all("token" not in t and "token_hash" not in t for t in listed)


def test_suspended_tenant_cannot_sign_in(client: TestClient, state) -> None:
    from tests.helpers import new_tenant

    tid = new_tenant(state, "停止村")
    with UnitOfWork(state.session_factory) as uow:
        from tenancy.models import Municipality

        created = uow.session.get(Municipality, tid)
        assert created is not None
        code = created.lg_code
    headers = bearer(state, code, "clerk")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    op = {"X-CSRF-Token": web_login(client, "", "operator")}
    assert client.post(f"/api/v1/municipalities/{code}/suspend", headers=op).status_code == 200
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_staff_password_never_leaves_the_api(client: TestClient, state) -> None:
    listed = client.get("/api/v1/staff", headers=bearer(state, IMIZU, "tenant_admin")).json()
    assert listed and all("password" not in s and "password_hash" not in s for s in listed)
    assert {s["login_id"] for s in listed} >= {staff_login_id(IMIZU, "clerk")}
    assert all(isinstance(s["version"], int) for s in listed)
    assert Staff.__tablename__ == "staff"
