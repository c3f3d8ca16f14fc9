"""What every ``jichitai`` command group shares: consoles, the CLI actor, errors, state, scope,
progress bars and batch printing of notices.

:mod:`jichitai.cli` and the command groups it adds (:mod:`jichitai.cli_nhi`) import from here, so
no group needs to import :mod:`jichitai.cli` itself (which imports them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core import audit
from core.crypto import TenantKeys
from core.errors import DomainError
from core.scoping import TenantContext, TenantId, tenant_scope
from core.settings import get_settings
from core.uow import UnitOfWork
from forms.manifest import CatalogTampered
from jichitai.state import AppState
from tenancy import service

if TYPE_CHECKING:
    from pydantic import ValidationError
    from rich.progress import Progress

    from forms.catalog import FormKind
    from forms.service import DocumentService, Issuer
    from tenancy.models import Municipality

console = Console()
err = Console(stderr=True)
SYSTEM = audit.Actor.system("cli")

# The options of every command that works in one municipality and fiscal year.
TenantOption = Annotated[str, typer.Option(help="団体コード（6桁）")]
YearOption = Annotated[int, typer.Option(help="年度（例: 2026）")]
BatchOutOption = Annotated[Path, typer.Option(help="出力先（.pdf は1ファイル、.zip は1通ずつ）")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print MESSAGE as an error on standard error; the exit to raise (``raise fail(...)``)."""
    err.print(f"[red]エラー:[/red] {message}")
    return typer.Exit(code)


def app_state(create_key: bool = False) -> AppState:
    """The deployment's state from the settings; a tampered form catalog exits 1, named."""
    try:
        return AppState.from_settings(get_settings(), create_key=create_key)
    except CatalogTampered as exc:
        raise fail(str(exc)) from exc


def require_member(uow: UnitOfWork, lg_code: str) -> Municipality:
    """The municipality of LG_CODE; an unknown or invalid code exits 1 with the reason."""
    try:
        return service.require_municipality(uow.session, lg_code)
    except DomainError as exc:
        raise fail(exc.message) from None


def member_scope(uow: UnitOfWork, lg_code: str) -> TenantContext:
    """The tenant context of the municipality of LG_CODE (see :func:`require_member`)."""
    return TenantContext(TenantId(require_member(uow, lg_code).id))


def read_json(file: Path) -> Any:
    """The JSON document in FILE; an unreadable file or bad JSON exits 1."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except OSError:
        raise fail(f"{file} を読み込めません。") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise fail(f"{file} は JSON の形式が正しくありません。") from None


def invalid_input(exc: ValidationError) -> typer.Exit:
    """Every field error of EXC in Japanese, one a line; the exit to raise."""
    from jichitai.errors import validation_details

    lines = [
        f"  {d['field'] or '入力'}: {d['message']}"
        for d in validation_details([dict(e) for e in exc.errors()])
    ]
    return fail("\n".join(["入力内容に誤りがあります。", *lines]))


def progress_bars() -> Progress:
    """Rich progress bars on :data:`console`: description, bar, done/total, time elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console)


@contextmanager
def progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """One progress bar of unknown length; yields the ``progress(done, total)`` callback."""
    with progress_bars() as bars:
        task = bars.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bars.update(task, completed=done, total=total)

        yield advance


def require_batch_out(out: Path) -> None:
    """A batch goes to a ``.pdf`` (one file) or a ``.zip`` (one PDF a notice); else exit 1."""
    if out.suffix not in {".pdf", ".zip"}:
        raise fail("--out は .pdf または .zip のファイル名にしてください。")


def print_notices(
    state: AppState,
    tenant: str,
    out: Path,
    form: FormKind,
    issue: Callable[[DocumentService, Issuer], list[dict[str, Any]]],
    nothing: str,
) -> None:
    """Issue a batch of notices in the municipality TENANT and print them to OUT.

    ``issue`` gives the render contexts (serials, codes and log entries written in the session);
    none exits 1 with NOTHING. OUT is one PDF or a zip streamed one PDF a notice, named by
    serial. The serials and log entries are committed only once the notices are printed.
    """
    from forms.batch import BatchRenderer
    from forms.service import DocumentService, issuer_for

    with UnitOfWork(state.session_factory, state.bus) as uow:
        ctx = member_scope(uow, tenant)
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
                contexts = issue(documents, issuer)
            except DomainError as exc:
                raise fail(exc.message) from None
            if not contexts:
                raise fail(nothing)
            with BatchRenderer(state.form_sources) as renderer, out.open("wb") as sink:
                if out.suffix == ".pdf":
                    sink.write(renderer.one_pdf(form, contexts))
                else:
                    names = (f"{c['document']['serial']}.pdf" for c in contexts)
                    for piece in renderer.zip_stream(form, contexts, names):
                        sink.write(piece)
            # The serials and log entries are kept only once the notices are printed.
            uow.commit()
    console.print(f"{len(contexts):,} 通を {out} に出力しました。")
