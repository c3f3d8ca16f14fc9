"""The simulation's input and output models: every figure out, Japanese messages for bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from jichitai.errors import validation_details
from tax.rules.exemption import ExemptionReason
from tax.rules.facts import Disability, SingleParent
from tax.simulation import RESULT_LABELS, SimulationInput, SimulationResult, simulate
from tests.tax.factories import body


def run(**over: Any) -> SimulationResult:
    return simulate(SimulationInput.model_validate(body(**over)))


def errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        SimulationInput.model_validate(data)
    return {
        d["field"]: d["message"]
        for d in validation_details([dict(e) for e in caught.value.errors()])
    }


def test_worked_example_gives_every_figure() -> None:
    result = run()
    assert result.salary_income == 3_560_000
    assert result.total_income == 3_560_000
    assert result.social_insurance_deduction == 750_000
    assert result.basic_deduction == 430_000
    assert result.income_deductions == 1_180_000
    assert result.taxable_income == 2_380_000
    assert result.adjustment_credit == 2_500
    assert result.municipal_income_levy == 141_300
    assert result.prefectural_income_levy == 94_200
    assert result.per_capita_levy == 4_000
    assert result.forest_environment_tax == 1_000
    assert result.exempt.model_dump() == {
        "per_capita_levy": False,
        "income_levy": False,
        "reason": None,
        "message": None,
    }
    assert result.total == 240_500


def test_every_labelled_figure_exists() -> None:
    result = run().model_dump()
    assert set(RESULT_LABELS) <= set(result)


def test_json_output_keeps_rates_exact() -> None:
    dumped = run(designated_city=True).model_dump(mode="json")
    assert (dumped["municipal_income_rate"], dumped["prefectural_income_rate"]) == ("0.08", "0.02")


def test_exempt_carries_its_reason() -> None:
    taxpayer = body()["taxpayer"] | {"livelihood_assistance": True}
    result = run(taxpayer=taxpayer)
    assert result.exempt.reason == ExemptionReason.LIVELIHOOD_ASSISTANCE
    assert result.exempt.message == "生活保護法による生活扶助を受けているため非課税"
    assert result.total == 0


def test_family_and_dependant_breakdown() -> None:
    result = run(
        spouse={"birth_date": "1986-01-01", "income": 0},
        dependents=[
            {"birth_date": "2005-04-01", "income": 0},
            {"birth_date": "2015-04-01", "income": 0, "disabled": "special", "lives_with": True},
        ],
    )
    assert result.spouse_deduction == 330_000
    assert [d.category for d in result.dependents] == ["specified", "young"]
    assert result.dependents[1].disability_deduction == 530_000
    assert result.household_size == 4


def test_birth_dates_in_japanese_era_are_accepted() -> None:
    data = body()
    data["taxpayer"] = data["taxpayer"] | {"birth_date": "昭和60年5月1日"}
    assert SimulationInput.model_validate(data).taxpayer.birth_date == dt.date(1985, 5, 1)


def test_disabled_true_means_ordinary_and_single_parent_needs_mother_or_father() -> None:
    data = body()
    data["taxpayer"] = data["taxpayer"] | {"disabled": True, "single_parent": "father"}
    parsed = SimulationInput.model_validate(data)
    assert parsed.taxpayer.disabled == Disability.ORDINARY
    assert parsed.taxpayer.single_parent == SingleParent.FATHER
    data["taxpayer"] = data["taxpayer"] | {"single_parent": True}
    message = "ひとり親の場合は mother（母）または father（父）を指定してください。"
    assert errors(data) == {"taxpayer.single_parent": message}


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        (
            {"fiscal_year": 2024},
            "fiscal_year",
            "対応していない年度です（対応している年度: 2025年度、2026年度）。",
        ),
        ({"grade": 0}, "grade", "1以上の値を入力してください。"),
        ({"grade": 4}, "grade", "3以下の値を入力してください。"),
        (
            {"prefecture": "トーキョー"},
            "prefecture",
            "都道府県名が正しくありません（例: 富山県、東京都、北海道）。",
        ),
        ({"taxpayer": "太郎"}, "taxpayer", "オブジェクトで指定してください。"),
        (
            {"dependents": [{"birth_date": "2026-01-05"}]},
            "dependents",
            "1人目の親族の生年月日は2025年12月31日以前の日付を指定してください（年度の前年12月31日現在で判定します）。",
        ),
        ({"surprise": 1}, "surprise", "この項目は指定できません。"),
    ],
)
def test_bad_input_gets_a_japanese_message_per_field(
    over: dict[str, Any], field: str, message: str
) -> None:
    assert errors(body(**over))[field] == message


def test_bad_incomes_get_japanese_messages() -> None:
    data = body()
    data["taxpayer"] = data["taxpayer"] | {
        "incomes": [{"kind": "bonus", "revenue": 1}, {"kind": "salary", "revenue": -1}],
        "birth_date": "いつか",
        "social_insurance": 1.5,
    }
    found = errors(data)
    assert found["taxpayer.incomes.0.kind"].startswith("選択肢の中から選んでください")
    assert found["taxpayer.incomes.1.revenue"] == "0以上の値を入力してください。"
    assert found["taxpayer.birth_date"] == (
        "生年月日は 1985-04-01 または 昭和60年4月1日 の形式で入力してください。"
    )
    assert found["taxpayer.social_insurance"] == "整数で入力してください。"


def test_missing_fields_are_reported() -> None:
    assert errors({"fiscal_year": 2026}) == {
        "grade": "必須項目です。",
        "prefecture": "必須項目です。",
        "taxpayer": "必須項目です。",
    }
