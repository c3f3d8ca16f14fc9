"""``jichitai tax simulate FILE.json``: the breakdown in Japanese, exit 1 on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from jichitai.cli import app
from tests.tax.factories import body

runner = CliRunner()


def write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "household.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_prints_the_breakdown_of_the_worked_example(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tax", "simulate", write(tmp_path, body())])
    assert result.exit_code == 0, result.output
    for text in ("令和8年度", "給与所得", "3,560,000", "課税総所得金額", "2,380,000", "141,300"):
        assert text in result.output
    assert "年税額は 240,500 円です" in result.output


def test_prints_dependants_and_the_exemption_reason(tmp_path: Path) -> None:
    data = body(
        grade=3,
        dependents=[{"birth_date": "2015-04-01", "income": 0}],
    )
    data["taxpayer"] = data["taxpayer"] | {"incomes": [{"kind": "salary", "revenue": 1_000_000}]}
    result = runner.invoke(app, ["tax", "simulate", write(tmp_path, data)])
    assert result.exit_code == 0, result.output
    assert "年少扶養親族" in result.output
    assert "非課税" in result.output
    assert "年税額は 0 円です" in result.output


def test_bad_input_exits_1_with_japanese_messages(tmp_path: Path) -> None:
    data = body(fiscal_year=2024, prefecture="ムー大陸")
    result = runner.invoke(app, ["tax", "simulate", write(tmp_path, data)])
    assert result.exit_code == 1
    assert "入力内容に誤りがあります。" in result.output
    assert "対応していない年度です" in result.output
    assert "都道府県名が正しくありません" in result.output


def test_a_file_that_is_not_json_or_missing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["tax", "simulate", str(broken)])
    assert result.exit_code == 1
    assert "JSON の形式が正しくありません" in result.output
    missing = runner.invoke(app, ["tax", "simulate", str(tmp_path / "none.json")])
    assert missing.exit_code == 1
    assert "を読み込めません" in missing.output
