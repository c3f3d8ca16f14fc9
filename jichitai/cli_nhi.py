"""``jichitai nhi …``: the NHI commands; :mod:`jichitai.cli` adds :data:`nhi_app` as ``nhi``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.db import make_engine, make_session_factory
from core.errors import DomainError
from core.scoping import TenantContext, TenantId, tenant_scope
from core.settings import get_settings
from core.uow import UnitOfWork
from jichitai.cli_common import (
    SYSTEM,
    BatchOutOption,
    TenantOption,
    YearOption,
    app_state,
    console,
    fail,
    invalid_input,
    member_scope,
    print_notices,
    progress,
    read_json,
    require_batch_out,
    require_member,
)
from tenancy import service

nhi_app = typer.Typer(help="国民健康保険", no_args_is_help=True)

# Four components side by side must fit a terminal 80 columns wide.
SHORT_LABELS = {
    "medical": "医療分",
    "elderly_support": "支援金分",
    "long_term_care": "介護分",
    "child_support": "子ども支援金分",
}


def _yen(value: object) -> str:
    return f"{value:,}"


@nhi_app.command("simulate")
def simulate_command(
    file: Annotated[Path, typer.Argument(help="世帯と料率を書いた JSON ファイル")],
) -> None:
    """Simulate a household's NHI premium from FILE (JSON, as POST /api/v1/nhi/simulate)."""
    from pydantic import ValidationError

    from core.japanese.era import fiscal_year_label
    from nhi.simulation import COMPONENT_ROW_LABELS, SimulationInput, simulate

    data = read_json(file)
    try:
        result = simulate(SimulationInput.model_validate(data))
    except ValidationError as exc:
        raise invalid_input(exc) from None
    except DomainError as exc:
        raise fail(exc.message) from None

    table = Table(
        "項目（円）",
        *(SHORT_LABELS[c.component] for c in result.components),
        title=f"{fiscal_year_label(result.fiscal_year)} 国民健康保険料（税）の試算",
    )
    # Rows that are zero in every component (no 資産割, no preschool child) would bury the rest.
    always = {"income_levy", "per_capita", "per_household", "cap", "after_cap", "amount"}
    for key, label in COMPONENT_ROW_LABELS.items():
        values = [getattr(c, key) for c in result.components]
        if any(values) or key in always:
            table.add_row(
                label, *(_yen(v) for v in values), style="bold" if key == "amount" else None
            )
    table.add_row("限度額の適用", *("あり" if c.cap_applied else "なし" for c in result.components))
    console.print(table)
    reduction = result.reduction
    console.print(
        f"軽減判定所得 {reduction.household_income:,} 円・給与所得者等 "
        f"{reduction.salary_earners} 人・被保険者等 {reduction.persons} 人: {reduction.label}"
    )
    console.print(f"端数処理前の合計は {_yen(result.total_before_rounding)} 円です。")
    console.print(f"年額は {_yen(result.total)} 円です（試算。住民の記録には保存していません）。")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("日付は YYYY-MM-DD の形式で指定してください。") from None


@nhi_app.command("age-changes")
def age_changes(
    tenant: TenantOption,
    date: Annotated[str, typer.Option(help="基準日（YYYY-MM-DD）")],
) -> None:
    """Apply the 75th-birthday losses (後期高齢者医療への移行) due on or before DATE."""
    from nhi.jobs import apply_age_changes

    on = _date(date)
    # The job publishes no events to handle: its changes go to the outbox directly. So it needs
    # no app state (no event bus, key ring or form catalog): a bare engine and sessions.
    engine = make_engine(get_settings().effective_database_url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            m = require_member(uow, tenant)
            with tenant_scope(uow.session, TenantContext(TenantId(m.id))):
                changed = apply_age_changes(uow.session, on)
                uow.commit()
    finally:
        engine.dispose()
    console.print(
        f"{m.name}: {on.isoformat()} までに75歳に達した {changed:,} 人の資格を喪失しました。"
    )


@nhi_app.command("assess")
def assess(
    tenant: TenantOption,
    year: YearOption,
    workers: Annotated[
        int | None,
        typer.Option(help="税額計算のプロセス数（省略時: 2万世帯以上はコア数）", min=1),
    ] = None,
) -> None:
    """Assess every NHI household of a fiscal year (当初賦課・更正): resumable, idempotent."""
    from nhi.assessment_service import assess_year

    state = app_state()
    try:
        with UnitOfWork(state.session_factory, state.bus) as uow:
            ctx = member_scope(uow, tenant)
            with (
                tenant_scope(uow.session, ctx),
                progress(f"{year}年度 国民健康保険税 賦課") as advance,
            ):
                try:
                    _version, params = service.current_parameters(uow.session)
                    report = assess_year(
                        uow.session, year, params, SYSTEM, progress=advance, workers=workers
                    )
                except DomainError as exc:
                    raise fail(exc.message) from None
    finally:
        state.engine.dispose()
    resumed = "（中断した処理を再開しました）" if report.resumed else ""
    console.print(
        f"{year}年度: 国保世帯 {report.households:,} 世帯{resumed} — 新規 {report.created:,} 件、"
        f"更正 {report.revised:,} 件、変更なし {report.unchanged:,} 件、"
        f"取消 {report.cancelled:,} 件。"
    )


@nhi_app.command("notices")
def notices(
    tenant: TenantOption,
    year: YearOption,
    out: BatchOutOption,
) -> None:
    """Issue and print the year's 国民健康保険税 納税通知書 in batch (one PDF or a zip)."""
    from nhi import notices as nhi_notices

    require_batch_out(out)
    state = app_state()
    try:
        print_notices(
            state,
            tenant,
            out,
            nhi_notices.FORM,
            lambda documents, issuer: nhi_notices.issue(documents, year, issuer),
            f"{year}年度に送付する納税通知書はありません（賦課処理は済んでいますか）。",
        )
    finally:
        state.engine.dispose()
