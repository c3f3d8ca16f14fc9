"""``jichitai nhi assess`` and ``jichitai nhi notices`` (registered on ``nhi.cli.nhi_app``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from core import audit
from core.errors import DomainError
from core.scoping import TenantContext, TenantId, tenant_scope
from core.settings import get_settings
from core.uow import UnitOfWork
from tenancy import service

if TYPE_CHECKING:
    from jichitai.state import AppState

console = Console()
err = Console(stderr=True)
SYSTEM = audit.Actor.system("cli")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]エラー:[/red] {message}")
    return typer.Exit(1)


def _state() -> AppState:
    from forms.manifest import CatalogTampered
    from jichitai.state import AppState

    try:
        return AppState.from_settings(get_settings())
    except CatalogTampered as exc:
        raise _fail(str(exc)) from exc


def _scope(uow: UnitOfWork, lg_code: str) -> TenantContext:
    try:
        m = service.require_municipality(uow.session, lg_code)
    except DomainError as exc:
        raise _fail(exc.message) from None
    return TenantContext(TenantId(m.id))


def assess(
    tenant: Annotated[str, typer.Option(help="団体コード（6桁）")],
    year: Annotated[int, typer.Option(help="年度（例: 2026）")],
    workers: Annotated[
        int | None,
        typer.Option(help="税額計算のプロセス数（省略時: 2万世帯以上はコア数）", min=1),
    ] = None,
) -> None:
    """Assess every NHI household of a fiscal year (当初賦課・更正): resumable, idempotent."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nhi.assessment_service import assess_year

    state = _state()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with UnitOfWork(state.session_factory, state.bus) as uow:
            ctx = _scope(uow, tenant)
            with tenant_scope(uow.session, ctx), Progress(*columns, console=console) as bars:
                task = bars.add_task(f"{year}年度 国民健康保険税 賦課", total=None)

                def advance(done: int, total: int) -> None:
                    bars.update(task, completed=done, total=total)

                try:
                    _version, params = service.current_parameters(uow.session)
                    report = assess_year(
                        uow.session, year, params, SYSTEM, progress=advance, workers=workers
                    )
                except DomainError as exc:
                    raise _fail(exc.message) from None
    finally:
        state.engine.dispose()
    resumed = "（中断した処理を再開しました）" if report.resumed else ""
    console.print(
        f"{year}年度: 国保世帯 {report.households:,} 世帯{resumed} — 新規 {report.created:,} 件、"
        f"更正 {report.revised:,} 件、変更なし {report.unchanged:,} 件、"
        f"取消 {report.cancelled:,} 件。"
    )


def notices(
    tenant: Annotated[str, typer.Option(help="団体コード（6桁）")],
    year: Annotated[int, typer.Option(help="年度（例: 2026）")],
    out: Annotated[Path, typer.Option(help="出力先（.pdf は1ファイル、.zip は1通ずつ）")],
) -> None:
    """Issue and print the year's 国民健康保険税 納税通知書 in batch (one PDF or a zip)."""
    from core.crypto import TenantKeys
    from forms.batch import BatchRenderer
    from forms.service import DocumentService, issuer_for
    from nhi import notices as nhi_notices

    if out.suffix not in {".pdf", ".zip"}:
        raise _fail("--out は .pdf または .zip のファイル名にしてください。")
    state = _state()
    try:
        with UnitOfWork(state.session_factory, state.bus) as uow:
            ctx = _scope(uow, tenant)
            with tenant_scope(uow.session, ctx):
                documents = DocumentService(
                    uow.session,
                    TenantKeys(uow.session, state.ring),
                    state.renderer,
                    SYSTEM,
                    base_url=state.settings.public_base_url,
                )
                issuer = issuer_for(uow.session, service.current_municipality(uow.session))
                try:
                    contexts = nhi_notices.issue(documents, year, issuer)
                except DomainError as exc:
                    raise _fail(exc.message) from None
                if not contexts:
                    raise _fail(
                        f"{year}年度に送付する納税通知書はありません（賦課処理は済んでいますか）。"
                    )
                with BatchRenderer(state.form_sources) as renderer, out.open("wb") as sink:
                    if out.suffix == ".pdf":
                        sink.write(renderer.one_pdf(nhi_notices.FORM, contexts))
                    else:
                        names = (f"{c['document']['serial']}.pdf" for c in contexts)
                        for piece in renderer.zip_stream(nhi_notices.FORM, contexts, names):
                            sink.write(piece)
                # The serials and log entries are kept only once the notices are printed.
                uow.commit()
    finally:
        state.engine.dispose()
    console.print(f"{len(contexts):,} 通を {out} に出力しました。")
