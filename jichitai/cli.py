"""The ``jichitai`` command: serve, migrate, manage tenants and staff, keys, audit, demo."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core import audit
from core.crypto import TenantKeys, load_key_ring, reencrypt_registered_fields
from core.errors import DomainError
from core.events import relay_outbox
from core.migrate import upgrade as migrate_upgrade
from core.scoping import TenantContext, TenantId, each_tenant, tenant_scope
from core.settings import Settings, get_settings
from core.uow import UnitOfWork
from forms.manifest import CatalogTampered
from jichitai.cli_common import (
    SYSTEM,
    BatchOutOption,
    TenantOption,
    YearOption,
    app_state,
    console,
    err,
    fail,
    invalid_input,
    member_scope,
    print_notices,
    progress,
    progress_bars,
    read_json,
    require_batch_out,
)
from jichitai.cli_nhi import nhi_app
from jichitai.state import AppState
from tenancy import repository as repo
from tenancy import service
from tenancy.models import MunicipalityKind, MunicipalityStatus, Role

app = typer.Typer(help="自治体クラウド基幹系 (jichitai-cloud) の管理コマンド", no_args_is_help=True)
db_app = typer.Typer(help="データベース", no_args_is_help=True)
tenant_app = typer.Typer(help="団体（テナント）", no_args_is_help=True)
staff_app = typer.Typer(help="職員アカウント", no_args_is_help=True)
keys_app = typer.Typer(help="暗号鍵", no_args_is_help=True)
audit_app = typer.Typer(help="監査ログ", no_args_is_help=True)
outbox_app = typer.Typer(help="アウトボックス", no_args_is_help=True)
for sub, name in [
    (db_app, "db"),
    (tenant_app, "tenant"),
    (staff_app, "staff"),
    (keys_app, "keys"),
    (audit_app, "audit"),
    (outbox_app, "outbox"),
]:
    app.add_typer(sub, name=name)
tax_app = typer.Typer(help="個人住民税", no_args_is_help=True)
app.add_typer(tax_app, name="tax")
app.add_typer(nhi_app, name="nhi")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (as the owner) and grant the application role its rights."""
    s = get_settings()
    migrate_upgrade(s.effective_migration_url, s.db_app_role)
    console.print("データベースを最新の版に更新しました。")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the web UI and the API."""
    import uvicorn

    from forms.manifest import verified_sources

    try:
        verified_sources()  # refuse before binding the port, with the file named
    except CatalogTampered as exc:
        raise fail(str(exc)) from exc
    uvicorn.run("jichitai.asgi:app", host=host, port=port, workers=workers, proxy_headers=False)


@tenant_app.command("create")
def tenant_create(
    lg_code: str,
    name: str,
    prefecture: Annotated[str, typer.Option(help="都道府県名")],
    kind: Annotated[MunicipalityKind, typer.Option(help="団体の種類")],
) -> None:
    """Register a municipality as a tenant."""
    state = app_state(create_key=True)
    with UnitOfWork(state.session_factory) as uow:
        try:
            m = service.create_municipality(
                uow.session,
                state.ring,
                lg_code=lg_code,
                name=name,
                prefecture=prefecture,
                kind=kind.value,
                actor=SYSTEM,
            )
        except DomainError as exc:
            raise fail(exc.message) from None
        uow.commit()
    console.print(f"{m.full_name}（{m.lg_code}）を登録しました。")


@tenant_app.command("list")
def tenant_list() -> None:
    """List the tenants (no personal data)."""
    state = app_state()
    with UnitOfWork(state.session_factory) as uow:
        table = Table("団体コード", "団体名", "種類", "状態", "業務継続")
        continuity = {c.municipality_id for c in repo.open_continuities(uow.session)}
        for m in repo.municipalities(uow.session):
            table.add_row(
                m.lg_code,
                m.full_name,
                m.kind,
                "稼働中" if m.status == MunicipalityStatus.ACTIVE else "停止中",
                "業務継続モード" if m.id in continuity else "",
            )
    console.print(table)


@tenant_app.command("suspend")
def tenant_suspend(lg_code: str, resume: bool = False) -> None:
    """Suspend a tenant (or resume it with --resume)."""
    state = app_state()
    status = MunicipalityStatus.ACTIVE if resume else MunicipalityStatus.SUSPENDED
    with UnitOfWork(state.session_factory) as uow:
        try:
            m = service.set_status(uow.session, lg_code, status, SYSTEM)
        except DomainError as exc:
            raise fail(exc.message) from None
        uow.commit()
    console.print(f"{m.full_name}を{'再開' if resume else '停止'}しました。")


@staff_app.command("create")
def staff_create(
    lg_code: str,
    login_id: str,
    display_name: Annotated[str, typer.Option(help="氏名")],
    role: Annotated[list[Role], typer.Option(help="役割（複数可）")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a staff account in a tenant."""
    state = app_state()
    with UnitOfWork(state.session_factory) as uow:
        try:
            m = service.require_municipality(uow.session, lg_code)
            with tenant_scope(uow.session, TenantContext(TenantId(m.id))):
                service.create_staff(
                    uow.session,
                    login_id=login_id,
                    display_name=display_name,
                    password=password,
                    roles=[r.value for r in role],
                    actor=SYSTEM,
                )
        except DomainError as exc:
            raise fail(exc.message) from None
        uow.commit()
    console.print(f"{m.name}に職員 {login_id} を作成しました。")


