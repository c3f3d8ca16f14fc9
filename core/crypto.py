"""Envelope encryption and blind indexes for personal data (個人番号 and the like).

* A **master key ring** (``JICHITAI_MASTER_KEY`` or a key file) holds 256-bit keys by id; one is
  active. It never touches the database.
* Each tenant has **data keys** (AES-256-GCM for encryption, HMAC-SHA256 for blind indexes), stored
  in ``tenant_data_keys`` wrapped by the master key. A stolen database without the key ring reveals
  nothing, and one tenant's key opens nothing of another's.
* Ciphertexts carry the data key's id, so rotating data keys never breaks old rows; the
  associated data binds each ciphertext to its tenant and field, so a value copied to another
  tenant's row or another column does not decrypt.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import os
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, Select, String, Table, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, Statement, UTCDateTime, utcnow
from core.scoping import TenantScoped, require_context

KEY_BYTES = 32
_FORMAT_VERSION = 1
_HEADER = struct.Struct(">BI")  # format version, data key id
_NONCE_BYTES = 12
_TAG_BYTES = 16
PURPOSE_ENCRYPTION = "encryption"
PURPOSE_BLIND_INDEX = "blind_index"
# Seeds of the tenant's document signatures: Ed25519 for the verification code printed on every
# certificate, ECDSA P-256 for the PDF's own (PAdES) signature, which standard readers check.
PURPOSE_DOCUMENT_SIGNING = "doc_signing"
PURPOSE_PDF_SIGNING = "pdf_signing"


class CryptoError(RuntimeError):
    """A key is missing or a ciphertext does not open. Never carries the plaintext."""


@dataclass
class MasterKeyRing:
    """Master keys by id. Only the active one wraps new data keys; all unwrap."""

    keys: dict[str, bytes]
    active_id: str
    path: Path | None = None
    from_env: bool = False

    @classmethod
    def from_env_value(cls, value: str) -> MasterKeyRing:
        key = base64.b64decode(value)
        if len(key) != KEY_BYTES:
            raise CryptoError("JICHITAI_MASTER_KEY must be base64 of 32 bytes")
        return cls(keys={"env": key}, active_id="env", from_env=True)

    @classmethod
    def load_file(cls, path: Path) -> MasterKeyRing:
        data = json.loads(path.read_text())
        keys = {kid: base64.b64decode(v) for kid, v in data["keys"].items()}
        if data["active"] not in keys or any(len(k) != KEY_BYTES for k in keys.values()):
            raise CryptoError(f"key ring {path} is malformed")
        return cls(keys=keys, active_id=data["active"], path=path)

    @classmethod
    def create_file(cls, path: Path) -> MasterKeyRing:
        ring = cls(keys={"m1": os.urandom(KEY_BYTES)}, active_id="m1", path=path)
        ring.save()
        return ring

    def save(self) -> None:
        if self.path is None:
            raise CryptoError("this key ring comes from the environment and cannot be saved")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        payload = {
            "active": self.active_id,
            "keys": {kid: base64.b64encode(k).decode() for kid, k in self.keys.items()},
        }
        # Written 0600 and renamed into place, so a crash never leaves half a key ring.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def add_new_active(self) -> str:
        n = 1 + max(int(k[1:]) for k in self.keys if k.startswith("m") and k[1:].isdigit())
        kid = f"m{n}"
        self.keys[kid] = os.urandom(KEY_BYTES)
        self.active_id = kid
        return kid

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(12)
        return self.active_id, nonce + AESGCM(self.keys[self.active_id]).encrypt(
            nonce, data_key, aad
        )

    def unwrap(self, key_id: str, blob: bytes, aad: bytes) -> bytes:
        master = self.keys.get(key_id)
        if master is None:
            raise CryptoError(f"master key {key_id} is not in the key ring")
        try:
            return AESGCM(master).decrypt(blob[:12], blob[12:], aad)
        except InvalidTag as exc:
            raise CryptoError("a data key does not unwrap with the master key") from exc


def load_key_ring(master_key: str, key_file: Path, *, create: bool = False) -> MasterKeyRing:
    """The ring from ``JICHITAI_MASTER_KEY`` if set, else from the key file (created if asked)."""
    if master_key:
        return MasterKeyRing.from_env_value(master_key)
    if key_file.exists():
        return MasterKeyRing.load_file(key_file)
    if create:
        return MasterKeyRing.create_file(key_file)
    raise CryptoError(f"no master key: set JICHITAI_MASTER_KEY or create {key_file}")


class TenantDataKey(TenantScoped, Base):
    __tablename__ = "tenant_data_keys"

    key_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purpose: Mapped[str] = mapped_column(String(16))
    master_key_id: Mapped[str] = mapped_column(String(16))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class KeyRow(NamedTuple):
    """A data key as it is read for use: a tuple, not an ORM object (every unit of work that
    encrypts reads its tenant's keys once)."""

    tenant_id: int
    key_id: int
    purpose: str
    master_key_id: str
    wrapped_key: bytes
    retired: bool

    @classmethod
    def of(cls, row: TenantDataKey) -> KeyRow:
        return cls(
            row.tenant_id,
            row.key_id,
            row.purpose,
            row.master_key_id,
            row.wrapped_key,
            row.retired_at is not None,
        )


def _key_rows_statement() -> Select[Any]:
    t = cast(Table, TenantDataKey.__table__)
    return (
        select(
            t.c.tenant_id,
            t.c.key_id,
            t.c.purpose,
            t.c.master_key_id,
            t.c.wrapped_key,
            t.c.retired_at.is_not(None),
        )
        .where(t.c.tenant_id == bindparam("tenant"))
        .order_by(t.c.key_id)
    )


# A Core statement naming the tenant itself (RLS holds as well): an ORM query with its tenant
# hook and four ORM objects took three times the database's own time, in every notification.
_KEY_ROWS = _key_rows_statement()


def _wrap_aad(tenant_id: int, key_id: int, purpose: str) -> bytes:
    return f"jichitai-dek:{tenant_id}:{key_id}:{purpose}".encode()


@dataclass
class EncryptedField:
    """A column holding ciphertext, registered so key rotation can re-encrypt it."""

    model: type[Base]
    column: str
    context: str


ENCRYPTED_FIELDS: list[EncryptedField] = []


def register_encrypted_field(model: type[Base], column: str, context: str) -> None:
    ENCRYPTED_FIELDS.append(EncryptedField(model, column, context))


@dataclass
class TenantKeys:
    """The current tenant's data keys, unwrapped on first use within one session."""

    session: Session
    ring: MasterKeyRing
    _cache: dict[tuple[int, int], bytes] = field(default_factory=dict)
    _rows_cache: dict[int, list[KeyRow]] = field(default_factory=dict)
    # Per value, finding the active row among the ORM rows and preparing the cipher cost more
    # than encrypting (≈ 10 µs of 15 µs a 個人番号): a batch of a million pays it once.
    _active: dict[tuple[int, str], KeyRow] = field(default_factory=dict)
    _aeads: dict[tuple[int, int], AESGCM] = field(default_factory=dict)

    def _tenant(self) -> int:
        return int(require_context(self.session).tenant_id)

    def ensure(self) -> None:
        """Create this tenant's encryption and blind-index keys if it has none."""
        for purpose in (
            PURPOSE_ENCRYPTION,
            PURPOSE_BLIND_INDEX,
            PURPOSE_DOCUMENT_SIGNING,
            PURPOSE_PDF_SIGNING,
        ):
            if self._active_row(purpose) is None:
                self._create(purpose)

    def signing_seed(self, purpose: str) -> tuple[int, bytes]:
        """(key id, 32-byte seed) of the tenant's active signing key (created on first use)."""
        row = self._active_row(purpose) or self._create(purpose)
        return row.key_id, self._key(row)

    def active_seed(self, purpose: str) -> tuple[int, bytes] | None:
        """Like :meth:`signing_seed`, but never creates a key (for read-only checks)."""
        row = self._active_row(purpose)
        return (row.key_id, self._key(row)) if row is not None else None

    def seed_of(self, purpose: str, key_id: int) -> bytes | None:
        """A signing seed by id, retired ones included: old documents stay verifiable."""
        row = next((r for r in self._rows() if r.key_id == key_id), None)
        if row is None:
            row = next((r for r in self._rows(refresh=True) if r.key_id == key_id), None)
        if row is None or row.purpose != purpose:
            return None
        return self._key(row)

    def _rows(self, *, refresh: bool = False) -> list[KeyRow]:
        # One query per tenant per TenantKeys, not one per value: batches decrypt many values.
        # A Core statement flushes nothing: the caller's pending rows do not change the keys
        # and go out in one flush later (the keys this session creates are flushed at once).
        tenant_id = self._tenant()
        if refresh or tenant_id not in self._rows_cache:
            self.take_rows(self.session.connection().execute(_KEY_ROWS, {"tenant": tenant_id}))
        return self._rows_cache[tenant_id]

    def unread(self) -> Statement | None:
        """The statement that reads this tenant's keys, when they have not been read yet: for a
        caller to send with its own first statements (``core.db.rows_together``) and hand the
        rows to :meth:`take_rows`."""
        tenant_id = self._tenant()
        if tenant_id in self._rows_cache:
            return None
        return _KEY_ROWS, {"tenant": tenant_id}

    def take_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """The rows of the statement :meth:`unread` gives, read here or by the caller."""
        self._active.clear()
        self._rows_cache[self._tenant()] = [KeyRow(*r) for r in rows]

    def _forget(self) -> None:
        """Drop what was read of the keys: they are about to change or have just changed."""
        self._rows_cache.pop(self._tenant(), None)
        self._active.clear()

    def _orm_rows(self) -> list[TenantDataKey]:
        """The tenant's keys as ORM rows, to change them (rotation, re-wrapping)."""
        self._forget()
        return list(self.session.scalars(select(TenantDataKey).order_by(TenantDataKey.key_id)))

    def _active_row(self, purpose: str) -> KeyRow | None:
        key = (self._tenant(), purpose)
        found = self._active.get(key)
        if found is None:
            rows = [r for r in self._rows() if r.purpose == purpose and not r.retired]
            if not rows:
                return None
            found = self._active[key] = rows[-1]
        return found

    def _create(self, purpose: str) -> KeyRow:
        tenant_id = self._tenant()
        key_id = 1 + max((r.key_id for r in self._rows()), default=0)
        master_id, wrapped = self.ring.wrap(
            os.urandom(KEY_BYTES), _wrap_aad(tenant_id, key_id, purpose)
        )
        row = TenantDataKey(
            key_id=key_id, purpose=purpose, master_key_id=master_id, wrapped_key=wrapped
        )
        self.session.add(row)
        self.session.flush()
        self._forget()
        return KeyRow.of(row)

    def _key(self, row: KeyRow) -> bytes:
        cache_key = (row.tenant_id, row.key_id)
        if cache_key not in self._cache:
            self._cache[cache_key] = self.ring.unwrap(
                row.master_key_id,
                row.wrapped_key,
                _wrap_aad(row.tenant_id, row.key_id, row.purpose),
            )
        return self._cache[cache_key]

    def _aead(self, row: KeyRow) -> AESGCM:
        cache_key = (row.tenant_id, row.key_id)
        aead = self._aeads.get(cache_key)
        if aead is None:
            aead = self._aeads[cache_key] = AESGCM(self._key(row))
        return aead

    def _require_active(self, purpose: str) -> KeyRow:
        row = self._active_row(purpose)
        if row is None:
            raise CryptoError(f"tenant {self._tenant()} has no {purpose} key")
        return row

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        row = self._require_active(PURPOSE_ENCRYPTION)
        nonce = os.urandom(_NONCE_BYTES)
        aad = f"{row.tenant_id}:{context}".encode()
        ct = self._aead(row).encrypt(nonce, plaintext.encode(), aad)
        return _HEADER.pack(_FORMAT_VERSION, row.key_id) + nonce + ct

    def decrypt(self, blob: bytes, *, context: str) -> str:
        if len(blob) < _HEADER.size + _NONCE_BYTES + _TAG_BYTES:
            raise CryptoError("ciphertext is too short (truncated or not a ciphertext)")
        version, key_id = _HEADER.unpack_from(blob)
        if version != _FORMAT_VERSION:
            raise CryptoError("unknown ciphertext format")
        # A tampered header may carry any 32-bit id; only ids of this tenant's rows are asked
        # for, so the database never sees an out-of-range value.
        row = next((r for r in self._rows() if r.key_id == key_id), None)
        if row is None:  # perhaps a key another process created since this one looked
            row = next((r for r in self._rows(refresh=True) if r.key_id == key_id), None)
        if row is None or row.purpose != PURPOSE_ENCRYPTION:
            raise CryptoError("the data key of this ciphertext is not this tenant's")
        aad = f"{row.tenant_id}:{context}".encode()
        body = blob[_HEADER.size :]
        try:
            plain = self._aead(row).decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise CryptoError("ciphertext does not open (tampered, or another tenant's)") from exc
        return plain.decode()

    def blind_index(self, value: str, *, context: str) -> str:
        """Keyed HMAC of a normalised value: equality search without storing the value."""
        row = self._require_active(PURPOSE_BLIND_INDEX)
        return hmac.digest(self._key(row), f"{context}\x00{value}".encode(), "sha256").hex()

    def rewrap_all(self) -> int:
        """Re-wrap every data key of this tenant with the ring's active master key."""
        count = 0
        for row in self._orm_rows():
            if row.master_key_id == self.ring.active_id:
                continue
            aad = _wrap_aad(row.tenant_id, row.key_id, row.purpose)
            plain = self.ring.unwrap(row.master_key_id, row.wrapped_key, aad)
            row.master_key_id, row.wrapped_key = self.ring.wrap(plain, aad)
            count += 1
        self.session.flush()
        return count

    def rotate_encryption_key(self, reencrypt: Callable[[TenantKeys], int] | None = None) -> int:
        """Retire the active encryption key, create a new one, and re-encrypt registered fields."""
        old = self._require_active(PURPOSE_ENCRYPTION)
        self._create(PURPOSE_ENCRYPTION)
        retiring = next(r for r in self._orm_rows() if r.key_id == old.key_id)
        retiring.retired_at = utcnow()
        self.session.flush()
        self._forget()
        return reencrypt(self) if reencrypt else 0


def reencrypt_registered_fields(keys: TenantKeys) -> int:
    """Re-encrypt every registered ciphertext column of the current tenant with the active key."""
    count = 0
    for f in ENCRYPTED_FIELDS:
        for obj in keys.session.scalars(select(f.model)):
            blob = getattr(obj, f.column)
            if blob is None:
                continue
            setattr(
                obj,
                f.column,
                keys.encrypt(keys.decrypt(blob, context=f.context), context=f.context),
            )
            count += 1
    keys.session.flush()
    return count
