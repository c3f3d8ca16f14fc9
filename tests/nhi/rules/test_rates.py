"""A municipality's rates: the typed tenant parameter, rounding, the check against national caps."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from jichitai.errors import validation_details
from nhi.rules.parameters import Component, load_parameters
from nhi.rules.rates import NhiRates, RatesRejected, Rounding, check_rates, effective_cap
from tenancy.parameters import TenantParameters
from tests.nhi.premium_support import CHILD_SUPPORT_RATES, rates, rates_dict


def messages(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        NhiRates.model_validate(data)
    return {
        d["field"]: d["message"]
        for d in validation_details([dict(e) for e in caught.value.errors()])
    }


def test_rates_are_percentages_kept_exact() -> None:
    r = rates()
    assert r.medical.income_rate == Decimal("8.3")
    assert NhiRates.model_validate(
        rates_dict() | {"medical": {"income_rate": 8.3, "per_capita": 0, "per_household": 0}}
    ).medical.income_rate == Decimal("8.3")
    assert r.medical.rounding is Rounding.FLOOR_100
    assert r.medical.cap is None
    assert r.child_support is None


def test_bad_rates_get_japanese_messages() -> None:
    bad = rates_dict() | {
        "medical": {"income_rate": "101", "per_capita": -1, "per_household": "x"},
        "elderly_support": {
            "income_rate": "1.23456",
            "per_capita": 0,
            "per_household": 0,
            "asset_rate": "abc",
            "rounding": "round_half",
        },
    }
    found = messages(bad)
    percent = "料率は0以上100以下の百分率（小数点以下4桁まで。例: 8.3）で指定してください。"
    assert found["medical.income_rate"] == percent
    assert found["medical.per_capita"] == "0以上の値を入力してください。"
    assert found["medical.per_household"] == "整数で入力してください。"
    assert found["elderly_support.income_rate"] == percent
    assert found["elderly_support.asset_rate"] == percent
    assert found["elderly_support.rounding"].startswith("選択肢の中から選んでください")


def test_unknown_fields_are_refused() -> None:
    found = messages(rates_dict() | {"dental": {}})
    assert found["dental"] == "この項目は指定できません。"


def test_tenant_parameters_carry_nhi_rates() -> None:
    assert TenantParameters().nhi is None
    params = TenantParameters.model_validate({"nhi": rates_dict(2026)})
    assert params.nhi == rates(2026)
    again = TenantParameters.model_validate(params.model_dump(mode="json"))
    assert again.nhi == params.nhi
    with pytest.raises(ValidationError):
        TenantParameters.model_validate({"nhi": rates_dict() | {"template": "x"}})


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        (Rounding.NONE, Fraction(123_456_789, 1000)),
        (Rounding.FLOOR_1, Fraction(123_456)),
        (Rounding.FLOOR_10, Fraction(123_450)),
        (Rounding.FLOOR_100, Fraction(123_400)),
        (Rounding.FLOOR_1000, Fraction(123_000)),
    ],
)
def test_rounding(rounding: Rounding, expected: Fraction) -> None:
    assert rounding.apply(Fraction(123_456_789, 1000)) == expected
    assert rounding.apply(Fraction(-5)) == 0


def test_the_cap_defaults_to_the_national_one() -> None:
    params = load_parameters(2026)
    assert effective_cap(rates(2026).medical, Component.MEDICAL, params) == 670_000
    own = rates(
        2026, medical={"income_rate": "8", "per_capita": 0, "per_household": 0, "cap": 600_000}
    )
    assert effective_cap(own.medical, Component.MEDICAL, params) == 600_000


@pytest.mark.parametrize(
    ("year", "component", "national"),
    [
        (2025, "medical", 660_000),
        (2025, "elderly_support", 260_000),
        (2025, "long_term_care", 170_000),
        (2026, "medical", 670_000),
        (2026, "elderly_support", 260_000),
        (2026, "long_term_care", 170_000),
        (2026, "child_support", 30_000),
    ],
)
def test_a_cap_above_the_national_cap_is_refused(year: int, component: str, national: int) -> None:
    params = load_parameters(year)
    base = rates_dict(year)
    at = NhiRates.model_validate(base | {component: base[component] | {"cap": national}})
    check_rates(at, params)  # equal to the national cap is allowed
    above = NhiRates.model_validate(base | {component: base[component] | {"cap": national + 1}})
    with pytest.raises(RatesRejected) as caught:
        check_rates(above, params)
    error = caught.value
    assert error.status_code == 422
    assert error.error_code == "nhi_cap_above_national"
    assert f"（{national + 1:,}円）" in error.message
    assert f"法定限度額（{national:,}円）を超えています。" in error.message
    assert error.details[0]["component"] == component


def test_fy2026_needs_the_child_support_rates_and_fy2025_refuses_them() -> None:
    with pytest.raises(RatesRejected) as missing:
        check_rates(rates(2025), load_parameters(2026))
    assert missing.value.error_code == "nhi_component_missing"
    assert missing.value.message == "令和8年度は子ども・子育て支援金分の料率が必要です。"
    with pytest.raises(RatesRejected) as extra:
        check_rates(rates(2025, child_support=CHILD_SUPPORT_RATES), load_parameters(2025))
    assert extra.value.error_code == "nhi_component_not_in_year"
    assert "令和7年度には子ども・子育て支援金分はありません" in extra.value.message


def test_every_problem_is_in_the_details() -> None:
    base = rates_dict(2026)
    bad = NhiRates.model_validate(
        base
        | {
            "medical": base["medical"] | {"cap": 700_000},
            "long_term_care": base["long_term_care"] | {"cap": 180_000},
        }
    )
    with pytest.raises(RatesRejected) as caught:
        check_rates(bad, load_parameters(2026))
    assert [d["component"] for d in caught.value.details] == ["medical", "long_term_care"]
    assert caught.value.message.startswith("医療分の賦課限度額")
