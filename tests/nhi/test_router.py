"""POST /api/v1/nhi/simulate: authentication, roles, the breakdown and Japanese 422s."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import IMIZU, bearer, operator_headers
from tests.nhi.premium_support import body, rates_dict

URL = "/api/v1/nhi/simulate"


def test_without_credentials_is_401(client: TestClient) -> None:
    response = client.post(URL, json=body())
    assert response.status_code == 401
    assert response.json()["message"] == "ログインが必要です。"


@pytest.mark.parametrize("role", ["tax_officer", "welfare_officer", "tenant_admin"])
def test_a_role_without_access_is_403(client: TestClient, state, role: str) -> None:
    response = client.post(URL, json=body(), headers=bearer(state, IMIZU, role))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("role", ["nhi_officer", "clerk", "supervisor"])
def test_allowed_roles_get_the_breakdown(client: TestClient, state, role: str) -> None:
    response = client.post(URL, json=body(), headers=bearer(state, IMIZU, role))
    assert response.status_code == 200, response.text
    result = response.json()
    medical, support, care = result["components"]
    assert (medical["income_levy"], medical["per_capita"], medical["per_household"]) == (
        213_310,
        90_600,
        26_400,
    )
    assert [c["after_cap"] for c in result["components"]] == [330_310, 67_990, 81_340]
    assert (support["amount"], care["amount"]) == (67_900, 81_300)
    assert result["total_before_rounding"] == 479_640
    assert result["total"] == 479_500
    assert result["reduction"]["rate"] == "0"
    assert medical["cap_applied"] is False


def test_a_cap_above_the_national_cap_is_422_with_a_stable_code(client: TestClient, state) -> None:
    data = body(2026)
    data["rates"] = rates_dict(2026) | {
        "child_support": rates_dict(2026)["child_support"] | {"cap": 30_001}
    }
    response = client.post(URL, json=data, headers=bearer(state, IMIZU, "nhi_officer"))
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "nhi_cap_above_national"
    assert payload["message"] == (
        "子ども・子育て支援金分の賦課限度額（30,001円）が令和8年度の法定限度額（30,000円）を"
        "超えています。"
    )
    assert payload["details"][0]["national_cap"] == 30_000


def test_fy2026_without_child_support_rates_is_422(client: TestClient, state) -> None:
    data = body(2026, rates=rates_dict(2025))
    response = client.post(URL, json=data, headers=bearer(state, IMIZU, "nhi_officer"))
    assert response.status_code == 422
    assert response.json()["code"] == "nhi_component_missing"


def test_bad_input_is_422_with_a_japanese_message_per_field(client: TestClient, state) -> None:
    bad = body(fiscal_year=2030)
    bad["members"] = [
        {"birth_date": "2099-01-01", "income": -5, "months": 13},
    ]
    response = client.post(URL, json=bad, headers=bearer(state, IMIZU, "nhi_officer"))
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "validation_error"
    assert payload["message"].startswith("入力内容に誤りがあります。")
    messages = {d["field"]: d["message"] for d in payload["details"]}
    assert messages["fiscal_year"] == (
        "対応していない年度です（対応している年度: 2025年度、2026年度）。"
    )
    assert messages["members.0.income"] == "0以上の値を入力してください。"
    assert messages["members.0.months"] == "加入月数は1から12までの整数で指定してください。"


def test_a_future_birth_date_is_422(client: TestClient, state) -> None:
    data = body()
    data["members"] = [*data["members"], {"birth_date": "2099-01-01"}]
    response = client.post(URL, json=data, headers=bearer(state, IMIZU, "nhi_officer"))
    assert response.status_code == 422
    messages = {d["field"]: d["message"] for d in response.json()["details"]}
    assert messages["members"] == (
        "4人目の生年月日は2026年3月31日以前の日付を指定してください（年度末まで）。"
    )


def test_credentials_are_checked_before_the_body(client: TestClient) -> None:
    # No caller learns how the endpoint validates without logging in.
    assert client.post(URL, json={"fiscal_year": "x"}).status_code == 401


def test_the_route_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][URL]["post"]
    text = operation["summary"] + operation.get("description", "")
    assert "国民健康保険料（税）の試算" in text
    assert "members[0]" in text
    assert "nhi_cap_above_national" in text


def test_the_data_center_operator_is_403(client: TestClient) -> None:
    headers = operator_headers(client)
    response = client.post(URL, json=body(), headers=headers)
    assert response.status_code == 403
