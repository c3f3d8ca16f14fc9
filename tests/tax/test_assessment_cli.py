"""``jichitai tax import / assess / notices`` on a fresh SQLite deployment with a demo register."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from core.scoping import TenantContext, TenantId
from core.settings import get_settings
from core.uow import UnitOfWork
from jichitai.cli import app
from jichitai.state import AppState
from resident_records.queries import persons_by_id, residents_on
from tax.intake import DocumentKind, IncomeRecord, format_csv
from tax.rules.facts import IncomeKind
from tenancy import service as tenancy_service
from tests.helpers import IMIZU, cli_environment

runner = CliRunner()


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cli_environment(tmp_path, monkeypatch)
    result = runner.invoke(app, ["demo", "--residents", "300"])
    assert result.exit_code == 0, result.output
    yield tmp_path
    get_settings.cache_clear()


def _income_file(tmp_path: Path) -> Path:
    """A declaration of business income for the first ten adults of 射水市 on 1 January."""
    state = AppState.from_settings(get_settings())
    try:
        with UnitOfWork(state.session_factory) as uow:
            m = tenancy_service.require_municipality(uow.session, IMIZU)
            uow.set_tenant(TenantContext(TenantId(m.id)))
            adults = [
                r
                for r in residents_on(uow.session, dt.date(2026, 1, 1))
                if r.birth_date is not None and r.birth_date.year < 2000
            ][:10]
            briefs = persons_by_id(uow.session, [r.person_id for r in adults])
    finally:
        state.engine.dispose()
    records = [
        IncomeRecord(
            fiscal_year=2026,
            document=DocumentKind.DECLARATION,
            atena_number=briefs[r.person_id].atena_number,
            name=f"{briefs[r.person_id].family_name} {briefs[r.person_id].given_name}",
            name_kana="カゼイ タロウ",
            birth_date=r.birth_date,
            address="富山県射水市",
            income_kind=IncomeKind.BUSINESS,
            revenue=3_000_000 + n * 100_000,
        )
        for n, r in enumerate(adults)
        if r.birth_date is not None
    ]
    path = tmp_path / "declarations.csv"
    path.write_text(format_csv(records), encoding="utf-8")
    return path


def test_import_assess_again_and_print_the_notices(deployment: Path) -> None:
    path = _income_file(deployment)
    imported = runner.invoke(app, ["tax", "import", str(path), "--tenant", IMIZU])
    assert imported.exit_code == 0, imported.output
    assert "2026年度の所得 10 件を取り込みました" in imported.output
    again = runner.invoke(app, ["tax", "import", str(path), "--tenant", IMIZU])
    assert again.exit_code == 0 and "取込済み" in again.output

    first = runner.invoke(app, ["tax", "assess", "--tenant", IMIZU, "--year", "2026"])
    assert first.exit_code == 0, first.output
    assert "更正 0 件、変更なし 0 件" in first.output
    second = runner.invoke(app, ["tax", "assess", "--tenant", IMIZU, "--year", "2026"])
    assert second.exit_code == 0, second.output
    assert "新規 0 件、更正 0 件" in second.output

    out = deployment / "notices.pdf"
    printed = runner.invoke(
        app, ["tax", "notices", "--tenant", IMIZU, "--year", "2026", "--out", str(out)]
    )
    assert printed.exit_code == 0, printed.output
    assert "10 通" in printed.output
    pages = PdfReader(io.BytesIO(out.read_bytes())).pages
    assert len(pages) >= 10
    assert "納税通知書" in pages[0].extract_text().replace(" ", "")


def test_bad_input_is_refused_with_a_japanese_message(deployment: Path) -> None:
    bad = deployment / "bad.csv"
    bad.write_text("fiscal_year\n2026\n", encoding="utf-8")
    result = runner.invoke(app, ["tax", "import", str(bad), "--tenant", IMIZU])
    assert result.exit_code == 1
    assert "ファイル全体を取り込みませんでした" in result.output
    year = runner.invoke(app, ["tax", "assess", "--tenant", IMIZU, "--year", "2019"])
    assert year.exit_code == 1 and "2019年度の税率等は登録されていません" in year.output
    unknown = runner.invoke(app, ["tax", "assess", "--tenant", "999999", "--year", "2026"])
    assert unknown.exit_code == 1
    kind = runner.invoke(
        app,
        ["tax", "notices", "--tenant", IMIZU, "--year", "2026", "--out", "x.txt"],
    )
    assert kind.exit_code == 1 and ".pdf または .zip" in kind.output
