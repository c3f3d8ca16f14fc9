"""``jichitai nhi …``: the NHI sub-command group; :mod:`jichitai.cli` adds it as ``nhi``.

Further NHI commands are registered on :data:`nhi_app` (``@nhi_app.command("name")``, or
``nhi_app.command("name")(function)`` for a command defined elsewhere).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nhi.assessment_cli import assess as assess_command
from nhi.assessment_cli import notices as notices_command
from nhi.jobs_cli import age_changes

nhi_app = typer.Typer(help="国民健康保険", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]エラー:[/red] {message}")
    return typer.Exit(code)


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
    import json

    from pydantic import ValidationError

    from core.errors import DomainError
    from core.japanese.era import fiscal_year_label
    from jichitai.errors import validation_details
    from nhi.simulation import COMPONENT_ROW_LABELS, SimulationInput, simulate

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError:
        raise _fail(f"{file} を読み込めません。") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _fail(f"{file} は JSON の形式が正しくありません。") from None
    try:
        result = simulate(SimulationInput.model_validate(data))
    except ValidationError as exc:
        lines = [
            f"  {d['field'] or '入力'}: {d['message']}"
            for d in validation_details([dict(e) for e in exc.errors()])
        ]
        raise _fail("\n".join(["入力内容に誤りがあります。", *lines])) from None
    except DomainError as exc:
        raise _fail(exc.message) from None

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


nhi_app.command("age-changes")(age_changes)
nhi_app.command("assess")(assess_command)
nhi_app.command("notices")(notices_command)
