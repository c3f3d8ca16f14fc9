"""The tamper-evident audit chain, attacked as someone with direct database access would.

Every test runs on SQLite and on PostgreSQL. Verification goes through the real CLI
(``jichitai audit verify``); tampering goes through the database OWNER's connection (on SQLite the
same file, after dropping the append-only triggers, as an attacker with file access would; on
PostgreSQL the superuser owner, whom neither grants nor row-level security stop).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import (
    Connection,
    Select,
    Table,
    delete,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner, Result

from core import audit
from core.audit import AuditEntry, compute_hash
from core.db import rows_together
from core.migrate import append_only_trigger_sql
from core.scoping import TenantContext, TenantId
from core.settings import get_settings
from core.uow import UnitOfWork
from jichitai.cli import app as cli_app
from tenancy import repository as repo
from tests.helpers import new_tenant

AUDIT = cast(Table, AuditEntry.__table__)
APPENDED = 10
# new_tenant() writes the chain's first entry ("tenant.created"); the helper appends APPENDED more.
CHAIN_LENGTH = 1 + APPENDED
ATTACKER = audit.Actor("staff", "attacker")

Cli = Callable[..., Result]


# --- helpers -----------------------------------------------------------------------------------


def _flat(output: str) -> str:
    """CLI output without any whitespace, so a line wrap never splits what we look for."""
    return re.sub(r"\s+", "", output)


def _names_broken_seq(result: Result, seq: int) -> bool:
    """The CLI names ``seq`` as the first inconsistent entry (e.g. "最初の不整合: 記録 5 — …")."""
    return f"最初の不整合:記録{seq}—" in _flat(result.output)


def _fresh_chain(state: Any, appended: int = APPENDED) -> tuple[int, str]:
    """A brand-new tenant whose chain holds its creation entry plus ``appended`` entries."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        for i in range(appended):
            audit.record(
                uow.session,
                actor=audit.Actor("staff", f"clerk{i % 3}"),
                action="resident.viewed",
                subject_type="resident",
                subject_id=f"R{i:05d}",
                purpose="窓口での証明書交付",
                details={"n": i, "氏名": "山田太郎"},
            )
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        m = repo.municipality_by_id(uow.session, tid)
        assert m is not None
        return tid, m.lg_code


def _rows(conn: Connection, tid: int) -> list[dict[str, Any]]:
    stmt = select(AUDIT).where(AUDIT.c.tenant_id == tid).order_by(AUDIT.c.seq)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def _owner_rows(database: Any, tid: int) -> list[dict[str, Any]]:
    with database.owner_engine.connect() as conn:
        return _rows(conn, tid)


def _triggers(database: Any) -> set[str]:
    with database.owner_engine.connect() as conn:
        return set(
            conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                {"t": "audit_entries"},
            ).scalars()
        )


@contextmanager
def _attacker(database: Any) -> Iterator[Connection]:
    """One transaction on the owner's connection with the append-only protection out of the way.

    On SQLite the triggers are dropped inside the transaction and put back before it commits, so
    the shared test database keeps its protection for the other tests.
    """
    with database.owner_engine.connect() as conn:
        if not database.is_pg:
            conn.exec_driver_sql("BEGIN")  # make the DDL below part of this transaction
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")
        try:
            yield conn
            if not database.is_pg:
                for stmt in append_only_trigger_sql("audit_entries"):
                    conn.exec_driver_sql(stmt)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    if not database.is_pg:
        assert _triggers(database) >= {"audit_entries_no_update", "audit_entries_no_delete"}


def _at(tid: int, seq: int) -> Any:
    return (AUDIT.c.tenant_id == tid) & (AUDIT.c.seq == seq)


