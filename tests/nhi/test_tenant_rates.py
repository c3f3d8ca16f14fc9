"""NHI rates as a tenant parameter: stored through the API, kept by the admin screen's form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import bearer, web_login
from tests.nhi.premium_support import rates_dict

FUNAHASHI = "163210"  # a member no other parameter test changes
URL = "/api/v1/tenant/parameters"


def _store_rates(client: TestClient, state, rates: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    admin = bearer(state, FUNAHASHI, "tenant_admin")
    current = client.get(URL, headers=admin).json()
    params = dict(current["parameters"], nhi=rates)
    response = client.put(
        URL,
        headers=admin,
        json={"version": current["version"], "parameters": params, "reason": "国保料率の設定"},
    )
    return response.status_code, response.json()


def test_rates_are_stored_and_read_back(client: TestClient, state) -> None:
    status, payload = _store_rates(client, state, rates_dict(2026))
    assert status == 200, payload
    nhi = payload["parameters"]["nhi"]
    assert nhi["medical"]["income_rate"] == "8.3"
    assert nhi["child_support"]["adult_per_capita"] == 100
    assert nhi["medical"]["rounding"] == "floor_100"


def test_bad_rates_are_refused_as_a_parameter_error(client: TestClient, state) -> None:
    bad = rates_dict() | {"medical": {"income_rate": "8.3", "per_capita": -1, "per_household": 0}}
    status, payload = _store_rates(client, state, bad)
    assert status == 422
    assert payload["code"] == "invalid_parameter"
    assert payload["details"][0]["field"] == "nhi.medical.per_capita"


def test_the_admin_form_keeps_the_rates(client: TestClient, state) -> None:
    status, _ = _store_rates(client, state, rates_dict(2026))
    assert status == 200
    csrf = web_login(client, FUNAHASHI, "tenant_admin")
    page = client.get("/admin/parameters")
    found = re.search(r'name="version" value="(\d+)"', page.text)
    assert found is not None
    form = {
        "csrf_token": csrf,
        "version": found.group(1),
        "mayor_title": "村長",
        "mayor_name": "舟橋 花子",
        "fees.resident_record_copy": "300",
        "fees.resident_record_extract": "300",
        "fees.removed_record_copy": "300",
        "fees.move_out_certificate": "0",
        "fees.disaster_damage_certificate": "0",
        "fees.tax_certificate": "300",
        "kyuchi": "3級地-2",
        "counter_hours": "8:30〜17:15",
        "reason": "首長の氏名",
    }
    files = {"seal_image": ("", b"", "application/octet-stream")}
    saved = client.post("/admin/parameters", data=form, files=files, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    after = client.get(URL, headers=bearer(state, FUNAHASHI, "tenant_admin")).json()
    assert after["parameters"]["mayor_name"] == "舟橋 花子"
    assert after["parameters"]["nhi"]["medical"]["per_capita"] == 30_200
