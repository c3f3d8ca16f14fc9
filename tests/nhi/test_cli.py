"""``jichitai nhi simulate FILE.json``: the breakdown in Japanese, exit 1 on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from jichitai.cli import app
from tests.nhi.premium_support import body, rates_dict

runner = CliRunner()


def write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "household.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_prints_the_breakdown_of_the_worked_example(tmp_path: Path) -> None:
    result = runner.invoke(app, ["nhi", "simulate", write(tmp_path, body())])
    assert result.exit_code == 0, result.output
    for text in ("令和7年度", "医療分", "介護分", "所得割", "213,310", "330,310", "81,340"):
        assert text in result.output
    assert "軽減なし" in result.output
    assert "端数処理前の合計は 479,640 円です。" in result.output
    assert "年額は 479,500 円です" in result.output


def test_prints_the_child_support_column_and_a_reduction(tmp_path: Path) -> None:
    data = body(2026)
    data["members"] = [{**m, "income": 0} for m in data["members"]]
    result = runner.invoke(app, ["nhi", "simulate", write(tmp_path, data)])
    assert result.exit_code == 0, result.output
    assert "子ども支援金分" in result.output
    assert "7割軽減" in result.output


def test_bad_input_exits_1_with_japanese_messages(tmp_path: Path) -> None:
    data = body(fiscal_year=2024)
    data["members"] = [{"birth_date": "1975-04-02", "months": 0}]
    result = runner.invoke(app, ["nhi", "simulate", write(tmp_path, data)])
    assert result.exit_code == 1
    assert "入力内容に誤りがあります。" in result.output
    assert "対応していない年度です" in result.output
    assert "加入月数は1から12までの整数で指定してください。" in result.output


def test_a_cap_above_the_national_cap_exits_1(tmp_path: Path) -> None:
    data = body()
    data["rates"] = rates_dict() | {
        "long_term_care": rates_dict()["long_term_care"] | {"cap": 180_000}
    }
    result = runner.invoke(app, ["nhi", "simulate", write(tmp_path, data)])
    assert result.exit_code == 1
    assert (
        "介護納付金分の賦課限度額（180,000円）が令和7年度の法定限度額（170,000円）" in result.output
    )


def test_a_file_that_is_not_json_or_missing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["nhi", "simulate", str(broken)])
    assert result.exit_code == 1
    assert "JSON の形式が正しくありません" in result.output
    missing = runner.invoke(app, ["nhi", "simulate", str(tmp_path / "none.json")])
    assert missing.exit_code == 1
    assert "を読み込めません" in missing.output