@app.command()
def demo(
    migrate: Annotated[bool, typer.Option(help="先にデータベースを更新する")] = True,
    residents: Annotated[
        int, typer.Option(min=0, help="生成する住民の人数（全団体の合計。人口比で配分）")
    ] = 0,
    seed: Annotated[int, typer.Option(help="住民生成の乱数の種（同じ種なら同じ住民）")] = 2026,
) -> None:
    """Load the demo: nine Toyama members, their staff and 町字 masters, optionally residents."""
    from jichitai import demo as demo_data

    s = get_settings()
    if migrate:
        migrate_upgrade(s.effective_migration_url, s.db_app_role)
    state = app_state(create_key=True)
    with UnitOfWork(state.session_factory) as uow:
        logins = demo_data.load(uow.session, state.ring)
        added = demo_data.load_machiaza(uow.session)
        uow.commit()
    table = Table("団体コード", "団体", "ユーザーID", "役割", title="デモ用ログイン")
    for login in logins:
        if login.role in {"operator", Role.CLERK, Role.SUPERVISOR, Role.TENANT_ADMIN}:
            table.add_row(
                login.lg_code or "（空欄）", login.municipality, login.login_id, login.role
            )
    console.print(table)
    console.print(
        f"パスワードはすべて [bold]{demo_data.DEMO_PASSWORD}[/bold] です。"
        "（役割ごとのユーザーIDは <団体>.<役割>、例: imizu.tax_officer）"
    )
    console.print(f"町字マスタを読み込みました（新規 {sum(added.values()):,} 件）。")
    if residents:
        _generate_residents(state, residents, seed)


def _generate_residents(state: AppState, residents: int, seed: int) -> None:
    """Generate the demo population (one commit per member), with progress bars."""
    from jichitai import demo as demo_data
    from resident_records import population

    names = {code: name for code, name, _kind, _prefix in demo_data.MEMBERS}
    counts = population.allocate(list(names), residents)
    started = time.perf_counter()
    with progress_bars() as bars:
        tasks = {code: bars.add_task(name, total=counts[code]) for code, name in names.items()}

        def advance(lg_code: str, done: int) -> None:
            bars.update(tasks[lg_code], completed=done)

        # One transaction per member; on PostgreSQL several members at once, one per core.
        reports = demo_data.generate_residents(
            state, counts, seed=seed, today=dt.date.today(), progress=advance
        )
        for member in reports:
            if member.skipped:
                bars.update(
                    tasks[member.lg_code],
                    completed=counts[member.lg_code],
                    description=f"{names[member.lg_code]}（登録済みのため省略）",
                )
    seconds = time.perf_counter() - started  # wall time: members may overlap
    done = [m for m in reports if not m.skipped]
    persons = sum(m.persons for m in done)
    if done:
        console.print(
            f"住民 {persons:,} 人・{sum(m.households for m in done):,} 世帯を生成しました"
            f"（うち除票 {sum(m.removed for m in done):,} 人、外国人住民 "
            f"{sum(m.foreign for m in done):,} 人、{sum(m.rows for m in done):,} 行、"
            f"{seconds:.1f} 秒）。"
        )
    skipped = [names[m.lg_code] for m in reports if m.skipped]
    if skipped:
        console.print(f"既に住民が登録されている団体は生成を省略しました: {'、'.join(skipped)}")


