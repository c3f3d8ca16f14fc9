"""団体管理 screens through HTTP: staff accounts and tenant parameters, for tenant_admin only."""

from __future__ import annotations

import base64
import re
import struct
import uuid
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jichitai import demo as demo_data
from tests.helpers import IMIZU, NAMERIKAWA, bearer, web_login

# Parameter changes go to 立山町, a member the other tests leave alone (its certificates and fees
# are nobody else's expectation); staff accounts are created in 射水市.
TATEYAMA = "163236"
CONFLICT = "他の操作で先に更新されています"


def _png(width: int = 2, height: int = 2, padding: int = 0) -> bytes:
    """A small valid PNG (``padding`` bytes of text chunk make it as large as needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xc0\x00\x00" * width for _ in range(height))
    extra = chunk(b"tEXt", b"Comment\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def _login(app: Any, lg_code: str, login_id: str, password: str) -> tuple[int, str]:
    """Sign in through the login form on a fresh browser; the status and the home page."""
    with TestClient(app, raise_server_exceptions=False) as other:
        form = other.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        response = other.post(
            "/login",
            data={
                "lg_code": lg_code,
                "login_id": login_id,
                "password": password,
                "csrf_token": csrf.group(1),
            },
            follow_redirects=False,
        )
        home = other.get("/").text if response.status_code == 303 else response.text
        return response.status_code, home


def _version(html: str) -> int:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found is not None
    return int(found.group(1))


def _create(client: TestClient, csrf: str, login_id: str, **over: Any) -> Any:
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "login_id": login_id,
        "display_name": "画面 職員",
        "roles": ["clerk"],
        "password": "initial-password-1",
        "password_confirm": "initial-password-1",
    }
    return client.post("/admin/staff", data=form | over, follow_redirects=False)


def _new_staff(client: TestClient, csrf: str, **over: Any) -> tuple[str, str]:
    """A new staff account of 射水市 created through the screen: (login id, its page path)."""
    login_id = f"web-{uuid.uuid4().hex[:8]}"
    created = _create(client, csrf, login_id, **over)
    assert created.status_code == 303, created.text
    location = str(created.headers["location"])
    assert re.fullmatch(r"/admin/staff/[0-9a-f-]{36}\?notice=created", location), location
    return login_id, location.split("?")[0]


@pytest.fixture
def admin(client: TestClient, demo) -> str:
    return web_login(client, IMIZU, "tenant_admin")


# --- who may enter --------------------------------------------------------------------------


def test_the_overview_shows_the_municipality(client: TestClient, admin: str) -> None:
    page = client.get("/admin")
    assert page.status_code == 200
    assert "射水市" in page.text and IMIZU in page.text
    assert 'href="/admin/staff"' in page.text and 'href="/admin/parameters"' in page.text


@pytest.mark.parametrize("path", ["/admin", "/admin/staff", "/admin/parameters"])
def test_a_clerk_gets_the_403_page(client: TestClient, demo, path: str) -> None:
    web_login(client, IMIZU, "clerk")
    page = client.get(path)
    assert page.status_code == 403
    assert "権限がありません" in page.text


def test_a_clerk_cannot_post_and_nothing_is_created(client: TestClient, demo, state) -> None:
    csrf = web_login(client, IMIZU, "supervisor")
    login_id = f"web-{uuid.uuid4().hex[:8]}"
    response = _create(client, csrf, login_id)
    assert response.status_code == 403 and "権限がありません" in response.text
    listed = client.get("/api/v1/staff", headers=bearer(state, IMIZU, "tenant_admin")).json()
    assert login_id not in {s["login_id"] for s in listed}


def test_the_operator_gets_the_403_page(client: TestClient, demo) -> None:
    web_login(client, "", "operator")
    for path in ("/admin", "/admin/staff", "/admin/parameters"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "権限がありません" in page.text


def test_without_a_session_the_login_page(client: TestClient, demo) -> None:
    response = client.get("/admin/staff", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_every_post_checks_the_csrf_token(client: TestClient, admin: str) -> None:
    login_id = f"web-{uuid.uuid4().hex[:8]}"
    forged = _create(client, "forged-token", login_id)
    assert forged.status_code == 403 and "画面の有効期限" in forged.text
    assert login_id not in client.get("/admin/staff").text
    _lid, path = _new_staff(client, admin)
    for url in (path, f"{path}/unlock", "/admin/parameters"):
        response = client.post(url, data={"csrf_token": "", "version": "1"})
        assert response.status_code == 403 and "画面の有効期限" in response.text, url


# --- staff accounts -------------------------------------------------------------------------


def test_tenant_admin_creates_a_staff_member_who_can_log_in(
    client: TestClient, admin: str, app, state
) -> None:
    login_id, path = _new_staff(client, admin, display_name="新規 職員", roles=["clerk"])
    shown = client.get(f"{path}?notice=created")
    assert shown.status_code == 200
    assert "職員アカウントを登録しました。" in shown.text and login_id in shown.text
    listing = client.get("/admin/staff").text
    assert login_id in listing and "新規 職員" in listing and "窓口担当" in listing
    status, home = _login(app, IMIZU, login_id, "initial-password-1")
    assert status == 303 and "新規 職員" in home
    entries = client.get(
        "/api/v1/audit", params={"limit": 50}, headers=bearer(state, IMIZU, "tenant_admin")
    ).json()
    created = [e for e in entries if e["action"] == "staff.created"]
    assert created and created[0]["subject_id"] == path.rsplit("/", 1)[1]
    assert created[0]["details"]["login_id"] == login_id


def test_staff_form_errors_are_japanese_and_next_to_their_fields(
    client: TestClient, admin: str
) -> None:
    bad = _create(
        client,
        admin,
        "x",
        display_name="",
        roles=[],
        password="short",
        password_confirm="other",
    )
    assert bad.status_code == 422
    html = bad.text
    for name in ("login_id", "display_name", "roles", "password", "password_confirm"):
        assert f'id="e-{name}"' in html, name
    assert "12文字以上で入力してください。" in html
    assert "確認用のパスワードが一致しません。" in html
    assert "short" not in html  # a password is never sent back
    login_id, _path = _new_staff(client, admin)
    duplicate = _create(client, admin, login_id)
    assert duplicate.status_code == 422
    assert "このユーザーIDは既に使われています。" in duplicate.text


def test_roles_and_deactivation_with_optimistic_locking(
    client: TestClient, admin: str, app
) -> None:
    login_id, path = _new_staff(client, admin)
    version = _version(client.get(path).text)
    form = {
        "csrf_token": admin,
        "version": str(version),
        "display_name": "役割 変更",
        "roles": ["clerk", "supervisor"],
        "active": "true",
    }
    changed = client.post(path, data=form, follow_redirects=False)
    assert changed.status_code == 303, changed.text
    page = client.get(path).text
    assert "窓口担当、責任者" in page and _version(page) == version + 1
    # The same (now stale) version again: the conflict message, nothing written.
    stale = client.post(path, data=form | {"active": "false"}, follow_redirects=False)
    assert stale.status_code == 409 and CONFLICT in stale.text
    assert _login(app, IMIZU, login_id, "initial-password-1")[0] == 303
    off = client.post(
        path, data=form | {"version": str(version + 1), "active": "false"}, follow_redirects=False
    )
    assert off.status_code == 303
    row = re.search(rf"<td>{login_id}</td>.*?</tr>", client.get("/admin/staff").text, re.S)
    assert row is not None and "無効" in row.group(0)
    assert _login(app, IMIZU, login_id, "initial-password-1")[0] == 401


def test_an_admin_cannot_lock_themselves_out(client: TestClient, admin: str, state) -> None:
    listed = client.get("/api/v1/staff", headers=bearer(state, IMIZU, "tenant_admin")).json()
    me = next(s for s in listed if s["login_id"] == "imizu.tenant_admin")
    form = {
        "csrf_token": admin,
        "version": str(me["version"]),
        "display_name": me["display_name"],
        "roles": ["clerk"],
        "active": "false",
    }
    refused = client.post(f"/admin/staff/{me['id']}", data=form)
    assert refused.status_code == 422
    assert "団体管理者" in refused.text and 'id="e-active"' in refused.text
    assert client.get("/admin").status_code == 200


def test_a_locked_account_is_released_by_a_new_password(
    client: TestClient, admin: str, app, settings
) -> None:
    login_id, path = _new_staff(client, admin)
    for _ in range(settings.login_max_failures):
        assert _login(app, IMIZU, login_id, "wrong-password-0")[0] == 401
    status, html = _login(app, IMIZU, login_id, "initial-password-1")
    assert status == 401 and "ロック" in html
    page = client.get(path).text
    assert "ロック中" in page
    form = {
        "csrf_token": admin,
        "version": str(_version(page)),
        "password": "renewed-password-2",
        "password_confirm": "renewed-password-2",
    }
    short = client.post(f"{path}/unlock", data=form | {"password": "x", "password_confirm": "x"})
    assert short.status_code == 422 and "12文字以上で入力してください。" in short.text
    released = client.post(f"{path}/unlock", data=form, follow_redirects=False)
    assert released.status_code == 303, released.text
    assert "ロック中" not in client.get(path).text
    assert _login(app, IMIZU, login_id, "renewed-password-2")[0] == 303


def test_another_municipalitys_staff_is_not_found(
    client: TestClient, admin: str, state, app
) -> None:
    theirs_api = bearer(state, NAMERIKAWA, "tenant_admin")
    theirs = client.get("/api/v1/staff", headers=theirs_api).json()
    target = next(s for s in theirs if s["login_id"] == "namerikawa.clerk")
    path = f"/admin/staff/{target['id']}"
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 404 and "見つかりません" in page.text
    assert "namerikawa" not in page.text and target["display_name"] not in page.text
    form = {
        "csrf_token": admin,
        "version": str(target["version"]),
        "display_name": "乗っ取り",
        "roles": ["tenant_admin"],
        "active": "false",
    }
    assert client.post(path, data=form).status_code == 404
    unlock = {"csrf_token": admin, "version": str(target["version"])}
    unlock |= {"password": "takeover-password", "password_confirm": "takeover-password"}
    assert client.post(f"{path}/unlock", data=unlock).status_code == 404
    after = client.get(f"/api/v1/staff/{target['id']}", headers=theirs_api).json()
    assert after == target
    assert "namerikawa." not in client.get("/admin/staff").text
    status, _home = _login(app, NAMERIKAWA, "namerikawa.clerk", demo_data.DEMO_PASSWORD)
    assert status == 303


# --- tenant parameters ----------------------------------------------------------------------


@pytest.fixture
def tateyama(client: TestClient, demo) -> str:
    return web_login(client, TATEYAMA, "tenant_admin")


def _parameters_form(csrf: str, version: int, **over: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "version": str(version),
        "mayor_title": "町長",
        "mayor_name": "画面 太郎",
        "fees.resident_record_copy": "350",
        "fees.resident_record_extract": "300",
        "fees.removed_record_copy": "300",
        "fees.move_out_certificate": "0",
        "fees.disaster_damage_certificate": "0",
        "fees.tax_certificate": "400",
        "kyuchi": "3級地-1",
        "counter_hours": "8:30〜17:15",
        "reason": "画面からの設定",
    }
    return form | over


def _post_parameters(
    client: TestClient, form: dict[str, str], seal: tuple[str, bytes, str] | None = None
) -> Any:
    files = {"seal_image": seal or ("", b"", "application/octet-stream")}
    return client.post("/admin/parameters", data=form, files=files, follow_redirects=False)


def test_parameters_update_with_a_seal_and_history(
    client: TestClient, tateyama: str, state
) -> None:
    page = client.get("/admin/parameters")
    assert page.status_code == 200
    version = _version(page.text)
    assert f"第{version}版" in page.text
    png = _png()
    saved = _post_parameters(
        client, _parameters_form(tateyama, version), ("seal.png", png, "image/png")
    )
    assert saved.status_code == 303, saved.text
    after = client.get(saved.headers["location"]).text
    assert "団体パラメータを保存しました。" in after
    assert f"第{version + 1}版" in after and 'value="画面 太郎"' in after
    assert "画面からの設定" in after and "管理 五郎（立山町）（tateyama.tenant_admin）" in after
    assert "data:image/png;base64," in after
    api = client.get(
        "/api/v1/tenant/parameters", headers=bearer(state, TATEYAMA, "tenant_admin")
    ).json()
    assert api["version"] == version + 1
    params = api["parameters"]
    assert params["mayor_name"] == "画面 太郎" and params["kyuchi"] == "3級地-1"
    assert (
        params["fees"]["resident_record_copy"] == 350 and params["fees"]["tax_certificate"] == 400
    )
    assert base64.b64decode(params["seal_image_png_base64"]) == png
    # Without a new file the seal stays; removing it is a choice of its own.
    kept = _post_parameters(client, _parameters_form(tateyama, version + 1, mayor_name="画面 次郎"))
    assert kept.status_code == 303
    api = client.get(
        "/api/v1/tenant/parameters", headers=bearer(state, TATEYAMA, "tenant_admin")
    ).json()
    assert api["parameters"]["seal_image_png_base64"] is not None
    entries = client.get(
        "/api/v1/audit", params={"limit": 20}, headers=bearer(state, TATEYAMA, "tenant_admin")
    ).json()
    changed = [e for e in entries if e["action"] == "tenant.parameters_changed"]
    assert changed[0]["subject_id"] == str(version + 2)
    assert changed[0]["details"]["mayor_name"]["after"] == "画面 次郎"


def test_a_stale_version_shows_the_conflict_message(
    client: TestClient, tateyama: str, state
) -> None:
    version = _version(client.get("/admin/parameters").text)
    first = _post_parameters(client, _parameters_form(tateyama, version, counter_hours="9:00〜"))
    assert first.status_code == 303
    stale = _post_parameters(client, _parameters_form(tateyama, version, mayor_name="古い 版"))
    assert stale.status_code == 409
    assert CONFLICT in stale.text
    assert _version(stale.text) == version + 1  # the form now holds the latest version
    api = client.get(
        "/api/v1/tenant/parameters", headers=bearer(state, TATEYAMA, "tenant_admin")
    ).json()
    assert api["version"] == version + 1 and api["parameters"]["mayor_name"] != "古い 版"


@pytest.mark.parametrize(
    ("seal", "message"),
    [
        (("seal.png", b"GIF89a not a png at all", "image/png"), "PNG形式"),
        (("seal.png", _png(padding=160_000), "image/png"), "150KB以下"),
    ],
)
def test_a_bad_seal_is_refused_next_to_its_field(
    client: TestClient, tateyama: str, state, seal: tuple[str, bytes, str], message: str
) -> None:
    version = _version(client.get("/admin/parameters").text)
    refused = _post_parameters(client, _parameters_form(tateyama, version), seal)
    assert refused.status_code == 422
    error = re.search(r'<p class="field-error" id="e-seal_image">([^<]+)</p>', refused.text)
    assert error is not None and message in error.group(1)
    api = client.get(
        "/api/v1/tenant/parameters", headers=bearer(state, TATEYAMA, "tenant_admin")
    ).json()
    assert api["version"] == version


def test_parameter_field_errors_are_next_to_their_fields(client: TestClient, tateyama: str) -> None:
    version = _version(client.get("/admin/parameters").text)
    bad = _parameters_form(
        tateyama,
        version,
        mayor_name="",
        kyuchi="特級地",
        **{"fees.tax_certificate": "-1", "fees.resident_record_copy": "三百"},
    )
    refused = _post_parameters(client, bad)
    assert refused.status_code == 422
    for name in ("mayor_name", "kyuchi", "fees.tax_certificate", "fees.resident_record_copy"):
        assert f'id="e-{name}"' in refused.text, name
    assert "0以上の値を入力してください。" in refused.text
    assert "整数で入力してください。" in refused.text
    assert _version(client.get("/admin/parameters").text) == version


def test_no_field_beyond_the_tenant_parameters(client: TestClient, tateyama: str, state) -> None:
    page = client.get("/admin/parameters").text
    form = re.search(r'<form method="post" action="/admin/parameters".*?</form>', page, re.S)
    assert form is not None
    names = set(re.findall(r'name="([^"]+)"', form.group(0)))
    allowed = {"csrf_token", "version", "reason", "seal_image", "seal_remove"}
    allowed |= {"mayor_title", "mayor_name", "kyuchi", "counter_hours"}
    allowed |= {
        f"fees.{n}"
        for n in (
            "resident_record_copy",
            "resident_record_extract",
            "removed_record_copy",
            "move_out_certificate",
            "disaster_damage_certificate",
            "tax_certificate",
        )
    }
    assert names <= allowed, names - allowed
    version = _version(page)
    smuggled = _parameters_form(tateyama, version, certificate_template="<h1>自前</h1>")
    assert _post_parameters(client, smuggled).status_code == 303
    api = client.get(
        "/api/v1/tenant/parameters", headers=bearer(state, TATEYAMA, "tenant_admin")
    ).json()
    assert "certificate_template" not in api["parameters"]
