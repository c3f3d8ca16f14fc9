"""Tamper-evident audit log: append-only, one SHA-256 hash chain per tenant.

Each entry hashes its own content together with the previous entry's hash, so altering,
deleting, inserting or reordering any row breaks the chain at that row. A chain can still be cut
off at its newest end, or rewritten whole by someone with the database owner's rights, so the heads
are also **anchored** outside the database: ``jichitai audit anchor`` appends an Ed25519-signed
record of every tenant's head to a file, and ``jichitai audit verify --anchors FILE`` checks that
each anchored entry is still there with the same hash (住民記録システム標準仕様書 J:1370 —
access logs must be tamper-evident and cannot be deleted early).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import JSON, BigInteger, Integer, String, bindparam, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, Statement, UTCDateTime, add_new, new_row, rows_together, utcnow
from core.scoping import TenantScoped, each_tenant, require_context

GENESIS_HASH = "0" * 64
REQUEST_ID_KEY = "jichitai.request_id"
_HEADS_KEY = "jichitai.audit_heads"  # session.info key set by the request dependency
_LOCK_CLASS = 0x4A494348  # "JICH": advisory-lock namespace for the audit chain


class AuditEntry(TenantScoped, Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))  # staff / operator / api_token / system
    actor_id: Mapped[str] = mapped_column(String(64))
    acting_tenant_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = {"info": {"append_only": True}}  # noqa: RUF012


@dataclass(frozen=True)
class Actor:
    """Who did it: a staff member, an operator, an API token or the system itself."""

    kind: str
    id: str

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls("system", name)


_HASHED_COLUMNS = (
    "tenant_id",
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "acting_tenant_id",
    "action",
    "subject_type",
    "subject_id",
    "purpose",
    "request_id",
    "details",
)


def _canonical(values: dict[str, Any]) -> bytes:
    content = dict(values)
    content["occurred_at"] = (
        content["occurred_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    )
    content["details"] = content["details"] or {}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(prev_hash: str, entry: AuditEntry | dict[str, Any]) -> str:
    """SHA-256 over the previous entry's hash and this entry's canonical JSON."""
    if isinstance(entry, AuditEntry):
        values = {c: getattr(entry, c) for c in _HASHED_COLUMNS}
    else:
        values = {c: entry[c] for c in _HASHED_COLUMNS}
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(values)).hexdigest()


def _head(session: Session) -> tuple[int, str] | None:
    """(seq, entry_hash) of the current tenant's newest entry, if any."""
    # No autoflush: no entry of this transaction is pending yet, and the caller's rows go out
    # with its own flush, in one batch.
    with session.no_autoflush:
        last = session.execute(
            select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
    return (last.seq, last.entry_hash) if last else None


# The chain lock and the head it protects, as statements built once (core.db.rows_together).
# Raw columns, the tenant named: the ORM's tenant filter does not see driver statements (and
# RLS holds).
_LOCK = select(
    func.pg_advisory_xact_lock(
        # (integer, integer): the two-key form, the lock every writer of the chain takes
        bindparam("lock_class", type_=Integer),
        bindparam("tenant", type_=Integer),
    )
)
_HEAD = (
    select(AuditEntry.seq, AuditEntry.entry_hash)
    .where(AuditEntry.tenant_id == bindparam("tenant", type_=Integer))
    .order_by(AuditEntry.seq.desc())
    .limit(1)
)


def chain_statements(session: Session) -> list[Statement]:
    """The current tenant's chain lock and head read, for a use case to send with the first
    statements it sends anyway (``core.db.rows_together``) instead of in a round trip of their
    own when it records its entry; the head read is last, its rows go to :func:`take_head`.

    Empty when the head is known in this transaction already, or on SQLite (whose transactions
    begin IMMEDIATE, which already serialises writers: the head is read when needed). Taking
    the lock early holds it a little longer — for the use case's own work, milliseconds — and
    a registration that sends it with its number counters takes the two in the order it always
    did: the counters' row lock first."""
    tenant_id = require_context(session).tenant_id
    conn = session.connection()
    if conn.dialect.name != "postgresql" or tenant_id in _transaction_heads(session):
        return []
    return [
        (_LOCK, {"lock_class": _LOCK_CLASS, "tenant": tenant_id}),
        (_HEAD, {"tenant": tenant_id}),
    ]


def take_head(session: Session, rows: Sequence[tuple[Any, ...]]) -> tuple[int, str]:
    """Keep the head read under the chain lock (:func:`chain_statements`) as this
    transaction's: every entry of the transaction follows it."""
    head = (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS_HASH)
    _transaction_heads(session)[require_context(session).tenant_id] = head
    return head


def _locked_head(session: Session) -> tuple[int, str]:
    """Take the chain lock (held until commit) and read the head it protects.

    On PostgreSQL both go in one round trip (pipeline mode): the read is a statement of its
    own after the lock, so under READ COMMITTED its snapshot already sees every entry committed
    by the transaction that held the lock before. SQLite transactions begin IMMEDIATE (see
    core.db), which already serialises writers."""
    statements = chain_statements(session)
    if not statements:
        return _head(session) or (0, GENESIS_HASH)
    *_lock, head = rows_together(session, *statements)
    return take_head(session, head)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    purpose: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the current tenant's chain, in the caller's transaction."""
    ctx = require_context(session)
    if request_id is None:
        request_id = session.info.get(REQUEST_ID_KEY)
    heads = _transaction_heads(session)
    head = heads.get(ctx.tenant_id)
    if head is None:
        # First entry of this tenant in this transaction: the head read under the chain lock
        # stays the head for the rest of the transaction.
        head = _locked_head(session)
    entry = new_row(
        AuditEntry,
        tenant_id=ctx.tenant_id,
        seq=head[0] + 1,
        occurred_at=utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        acting_tenant_id=ctx.acting_tenant_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        purpose=purpose,
        request_id=request_id,
        details=details or {},
        prev_hash=head[1],
    )
    entry.entry_hash = compute_hash(entry.prev_hash, entry)
    heads[ctx.tenant_id] = (entry.seq, entry.entry_hash)
    # Append-only: written with Core at the unit of work's next flush, in one batch.
    add_new(session, entry)
    return entry


def _transaction_heads(session: Session) -> dict[int, tuple[int, str]]:
    """Chain heads known in the session's current transaction (forgotten when it ends)."""
    session.connection()  # begins the transaction, so the entry below keys on the real one
    tx = session.get_transaction()
    cached = session.info.get(_HEADS_KEY)
    if cached is None or cached[0] is not tx:
        cached = (tx, {})
        session.info[_HEADS_KEY] = cached
    heads: dict[int, tuple[int, str]] = cached[1]
    return heads


@dataclass(frozen=True)
class ChainHead:
    tenant_id: int
    seq: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    tenant_id: int
    ok: bool
    entries: int
    broken_seq: int | None = None
    reason: str | None = None


def _entries(session: Session) -> Iterator[dict[str, Any]]:
    # Plain column rows, not ORM objects: verification reads every row of a chain.
    columns = [getattr(AuditEntry, c) for c in (*_HASHED_COLUMNS, "prev_hash", "entry_hash")]
    stmt = select(*columns).order_by(AuditEntry.seq).execution_options(yield_per=5000)
    for row in session.execute(stmt):
        yield row._asdict()


class _Row:
    __slots__ = ("entry_hash", "prev_hash", "seq")

    def __init__(self, row: dict[str, Any]) -> None:
        self.seq: int = row["seq"]
        self.prev_hash: str = row["prev_hash"]
        self.entry_hash: str = row["entry_hash"]


def verify_current(session: Session, anchored: ChainHead | None = None) -> VerifyResult:
    """Walk the current tenant's chain from its first entry; report the first broken one."""
    tenant_id = int(require_context(session).tenant_id)
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    anchor_hash_seen = False
    for row in _entries(session):
        e = _Row(row)
        count += 1
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                return VerifyResult(
                    tenant_id,
                    False,
                    count,
                    expected_seq,
                    f"記録 {expected_seq} が欠落しています（削除の疑い）。",
                )
            return VerifyResult(tenant_id, False, count, e.seq, f"記録 {e.seq} の順序が不正です。")
        if e.prev_hash != prev_hash:
            return VerifyResult(
                tenant_id,
                False,
                count,
                e.seq,
                f"記録 {e.seq} の直前ハッシュが一致しません（挿入・入替えの疑い）。",
            )
        if compute_hash(prev_hash, row) != e.entry_hash:
            return VerifyResult(
                tenant_id,
                False,
                count,
                e.seq,
                f"記録 {e.seq} の内容がハッシュと一致しません（改ざんの疑い）。",
            )
        if anchored is not None and e.seq == anchored.seq:
            if e.entry_hash != anchored.hash:
                return VerifyResult(
                    tenant_id,
                    False,
                    count,
                    e.seq,
                    f"記録 {e.seq} が外部に保管したハッシュと一致しません。",
                )
            anchor_hash_seen = True
        prev_hash, expected_seq = e.entry_hash, expected_seq + 1
    if anchored is not None and not anchor_hash_seen and anchored.seq > 0:
        return VerifyResult(
            tenant_id,
            False,
            count,
            expected_seq,
            f"記録 {expected_seq} 以降が欠落しています"
            f"（外部保管の記録 {anchored.seq} まで存在するはずです）。",
        )
    return VerifyResult(tenant_id, True, count)


def heads(session: Session, tenant_ids: Iterable[int]) -> list[ChainHead]:
    out = []
    for ctx in each_tenant(session, list(tenant_ids)):
        seq, entry_hash = _head(session) or (0, GENESIS_HASH)
        out.append(ChainHead(int(ctx.tenant_id), seq, entry_hash))
    return out


# --- Anchors: signed chain heads kept outside the database -------------------------------------


def load_or_create_anchor_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def _anchor_payload(created_at: str, hs: list[ChainHead]) -> bytes:
    body = {"created_at": created_at, "heads": [h.__dict__ for h in hs]}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def write_anchor(path: Path, key: Ed25519PrivateKey, hs: list[ChainHead]) -> None:
    """Append one signed line of chain heads to ``path`` (a file kept off the database host)."""
    created_at = utcnow().isoformat()
    sig = key.sign(_anchor_payload(created_at, hs))
    line = {
        "created_at": created_at,
        "heads": [h.__dict__ for h in hs],
        "signature": base64.b64encode(sig).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")


def read_anchors(path: Path, public_key: Ed25519PublicKey) -> dict[int, ChainHead]:
    """The newest anchored head per tenant; raises ValueError if any line's signature fails."""
    latest: dict[int, ChainHead] = {}
    for n, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        line = json.loads(raw)
        hs = [ChainHead(**h) for h in line["heads"]]
        try:
            public_key.verify(
                base64.b64decode(line["signature"]), _anchor_payload(line["created_at"], hs)
            )
        except Exception as exc:
            raise ValueError(
                f"{path}:{n}: 署名が一致しません。外部保管の記録が改ざんされています。"
            ) from exc
        for h in hs:
            latest[h.tenant_id] = h
    return latest


def verify_tenants(
    session: Session, tenant_ids: list[int], anchors: dict[int, ChainHead] | None = None
) -> list[VerifyResult]:
    results = []
    for ctx in each_tenant(session, tenant_ids):
        results.append(verify_current(session, (anchors or {}).get(int(ctx.tenant_id))))
    return results