@keys_app.command("rotate")
def keys_rotate(
    data_keys: Annotated[
        bool, typer.Option(help="各団体のデータ鍵も更新し、暗号文を再暗号化する")
    ] = False,
) -> None:
    """Rotate the master key (re-wrapping every data key); optionally rotate data keys too."""
    s: Settings = get_settings()
    if s.master_key:
        raise fail(
            "JICHITAI_MASTER_KEY で鍵を与えている場合は鍵ファイルに移行してから更新してください。"
        )
    ring = load_key_ring("", s.key_ring_path)
    old_ids = set(ring.keys)
    new_id = ring.add_new_active()
    ring.save()  # the new key must be on disk before any data key is wrapped with it
    state = app_state()
    state.ring = ring
    rewrapped = reencrypted = 0
    with UnitOfWork(state.session_factory) as uow:
        ids = [m.id for m in repo.municipalities(uow.session)]
        for _ctx in each_tenant(uow.session, ids):
            keys = TenantKeys(uow.session, ring)
            if data_keys:
                reencrypted += keys.rotate_encryption_key(reencrypt_registered_fields)
            rewrapped += keys.rewrap_all()
            audit.record(
                uow.session,
                actor=SYSTEM,
                action="keys.rotated",
                details={"master_key_id": new_id, "data_keys": data_keys},
            )
        uow.commit()
    for kid in old_ids:  # every data key is wrapped with the new key now
        ring.keys.pop(kid)
    ring.save()
    console.print(
        f"マスター鍵を {new_id} に更新しました（データ鍵 {rewrapped} 件を再ラップ、"
        f"暗号文 {reencrypted} 件を再暗号化）。"
    )


def _tenant_ids(uow: UnitOfWork, lg_code: str | None) -> list[int]:
    if lg_code:
        return [service.require_municipality(uow.session, lg_code).id]
    return [m.id for m in repo.municipalities(uow.session)]


@audit_app.command("verify")
def audit_verify(
    tenant: Annotated[str | None, typer.Option(help="団体コード（省略時は全団体）")] = None,
    anchors: Annotated[Path | None, typer.Option(help="外部保管したチェーン先頭のファイル")] = None,
) -> None:
    """Verify every tenant's audit hash chain (and the anchored heads); non-zero if broken."""
    state = app_state()
    anchor_path = anchors or (state.settings.var_dir / "audit-anchors.jsonl")
    with UnitOfWork(state.session_factory) as uow:
        try:
            ids = _tenant_ids(uow, tenant)
        except DomainError as exc:
            raise fail(exc.message) from None
        anchored = None
        if anchor_path.exists():
            key = audit.load_or_create_anchor_key(state.settings.anchor_key_path)
            try:
                anchored = audit.read_anchors(anchor_path, key.public_key())
            except ValueError as exc:
                raise fail(str(exc), 2) from None
        elif anchors is not None:
            raise fail(f"{anchors} がありません。", 2)
        results = audit.verify_tenants(uow.session, ids, anchored)
        codes = {m.id: m.lg_code for m in repo.municipalities(uow.session)}
    broken = [r for r in results if not r.ok]
    for r in results:
        if r.ok:
            console.print(f"{codes[r.tenant_id]}: 正常（{r.entries} 件）")
        else:
            err.print(
                f"[red]{codes[r.tenant_id]}: 改ざんを検出しました[/red] "
                f"最初の不整合: 記録 {r.broken_seq} — {r.reason}"
            )
    if broken:
        raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(
    out: Annotated[
        Path | None, typer.Option(help="追記先（既定: var/audit-anchors.jsonl）")
    ] = None,
) -> None:
    """Append the signed chain heads of every tenant to a file kept outside the database."""
    state = app_state()
    path = out or (state.settings.var_dir / "audit-anchors.jsonl")
    key = audit.load_or_create_anchor_key(state.settings.anchor_key_path)
    with UnitOfWork(state.session_factory) as uow:
        hs = audit.heads(uow.session, _tenant_ids(uow, None))
    audit.write_anchor(path, key, hs)
    console.print(f"{len(hs)} 団体のチェーン先頭を {path} に記録しました。")


@outbox_app.command("relay")
def outbox_relay() -> None:
    """Deliver pending outbox messages (to standard output until a broker is configured)."""
    state = app_state()

    def sink(msg: object) -> None:
        console.print_json(
            data={"id": str(getattr(msg, "id", "")), "event": getattr(msg, "event_name", "")}
        )

    with UnitOfWork(state.session_factory) as uow:
        n = relay_outbox(uow.session, [m.id for m in repo.municipalities(uow.session)], sink)
        uow.commit()
    console.print(f"{n} 件を配信しました。")