def _forged_row(tid: int, seq: int, prev_hash: str, *, recompute: bool) -> dict[str, Any]:
    """A fake "someone viewed this resident" entry. With ``recompute`` its own hash is right."""
    entry = AuditEntry(
        tenant_id=tid,
        seq=seq,
        occurred_at=dt.datetime(2024, 4, 1, 9, 0, tzinfo=dt.UTC),
        actor_kind="staff",
        actor_id="clerk1",
        acting_tenant_id=None,
        action="resident.viewed",
        subject_type="resident",
        subject_id="R99999",
        purpose="窓口での証明書交付",
        request_id=None,
        details={"forged": True},
        prev_hash=prev_hash,
    )
    entry.entry_hash = (
        compute_hash(prev_hash, entry)
        if recompute
        else hashlib.sha256(b"plausible-looking but not computed").hexdigest()
    )
    return {c.name: getattr(entry, c.key) for c in AUDIT.columns}


def _verify_current(state: Any, tid: int) -> audit.VerifyResult:
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        return audit.verify_current(uow.session)


@pytest.fixture
def cli(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run the real ``jichitai`` CLI against the test database, with its own var dir."""
    var_dir = tmp_path / "var"
    monkeypatch.setenv("JICHITAI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("JICHITAI_MIGRATION_DATABASE_URL", settings.migration_database_url)
    monkeypatch.setenv("JICHITAI_MASTER_KEY", settings.master_key)
    monkeypatch.setenv("JICHITAI_VAR_DIR", str(var_dir))
    monkeypatch.setenv("JICHITAI_DB_APP_ROLE", settings.db_app_role)
    monkeypatch.delenv("JICHITAI_MASTER_KEY_FILE", raising=False)
    monkeypatch.setenv("COLUMNS", "500")  # rich wraps at 80 columns otherwise

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli_app, list(args))
        finally:
            get_settings.cache_clear()

    return run


# --- an intact chain -----------------------------------------------------------------------------


def test_verify_passes_on_an_intact_chain(state, cli) -> None:
    tid, code = _fresh_chain(state)
    result = cli("audit", "verify", "--tenant", code)
    assert result.exit_code == 0, result.output
    assert f"{code}:正常（{CHAIN_LENGTH}件）" in _flat(result.output)
    assert "改ざん" not in result.output
    direct = _verify_current(state, tid)
    assert (direct.ok, direct.entries, direct.broken_seq) == (True, CHAIN_LENGTH, None)


def test_verify_of_an_unknown_tenant_fails_in_japanese(state, cli) -> None:
    result = cli("audit", "verify", "--tenant", "999991")
    assert result.exit_code != 0
    assert "指定された団体は登録されていません" in _flat(result.output)


def test_the_chain_links_every_entry_to_the_previous_one(state, database) -> None:
    tid, _code = _fresh_chain(state)
    rows = _owner_rows(database, tid)
    assert [r["seq"] for r in rows] == list(range(1, CHAIN_LENGTH + 1))
    assert rows[0]["prev_hash"] == audit.GENESIS_HASH
    for prev, row in itertools.pairwise(rows):
        assert row["prev_hash"] == prev["entry_hash"]
    assert len({r["entry_hash"] for r in rows}) == CHAIN_LENGTH


# --- tampering by someone with the owner's rights ------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "column", "value"),
    [
        (5, "details", {"n": 4, "氏名": "別人"}),
        (7, "action", "resident.printed"),
        (CHAIN_LENGTH, "actor_id", "someone_else"),
    ],
)
def test_an_altered_entry_is_detected_and_named(state, database, cli, seq, column, value) -> None:
    tid, code = _fresh_chain(state)
    with _attacker(database) as conn:
        changed = conn.execute(update(AUDIT).where(_at(tid, seq)).values({column: value}))
        assert changed.rowcount == 1
    assert _owner_rows(database, tid)[seq - 1][column] == value

    result = cli("audit", "verify", "--tenant", code)
    assert result.exit_code != 0
    assert "改ざんを検出しました" in result.output
    assert _names_broken_seq(result, seq), result.output
    assert f"記録{seq}の内容がハッシュと一致しません" in _flat(result.output)
    assert "正常" not in result.output


def test_a_deleted_middle_entry_is_detected_and_named(state, database, cli) -> None:
    tid, code = _fresh_chain(state)
    with _attacker(database) as conn:
        assert conn.execute(delete(AUDIT).where(_at(tid, 6))).rowcount == 1
    assert 6 not in [r["seq"] for r in _owner_rows(database, tid)]

    result = cli("audit", "verify", "--tenant", code)
    assert result.exit_code != 0
    assert "改ざん" in result.output
    assert _names_broken_seq(result, 6), result.output
    assert "記録6が欠落しています" in _flat(result.output)


def _insert_at(conn: Connection, tid: int, k: int, *, recompute: bool) -> None:
    """Shift entries k.. up by one (newest first, so the primary key never collides), then put a
    forged entry at k that links to the real entry k-1."""
    rows = _rows(conn, tid)
    for row in reversed(rows[k - 1 :]):
        conn.execute(update(AUDIT).where(_at(tid, row["seq"])).values(seq=row["seq"] + 1))
    forged = _forged_row(tid, k, rows[k - 2]["entry_hash"], recompute=recompute)
    conn.execute(insert(AUDIT).values(forged))


def test_an_inserted_entry_with_a_plausible_hash_is_detected_and_named(
    state, database, cli
) -> None:
    tid, code = _fresh_chain(state)
    k = 4
    with _attacker(database) as conn:
        _insert_at(conn, tid, k, recompute=False)
    rows = _owner_rows(database, tid)
    assert [r["seq"] for r in rows] == list(range(1, CHAIN_LENGTH + 2))
    assert rows[k - 1]["details"] == {"forged": True}

    result = cli("audit", "verify", "--tenant", code)
    assert result.exit_code != 0
    assert "改ざん" in result.output
    assert _names_broken_seq(result, k), result.output


def test_an_inserted_entry_with_a_recomputed_hash_breaks_the_chain_right_after_it(
    state, database, cli
) -> None:
    """The hash has no secret, so a forger can make the inserted entry itself consistent; the
    chain then breaks at the first genuine entry after it, whose stored prev_hash (and seq) no
    longer fit."""
    tid, code = _fresh_chain(state)
    k = 4
    with _attacker(database) as conn:
        _insert_at(conn, tid, k, recompute=True)

    result = cli("audit", "verify", "--tenant", code)
    assert result.exit_code != 0
    assert "改ざん" in result.output
    assert _names_broken_seq(result, k + 1), result.output
    assert f"記録{k + 1}の直前ハッシュが一致しません" in _flat(result.output)


@pytest.mark.parametrize("flaw", ["wrong_prev_hash", "wrong_entry_hash"])
def test_a_forged_entry_appended_at_the_end_is_detected_and_named(
    state, database, cli, flaw
) -> None:
    tid, code = _fresh_chain(state)
    new_seq = CHAIN_LENGTH + 1
    with _attacker(database) as conn:
        rows = _rows(conn, tid)
        if flaw == "wrong_prev_hash":  # links to the entry before the head: skips the head
            forged = _forged_row(tid, new_seq, rows[-2]["entry_hash"], recompute=True)
        else:  # links to the head but its own hash is made up
            forged = _forged_row(tid, new_seq, rows[-1]["entry_hash"], recompute=False)
        conn.execute(insert(AUDIT).values(forged))

    result = cli("audit", "verify", "--tenant", code)
    assert result.exit_code != 0
    assert "改ざん" in result.output
    assert _names_broken_seq(result, new_seq), result.output


def test_two_swapped_entries_are_detected_at_the_first(state, database, cli) -> None:
    tid, code = _fresh_chain(state)
    first, second = 3, 8
    with _attacker(database) as conn:
        rows = {r["seq"]: r for r in _rows(conn, tid)}
        movable = [c.name for c in AUDIT.columns if c.name not in {"tenant_id", "seq"}]
        for here, there in [(first, second), (second, first)]:
            conn.execute(
                update(AUDIT).where(_at(tid, here)).values({c: rows[there][c] for c in movable})
            )
    after = {r["seq"]: r for r in _owner_rows(database, tid)}
    assert after[first]["entry_hash"] == rows[second]["entry_hash"]
    assert after[second]["entry_hash"] == rows[first]["entry_hash"]

    result = cli("audit", "verify", "--tenant", code)
    assert result.exit_code != 0
    assert "改ざん" in result.output
    assert _names_broken_seq(result, first), result.output


# --- anchors: the chain heads kept outside the database ------------------------------------------


def test_anchored_chain_verifies_when_untouched(state, cli, tmp_path) -> None:
    _tid, code = _fresh_chain(state)
    anchors = tmp_path / "anchors.jsonl"
    result = cli("audit", "anchor", "--out", str(anchors))
    assert result.exit_code == 0, result.output
    line = json.loads(anchors.read_text().splitlines()[-1])
    assert line["signature"]

    result = cli("audit", "verify", "--tenant", code, "--anchors", str(anchors))
    assert result.exit_code == 0, result.output
    assert f"{code}:正常（{CHAIN_LENGTH}件）" in _flat(result.output)


def test_cutting_off_the_newest_entries_is_caught_by_the_anchor(
    state, database, cli, tmp_path
) -> None:
    tid, code = _fresh_chain(state)
    anchors = tmp_path / "anchors.jsonl"
    assert cli("audit", "anchor", "--out", str(anchors)).exit_code == 0
    head = {h["tenant_id"]: h for h in json.loads(anchors.read_text())["heads"]}[tid]
    assert head["seq"] == CHAIN_LENGTH

    with _attacker(database) as conn:
        cut = conn.execute(delete(AUDIT).where(AUDIT.c.tenant_id == tid, AUDIT.c.seq >= 10))
        assert cut.rowcount == 2

    # The truncated chain is internally consistent: only the anchor can tell.
    plain = cli("audit", "verify", "--tenant", code)
    assert plain.exit_code == 0, plain.output
    result = cli("audit", "verify", "--tenant", code, "--anchors", str(anchors))
    assert result.exit_code != 0
    assert "改ざん" in result.output
    assert _names_broken_seq(result, CHAIN_LENGTH - 1), result.output
    assert f"記録{CHAIN_LENGTH - 1}以降が欠落しています" in _flat(result.output)


def test_a_chain_rewritten_whole_is_caught_only_by_the_anchor(
    state, database, cli, tmp_path
) -> None:
    tid, code = _fresh_chain(state)
    anchors = tmp_path / "anchors.jsonl"
    assert cli("audit", "anchor", "--out", str(anchors)).exit_code == 0

    with _attacker(database) as conn:  # alter entry 5 and recompute every hash from there on
        rows = _rows(conn, tid)
        rows[4]["details"] = {"n": 4, "氏名": "書き換え"}
        prev = rows[3]["entry_hash"]
        for row in rows[4:]:
            entry = AuditEntry(**row)
            entry.prev_hash = prev
            entry.entry_hash = compute_hash(prev, entry)
            conn.execute(
                update(AUDIT)
                .where(_at(tid, row["seq"]))
                .values(details=row["details"], prev_hash=prev, entry_hash=entry.entry_hash)
            )
            prev = entry.entry_hash

    plain = cli("audit", "verify", "--tenant", code)
    assert plain.exit_code == 0, plain.output
    result = cli("audit", "verify", "--tenant", code, "--anchors", str(anchors))
    assert result.exit_code != 0
    assert "改ざん" in result.output
    assert _names_broken_seq(result, CHAIN_LENGTH), result.output
    assert "外部に保管したハッシュと一致しません" in _flat(result.output)


def test_a_tampered_anchor_file_fails_its_signature(state, cli, tmp_path) -> None:
    tid, code = _fresh_chain(state)
    anchors = tmp_path / "anchors.jsonl"
    assert cli("audit", "anchor", "--out", str(anchors)).exit_code == 0
    line = json.loads(anchors.read_text())
    for h in line["heads"]:
        if h["tenant_id"] == tid:
            h["hash"] = "f" * 64
            break
    else:
        pytest.fail("the anchor does not hold the tenant's head")
    anchors.write_text(json.dumps(line, sort_keys=True) + "\n")

    result = cli("audit", "verify", "--tenant", code, "--anchors", str(anchors))
    assert result.exit_code != 0
    assert "署名が一致しません" in _flat(result.output)
    assert "正常" not in result.output


def test_a_missing_anchor_file_is_an_error(state, cli, tmp_path) -> None:
    _tid, code = _fresh_chain(state, appended=0)
    missing = tmp_path / "nowhere.jsonl"
    result = cli("audit", "verify", "--tenant", code, "--anchors", str(missing))
    assert result.exit_code != 0
    assert "がありません" in _flat(result.output)


# --- the application's own connection ------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entries SET action = 'erased' WHERE tenant_id = :t",
        "DELETE FROM audit_entries WHERE tenant_id = :t",
    ],
)
def test_the_application_connection_cannot_rewrite_history(state, database, sql) -> None:
    tid, _code = _fresh_chain(state)
    before = _owner_rows(database, tid)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        with pytest.raises(DBAPIError) as caught:
            uow.session.execute(text(sql), {"t": tid})
        message = str(caught.value.orig)
        if database.is_pg:
            assert "permission denied" in message
        else:
            assert "audit_entries is append-only" in message
    assert _owner_rows(database, tid) == before


def test_the_application_cannot_change_an_entry_through_the_orm(state, database) -> None:
    tid, _code = _fresh_chain(state)
    before = _owner_rows(database, tid)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        entry = uow.session.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
        entry.details = {"hidden": True}
        with pytest.raises(DBAPIError):
            uow.commit()
    assert _owner_rows(database, tid) == before
    assert _verify_current(state, tid).ok


# --- concurrency ---------------------------------------------------------------------------------


_ONE: Select[Any] = select(literal_column("1"))  # a statement a use case sends first anyway


def _head_early(session: Any) -> None:
    """As a registration does: the chain's lock and head with its first statements."""
    chain = audit.chain_statements(session)
    *_rows, head = rows_together(session, (_ONE, {}), *chain)
    if chain:
        audit.take_head(session, head)


@pytest.mark.parametrize("early", [False, True], ids=["head-when-recording", "head-sent-early"])
def test_concurrent_appends_keep_one_gapless_chain(state, early: bool) -> None:
    """Two writers of one tenant's chain; with ``early`` one of them takes the chain's lock and
    head in the round trip of its first statements (audit.chain_statements)."""
    tid = new_tenant(state)
    threads, per_thread = 2, 25
    start = threading.Barrier(threads)

    def append(worker: int) -> None:
        start.wait()
        for i in range(per_thread):
            with UnitOfWork(state.session_factory) as uow:
                uow.set_tenant(TenantContext(TenantId(tid)))
                if early and worker == 0:
                    _head_early(uow.session)
                audit.record(
                    uow.session,
                    actor=audit.Actor("staff", f"worker{worker}"),
                    action="resident.viewed",
                    details={"worker": worker, "i": i},
                )
                uow.commit()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(append, w) for w in range(threads)]:
            future.result()  # re-raises any worker's error

    result = _verify_current(state, tid)
    assert result.ok, result.reason
    assert result.entries == 1 + threads * per_thread
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        entries = [
            (e.seq, e.details)
            for e in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]
    assert [seq for seq, _details in entries] == list(range(1, len(entries) + 1))
    written = {(d["worker"], d["i"]) for _seq, d in entries if "worker" in d}
    assert written == {(w, i) for w in range(threads) for i in range(per_thread)}


def test_the_chain_head_sent_early_holds_the_lock_until_commit(state, database) -> None:
    """Once a transaction has the chain's head (sent with its first statements) it records on
    it without another read, and holds the chain's lock until it ends."""
    tid = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        before = audit.record(uow.session, actor=audit.Actor("staff", "a"), action="one")
        uow.commit()
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        _head_early(uow.session)
        assert audit.chain_statements(uow.session) == []  # known for the rest of it
        if database.kind == "postgresql":
            with state.engine.connect() as other:
                taken = other.execute(
                    text("SELECT pg_try_advisory_xact_lock(:c, :t)"),
                    {"c": audit._LOCK_CLASS, "t": tid},
                ).scalar()
                other.rollback()
            assert taken is False
        entry = audit.record(uow.session, actor=audit.Actor("staff", "b"), action="two")
        uow.commit()
    assert (entry.seq, entry.prev_hash) == (before.seq + 1, before.entry_hash)
    result = _verify_current(state, tid)
    assert result.ok, result.reason
