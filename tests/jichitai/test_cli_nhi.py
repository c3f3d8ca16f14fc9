"""``jichitai nhi …`` (:mod:`jichitai.cli_nhi`): ``simulate FILE.json`` prints the breakdown in
Japanese (exit 1 on bad input); ``assess`` and ``notices`` on a fresh SQLite deployment with a demo
register. (``age-changes`` is tested with the age job in tests/nhi/test_jobs.py.)
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from core import audit
from core.scoping import TenantContext, TenantId
from core.settings import get_settings
from core.uow import UnitOfWork
from jichitai.cli import app
from jichitai.state import AppState
from nhi.service import enrol_population
from tenancy import service as tenancy_service
from tests.helpers import IMIZU, cli_environment
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


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cli_environment(tmp_path, monkeypatch)
    result = runner.invoke(app, ["demo", "--residents", "120"])
    assert result.exit_code == 0, result.output
    yield tmp_path
    get_settings.cache_clear()


def _enrol_and_set_rates() -> int:
    """The demo register's residents brought into NHI, and the city's FY2026 rates set."""
    state = AppState.from_settings(get_settings())
    try:
        with UnitOfWork(state.session_factory) as uow:
            m = tenancy_service.require_municipality(uow.session, IMIZU)
            uow.set_tenant(TenantContext(TenantId(m.id)))
            enrolled = enrol_population(uow.session, dt.date(2026, 3, 1))
            version, params = tenancy_service.current_parameters(uow.session)
            tenancy_service.update_parameters(
                uow.session,
                params.model_dump(mode="json") | {"nhi": rates_dict(2026)},
                expected_version=version,
                actor=audit.Actor("staff", "nhi-cli-test"),
                reason="国民健康保険税条例の改正",
            )
            uow.commit()
    finally:
        state.engine.dispose()
    return enrolled


def test_assess_again_and_print_the_notices(deployment: Path) -> None:
    unset = runner.invoke(app, ["nhi", "assess", "--tenant", IMIZU, "--year", "2026"])
    assert unset.exit_code == 1
    assert "国民健康保険税の税率が設定されていません" in unset.output

    assert _enrol_and_set_rates() > 0
    first = runner.invoke(app, ["nhi", "assess", "--tenant", IMIZU, "--year", "2026"])
    assert first.exit_code == 0, first.output
    assert "更正 0 件、変更なし 0 件、取消 0 件" in first.output
    households = int(first.output.split("国保世帯 ")[1].split(" 世帯")[0].replace(",", ""))
    assert households > 0 and f"新規 {households:,} 件" in first.output
    second = runner.invoke(app, ["nhi", "assess", "--tenant", IMIZU, "--year", "2026"])
    assert second.exit_code == 0, second.output
    assert f"新規 0 件、更正 0 件、変更なし {households:,} 件" in second.output

    out = deployment / "notices.zip"
    printed = runner.invoke(
        app, ["nhi", "notices", "--tenant", IMIZU, "--year", "2026", "--out", str(out)]
    )
    assert printed.exit_code == 0, printed.output
    assert f"{households:,} 通" in printed.output
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert len(names) == households
        first_pdf = archive.read(names[0])
    text = PdfReader(io.BytesIO(first_pdf)).pages[0].extract_text().replace(" ", "")
    assert "国民健康保険税納税通知書" in text and "第1期" in text


def test_bad_input_is_refused_with_a_japanese_message(deployment: Path) -> None:
    year = runner.invoke(app, ["nhi", "assess", "--tenant", IMIZU, "--year", "2019"])
    assert year.exit_code == 1 and "2019年度の国民健康保険税の賦課基準は登録されていません" in (
        year.output
    )
    unknown = runner.invoke(app, ["nhi", "assess", "--tenant", "999999", "--year", "2026"])
    assert unknown.exit_code == 1
    suffix = runner.invoke(
        app, ["nhi", "notices", "--tenant", IMIZU, "--year", "2026", "--out", "x.txt"]
    )
    assert suffix.exit_code == 1 and ".pdf または .zip" in suffix.output
    nothing = runner.invoke(
        app, ["nhi", "notices", "--tenant", IMIZU, "--year", "2026", "--out", "x.pdf"]
    )
    assert nothing.exit_code == 1 and "送付する納税通知書はありません" in nothing.output