@tax_app.command("simulate")
def tax_simulate(
    file: Annotated[Path, typer.Argument(help="世帯の内容を書いた JSON ファイル")],
) -> None:
    """Simulate a household's inhabitant tax from FILE (JSON, as POST /api/v1/tax/simulate)."""
    from pydantic import ValidationError

    from core.japanese.era import fiscal_year_label
    from tax.simulation import (
        DEPENDENT_CATEGORY_LABELS,
        RESULT_LABELS,
        SimulationInput,
        simulate,
    )

    data = read_json(file)
    try:
        result = simulate(SimulationInput.model_validate(data))
    except ValidationError as exc:
        raise invalid_input(exc) from None

    place = f"{result.prefecture}・{result.grade}級地" + (
        "・政令指定都市" if result.designated_city else ""
    )
    table = Table(
        "項目",
        "金額（円）",
        title=f"{fiscal_year_label(result.fiscal_year)} 個人住民税の試算（{place}）",
    )
    # Zero rows of incomes and deductions the household does not have would bury the rest.
    always = {
        "total_income",
        "income_deductions",
        "taxable_income",
        "municipal_income_levy",
        "prefectural_income_levy",
        "municipal_per_capita_levy",
        "prefectural_per_capita_levy",
        "forest_environment_tax",
        "total",
    }
    for key, label in RESULT_LABELS.items():
        value = getattr(result, key)
        if value or key in always:
            text = f"{value}人" if key == "household_size" else f"{value:,}"
            table.add_row(label, text, style="bold" if key == "total" else None)
    rates = (result.municipal_income_rate, result.prefectural_income_rate)
    table.add_row(
        "所得割の税率（市町村民税・道府県民税）",
        "・".join(f"{(rate * 100).normalize():f}%" for rate in rates),
    )
    console.print(table)
    if result.dependents:
        family = Table("親族", "年齢", "区分", "扶養控除", "特定親族特別控除", "障害者控除")
        for n, d in enumerate(result.dependents, start=1):
            family.add_row(
                f"{n}人目",
                f"{d.age}歳",
                DEPENDENT_CATEGORY_LABELS[d.category],
                f"{d.dependent_deduction:,}",
                f"{d.specified_relative_deduction:,}",
                f"{d.disability_deduction:,}",
            )
        console.print(family)
    if result.exempt.message:
        console.print(result.exempt.message)
    console.print(f"年税額は {result.total:,} 円です（試算。住民の記録には保存していません）。")


@tax_app.command("import")
def tax_import(
    file: Annotated[Path, typer.Argument(help="給与支払報告書・申告のファイル（CSV または JSON）")],
    tenant: TenantOption,
) -> None:
    """Import an income file (docs/tax-intake.md) for one municipality: all lines or none."""
    from tax.income_service import import_income

    state = app_state()
    try:
        data = file.read_bytes()
    except OSError:
        raise fail(f"{file} を読み込めません。") from None
    with UnitOfWork(state.session_factory, state.bus) as uow:
        ctx = member_scope(uow, tenant)
        with tenant_scope(uow.session, ctx):
            try:
                summary = import_income(
                    uow.session, TenantKeys(uow.session, state.ring), SYSTEM, data, file.name
                )
            except DomainError as exc:
                lines = [
                    f"  {d.get('line')}行目 {d.get('field') or ''}: {d.get('message')}"
                    for d in (exc.details or [])
                ]
                raise fail("\n".join([exc.message, *lines])) from None
            uow.commit()
    if summary.already_imported:
        console.print(
            f"このファイルは取込済みです（{summary.records:,} 件）。何も変更していません。"
        )
    else:
        console.print(f"{summary.fiscal_year}年度の所得 {summary.records:,} 件を取り込みました。")


@tax_app.command("assess")
def tax_assess(
    tenant: TenantOption,
    year: YearOption,
) -> None:
    """Assess every taxpayer of a fiscal year (当初賦課・更正): resumable, idempotent."""
    from tax.assessment_service import assess_year

    state = app_state()
    with UnitOfWork(state.session_factory, state.bus) as uow:
        ctx = member_scope(uow, tenant)
        with tenant_scope(uow.session, ctx), progress(f"{year}年度 賦課") as advance:
            try:
                _version, params = service.current_parameters(uow.session)
                report = assess_year(uow.session, year, params, SYSTEM, progress=advance)
            except DomainError as exc:
                raise fail(exc.message) from None
    resumed = "（中断した処理を再開しました）" if report.resumed else ""
    console.print(
        f"{year}年度: 納税義務者 {report.taxpayers:,} 人{resumed} — 新規 {report.created:,} 件、"
        f"更正 {report.revised:,} 件、変更なし {report.unchanged:,} 件。"
    )


@tax_app.command("notices")
def tax_notices(
    tenant: TenantOption,
    year: YearOption,
    out: BatchOutOption,
    kind: Annotated[
        str, typer.Option(help="ordinary（納税通知書）または special（特別徴収税額決定通知書）")
    ] = "ordinary",
) -> None:
    """Issue and print the year's notices in batch on every core (one PDF or a zip)."""
    from tax import notices

    if kind not in {k.value for k in notices.NoticeKind}:
        raise fail("--kind は ordinary または special を指定してください。")
    require_batch_out(out)
    notice_kind = notices.NoticeKind(kind)
    print_notices(
        app_state(),
        tenant,
        out,
        notices.form_of(notice_kind),
        lambda documents, issuer: notices.issue(documents, year, notice_kind, issuer),
        f"{year}年度に送付する通知書はありません（賦課処理は済んでいますか）。",
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
