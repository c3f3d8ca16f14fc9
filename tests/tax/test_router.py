"""POST /api/v1/tax/simulate: authentication, roles, the breakdown and Japanese 422s."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import IMIZU, bearer, operator_headers
from tests.tax.factories import body

URL = "/api/v1/tax/simulate"


def test_without_credentials_is_401(client: TestClient) -> None:
    response = client.post(URL, json=body())
    assert response.status_code == 401
    assert response.json()["message"] == "ログインが必要です。"


@pytest.mark.parametrize("role", ["nhi_officer", "welfare_officer", "tenant_admin"])
def test_a_role_without_access_is_403(client: TestClient, state, role: str) -> None:
    response = client.post(URL, json=body(), headers=bearer(state, IMIZU, role))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("role", ["tax_officer", "clerk", "supervisor"])
def test_allowed_roles_get_the_breakdown(client: TestClient, state, role: str) -> None:
    response = client.post(URL, json=body(), headers=bearer(state, IMIZU, role))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["taxable_income"] == 2_380_000
    assert result["municipal_income_levy"] == 141_300
    assert result["total"] == 240_500


def test_bad_input_is_422_with_a_japanese_message_per_field(client: TestClient, state) -> None:
    bad = body(fiscal_year=2024, grade=4, prefecture="ムー大陸")
    bad["taxpayer"] = bad["taxpayer"] | {"incomes": [{"kind": "bonus", "revenue": -1}]}
    response = client.post(URL, json=bad, headers=bearer(state, IMIZU, "tax_officer"))
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "validation_error"
    assert payload["message"].startswith("入力内容に誤りがあります。")
    messages = {d["field"]: d["message"] for d in payload["details"]}
    assert (
        messages["fiscal_year"]
        == "対応していない年度です（対応している年度: 2025年度、2026年度）。"
    )
    assert messages["grade"] == "3以下の値を入力してください。"
    assert messages["prefecture"] == "都道府県名が正しくありません（例: 富山県、東京都、北海道）。"
    assert messages["taxpayer.incomes.0.kind"].startswith("選択肢の中から選んでください")
    assert messages["taxpayer.incomes.0.revenue"] == "0以上の値を入力してください。"


def test_credentials_are_checked_before_the_body(client: TestClient) -> None:
    # No caller learns how the endpoint validates without logging in.
    assert client.post(URL, json={"fiscal_year": "x"}).status_code == 401


def test_the_route_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][URL]["post"]
    assert "個人住民税の試算" in operation["summary"] + operation.get("description", "")


def test_the_data_center_operator_is_403(client: TestClient) -> None:
    headers = operator_headers(client)
    response = client.post(URL, json=body(), headers=headers)
    assert response.status_code == 403
