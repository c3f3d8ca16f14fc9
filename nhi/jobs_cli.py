"""``jichitai nhi age-changes``: the daily age job for one municipality (registered on
``nhi.cli.nhi_app``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console

from core.db import make_engine, make_session_factory
from core.errors import DomainError
from core.scoping import TenantContext, TenantId, tenant_scope
from core.settings import get_settings
from core.uow import UnitOfWork
from nhi.jobs import apply_age_changes
from tenancy import service

console = Console()
err = Console(stderr=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("日付は YYYY-MM-DD の形式で指定してください。") from None


def age_changes(
    tenant: Annotated[str, typer.Option(help="団体コード（6桁）")],
    date: Annotated[str, typer.Option(help="基準日（YYYY-MM-DD）")],
) -> None:
    """Apply the 75th-birthday losses (後期高齢者医療への移行) due on or before DATE."""
    on = _date(date)
    # The job publishes no events to handle: its changes go to the outbox directly.
    engine = make_engine(get_settings().effective_database_url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            try:
                m = service.require_municipality(uow.session, tenant)
            except DomainError as exc:
                err.print(f"[red]エラー:[/red] {exc.message}")
                raise typer.Exit(1) from None
            with tenant_scope(uow.session, TenantContext(TenantId(m.id))):
                changed = apply_age_changes(uow.session, on)
                uow.commit()
    finally:
        engine.dispose()
    console.print(
        f"{m.name}: {on.isoformat()} までに75歳に達した {changed:,} 人の資格を喪失しました。"
    )
