"""The simulation's input and output models: every figure out, Japanese messages for bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from jichitai.errors import validation_details
from nhi.rules.rates import RatesRejected
from nhi.simulation import (
    COMPONENT_ROW_LABELS,
    SimulationInput,
    SimulationResult,
    simulate,
    to_household,
)
from tests.nhi.premium_support import body, born, rates_dict


def run(data: dict[str, Any]) -> SimulationResult:
    return simulate(SimulationInput.model_validate(data))


def errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        SimulationInput.model_validate(data)
    return {
        d["field"]: d["message"]
        for d in validation_details([dict(e) for e in caught.value.errors()])
    }


def test_worked_example_gives_every_figure() -> None:
    result = run(body())
    medical, support, care = result.components
    assert (medical.label, support.label, care.label) == (
        "医療分",
        "後期高齢者支援金分",
        "介護納付金分",
    )
    assert [medical.income_levy, medical.per_capita, medical.per_household] == [
        213_310,
        90_600,
        26_400,
    ]
    assert [c.after_cap for c in result.components] == [330_310, 67_990, 81_340]
    assert result.total_before_rounding == 479_640
    assert [c.amount for c in result.components] == [330_300, 67_900, 81_300]
    assert result.total == 479_500
    assert result.reduction.label == "軽減なし"
    assert [m.levy_base for m in result.members] == [2_570_000, 0, 0]
    assert result.members[0].head and not result.members[1].head


def test_every_labelled_figure_exists() -> None:
    result = run(body()).model_dump()
    assert set(COMPONENT_ROW_LABELS) <= set(result["components"][0])


def test_json_output_has_numbers_and_exact_rates() -> None:
    data = body()
    data["members"] = [{"birth_date": born(30).isoformat(), "income": 3_000_000, "months": 5}]
    data["rates"] = rates_dict() | {
        "medical": rates_dict()["medical"] | {"rounding": "none"},
    }
    dumped = json.loads(run(data).model_dump_json())
    medical = dumped["components"][0]
    assert medical["after_cap"] == 112_462.5
    assert medical["amount"] == 112_462.5
    assert medical["per_household"] == 11_000
    assert isinstance(medical["per_household"], int)
    # 8.3 % × 2,570,000 × 5/12 = 88,879.1666…, shown to 1/10,000 yen.
    assert medical["income_levy"] == 88_879.1666
    assert dumped["reduction"]["limits"][0] == {"rate": "0.7", "label": "7割軽減", "limit": 430_000}


def test_fy2026_adds_the_child_support_component() -> None:
    result = run(body(2026))
    assert [c.component for c in result.components][-1] == "child_support"
    child = result.components[-1]
    assert child.label == "子ども・子育て支援金分"
    # 0.3 % × 2,570,000 = 7,710 + (1,800 + 100) × 3 adults = 13,410.
    assert child.after_cap == 13_410
    assert child.amount == 13_400
    # FY2026 medical cap is 67万.
    assert result.components[0].cap == 670_000


def test_the_head_can_be_a_nominal_head() -> None:
    result = run(body(head_insured=False))
    assert result.members[0].insured is False
    assert result.components[0].income_levy == 0
    assert result.components[0].per_capita == 60_400
    # The head's 300万 still counts for the reduction test.
    assert result.reduction.household_income == 3_000_000
    same = run(
        body() | {"members": [{**body()["members"][0], "insured": False}, *body()["members"][1:]]}
    )
    assert same.total == result.total


def test_the_head_defaults_to_insured() -> None:
    household = to_household(SimulationInput.model_validate(body()))
    assert [m.insured for m in household.members] == [True, True, True]
    assert household.head.income == 3_000_000


def test_caps_above_the_national_cap_are_a_domain_error() -> None:
    data = body()
    data["rates"] = rates_dict() | {"medical": rates_dict()["medical"] | {"cap": 670_000}}
    with pytest.raises(RatesRejected) as caught:
        run(data)
    assert caught.value.error_code == "nhi_cap_above_national"
    assert caught.value.message == (
        "医療分の賦課限度額（670,000円）が令和7年度の法定限度額（660,000円）を超えています。"
    )


def test_unknown_fiscal_year() -> None:
    assert errors(body(fiscal_year=2024)) == {
        "fiscal_year": "対応していない年度です（対応している年度: 2025年度、2026年度）。"
    }


def test_bad_members_get_japanese_messages() -> None:
    data = body()
    data["members"] = [
        {"birth_date": "1975-04-02", "income": -1, "months": 13},
        {"birth_date": "昭和", "salary_revenue": 1.5, "months": 0},
        {"birth_date": "1980-01-01", "pension_revenue": "多い", "insured": "maybe"},
    ]
    found = errors(data)
    months = "加入月数は1から12までの整数で指定してください。"
    assert found["members.0.income"] == "0以上の値を入力してください。"
    assert found["members.0.months"] == months
    assert found["members.1.months"] == months
    assert found["members.1.birth_date"].startswith("生年月日は 1985-04-01 または")
    assert found["members.1.salary_revenue"] == "整数で入力してください。"
    assert found["members.2.pension_revenue"] == "整数で入力してください。"
    assert found["members.2.insured"] == "真偽値で入力してください。"


def test_a_birth_date_after_the_fiscal_year_is_refused() -> None:
    data = body()
    data["members"] = [*data["members"], {"birth_date": "2026-04-01"}]
    assert errors(data) == {
        "members": "4人目の生年月日は2026年3月31日以前の日付を指定してください（年度末まで）。"
    }


def test_a_baby_born_during_the_year_is_insured_from_birth() -> None:
    data = body()
    data["members"] = [*data["members"], {"birth_date": "2025-10-20", "months": 6}]
    result = run(data)
    assert result.members[3].preschool
    assert result.components[0].per_capita == 90_600 + 30_200 * 6 // 12 // 2
    data["members"][3]["months"] = 7
    assert errors(data) == {
        "members": "4人目の加入月数は6か月以下にしてください"
        "（出生月から、また75歳の誕生月の前月までで数えます）。"
    }


def test_someone_75_at_the_start_cannot_be_insured() -> None:
    data = body()
    data["members"] = [*data["members"], {"birth_date": "1950-04-01"}]
    assert errors(data) == {
        "members": "4人目は年度の初めに75歳以上のため、国保ではなく後期高齢者医療の対象です。"
    }
    # …but can be a nominal head, or a 特定同一世帯所属者.
    data["members"][3] = {"birth_date": "1950-04-01", "insured": False, "former_insured": True}
    assert run(data).reduction.persons == 4


def test_turning_75_limits_the_months() -> None:
    data = body()
    data["members"] = [*data["members"], {"birth_date": "1950-10-15", "months": 7}]
    assert "6か月以下" in errors(data)["members"]
    data["members"][3]["months"] = 6
    assert run(data).members[3].months == 6


def test_head_insured_must_agree_with_the_head() -> None:
    data = body(head_insured=False)
    data["members"] = [{**data["members"][0], "insured": True}, *data["members"][1:]]
    assert errors(data) == {
        "members": "head_insured と世帯主（members[0]）の insured が食い違っています。"
    }


def test_someone_must_be_insured() -> None:
    data = body(members=[{"birth_date": "1975-04-02", "insured": False}])
    assert errors(data) == {
        "members": "国保の被保険者が1人もいません（insured を確認してください）。"
    }


def test_a_former_insured_member_is_not_insured() -> None:
    data = body()
    data["members"] = [*data["members"], {"birth_date": "1949-01-01", "former_insured": True}]
    assert "特定同一世帯所属者（former_insured）は" in errors(data)["members"]


def test_structure_errors() -> None:
    found = errors({"fiscal_year": "2025", "rates": [], "members": [], "extra": 1})
    assert found["fiscal_year"] == "整数で入力してください。"
    assert found["rates"] == "オブジェクトで指定してください。"
    assert found["members"] == "1件以上指定してください。"
    assert found["extra"] == "この項目は指定できません。"
