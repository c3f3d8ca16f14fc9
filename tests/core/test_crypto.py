"""Envelope encryption, blind indexes, the master key ring and key rotation through the CLI."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from typer.testing import CliRunner

from core import audit
from core.crypto import (
    KEY_BYTES,
    CryptoError,
    MasterKeyRing,
    TenantDataKey,
    TenantKeys,
    load_key_ring,
)
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.scoping import TenantContext, TenantId
from core.settings import get_settings
from core.uow import UnitOfWork
from jichitai.cli import app as cli_app
from tenancy import service
from tests.helpers import new_tenant

MY_NUMBER = "123456789018"  # 12 digits, valid check digit: shaped like a 個人番号
CONTEXT = "resident.my_number"


@contextmanager
def _keys(state: Any, tid: int) -> Iterator[TenantKeys]:
    """A tenant's keys, in a unit of work under that tenant's context."""
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tid)))
        yield TenantKeys(uow.session, state.ring)


def _assert_secret_free(exc: BaseException) -> None:
    """Neither the error nor anything it was raised from mentions the plaintext."""
    seen: BaseException | None = exc
    while seen is not None:
        assert MY_NUMBER not in str(seen)
        assert MY_NUMBER not in repr(seen)
        assert MY_NUMBER not in "".join(str(a) for a in seen.args)
        seen = seen.__cause__ or seen.__context__


def _flat(output: str) -> str:
    return re.sub(r"\s+", "", output)


# --- encryption within a tenant ------------------------------------------------------------------


def test_round_trip_within_a_tenant(state) -> None:
    tid = new_tenant(state)
    with _keys(state, tid) as keys:
        blob = keys.encrypt(MY_NUMBER, context=CONTEXT)
        assert keys.decrypt(blob, context=CONTEXT) == MY_NUMBER
    # The data keys are in the database: a later unit of work opens the same ciphertext.
    with _keys(state, tid) as keys:
        assert keys.decrypt(blob, context=CONTEXT) == MY_NUMBER
        assert keys.decrypt(keys.encrypt("", context=CONTEXT), context=CONTEXT) == ""
        name = "山田　太郎"
        assert keys.decrypt(
            keys.encrypt(name, context="resident.name"), context="resident.name"
        ) == (name)


def test_ciphertext_hides_the_plaintext_and_is_never_repeated(state) -> None:
    tid = new_tenant(state)
    with _keys(state, tid) as keys:
        first = keys.encrypt(MY_NUMBER, context=CONTEXT)
        second = keys.encrypt(MY_NUMBER, context=CONTEXT)
    for blob in (first, second):
        assert MY_NUMBER.encode() not in blob
        assert MY_NUMBER.encode() not in base64.b64encode(blob)
    assert first != second
    assert first[17:] != second[17:]  # not only the nonce differs
    # Header: format version 1, then the tenant's data key id.
    assert struct.unpack(">BI", first[:5]) == struct.unpack(">BI", second[:5])
    assert first[0] == 1


def test_ciphertext_does_not_open_under_another_context(state) -> None:
    tid = new_tenant(state)
    with _keys(state, tid) as keys:
        blob = keys.encrypt(MY_NUMBER, context=CONTEXT)
        with pytest.raises(CryptoError) as caught:
            keys.decrypt(blob, context="resident.phone")
    _assert_secret_free(caught.value)


def test_ciphertext_does_not_open_under_another_tenant(state) -> None:
    owner, other = new_tenant(state), new_tenant(state)
    with _keys(state, owner) as keys:
        blob = keys.encrypt(MY_NUMBER, context=CONTEXT)
    # The other tenant has a data key with the same id, but it is not the same key.
    with _keys(state, other) as keys, pytest.raises(CryptoError) as caught:
        keys.decrypt(blob, context=CONTEXT)
    _assert_secret_free(caught.value)


def test_every_flipped_byte_is_refused(state) -> None:
    tid = new_tenant(state)
    with _keys(state, tid) as keys:
        blob = keys.encrypt(MY_NUMBER, context=CONTEXT)
        for i in range(len(blob)):
            for mask in (0x01, 0x80):
                if (i, mask) == (1, 0x80):
                    continue  # a key id >= 2**31: see the next test
                tampered = bytearray(blob)
                tampered[i] ^= mask
                with pytest.raises(CryptoError) as caught:
                    keys.decrypt(bytes(tampered), context=CONTEXT)
                _assert_secret_free(caught.value)
        assert keys.decrypt(blob, context=CONTEXT) == MY_NUMBER


def test_a_key_id_beyond_the_integer_range_is_refused_with_crypto_error(state) -> None:
    """The header's key id is an unsigned 32-bit number; tenant_data_keys.key_id is a signed
    INTEGER. A tampered header with the top bit set must be refused like any other tampering,
    and must leave the unit of work usable."""
    tid = new_tenant(state)
    with _keys(state, tid) as keys:
        blob = keys.encrypt(MY_NUMBER, context=CONTEXT)
        _version, key_id = struct.unpack(">BI", blob[:5])
        tampered = struct.pack(">BI", 1, key_id | 0x80000000) + blob[5:]
        with pytest.raises(CryptoError) as caught:
            keys.decrypt(tampered, context=CONTEXT)
        _assert_secret_free(caught.value)
        assert keys.decrypt(blob, context=CONTEXT) == MY_NUMBER


def test_a_truncated_ciphertext_is_refused_with_crypto_error(state) -> None:
    tid = new_tenant(state)
    with _keys(state, tid) as keys:
        blob = keys.encrypt(MY_NUMBER, context=CONTEXT)
        for length in range(len(blob)):
            with pytest.raises(CryptoError):
                keys.decrypt(blob[:length], context=CONTEXT)


# --- blind index ---------------------------------------------------------------------------------


def test_blind_index(state) -> None:
    first, second = new_tenant(state), new_tenant(state)
    with _keys(state, first) as keys:
        a1 = keys.blind_index(MY_NUMBER, context=CONTEXT)
        a1_again = keys.blind_index(MY_NUMBER, context=CONTEXT)
        a1_other_context = keys.blind_index(MY_NUMBER, context="resident.phone")
        a1_other_value = keys.blind_index("123456789026", context=CONTEXT)
    with _keys(state, first) as keys:  # another session, keys unwrapped afresh
        a1_later = keys.blind_index(MY_NUMBER, context=CONTEXT)
    with _keys(state, second) as keys:
        b1 = keys.blind_index(MY_NUMBER, context=CONTEXT)

    assert re.fullmatch(r"[0-9a-f]{64}", a1)
    assert a1 == a1_again == a1_later
    assert a1 != b1
    assert a1 != a1_other_context
    assert a1 != a1_other_value
    assert MY_NUMBER not in a1


def test_the_same_keys_encrypt_under_the_new_key_right_after_a_rotation(state) -> None:
    # TenantKeys remembers its active keys for speed; a rotation must not leave it on the old one.
    tid = new_tenant(state)
    with _keys(state, tid) as keys:
        before = keys.encrypt(MY_NUMBER, context=CONTEXT)
        index_before = keys.blind_index(MY_NUMBER, context=CONTEXT)
        keys.rotate_encryption_key()
        after = keys.encrypt(MY_NUMBER, context=CONTEXT)

        old_id = struct.unpack_from(">BI", before)[1]
        new_id = struct.unpack_from(">BI", after)[1]
        assert new_id > old_id
        assert keys.decrypt(before, context=CONTEXT) == MY_NUMBER
        assert keys.decrypt(after, context=CONTEXT) == MY_NUMBER
        # The blind-index key is not rotated with the encryption key: searches keep working.
        assert keys.blind_index(MY_NUMBER, context=CONTEXT) == index_before


def test_a_tenant_without_keys_cannot_encrypt(state, database) -> None:
    tid = new_tenant(state)
    with database.owner_engine.begin() as conn:
        conn.execute(delete(TenantDataKey).where(TenantDataKey.tenant_id == tid))
    with _keys(state, tid) as keys:
        with pytest.raises(CryptoError):
            keys.encrypt(MY_NUMBER, context=CONTEXT)
        with pytest.raises(CryptoError):
            keys.blind_index(MY_NUMBER, context=CONTEXT)
        keys.ensure()  # and a tenant given keys again works
        assert keys.decrypt(keys.encrypt(MY_NUMBER, context=CONTEXT), context=CONTEXT) == (
            MY_NUMBER
        )


# --- master key ring -----------------------------------------------------------------------------


def test_key_ring_file_round_trip(tmp_path) -> None:
    path = tmp_path / "keys" / "master-keys.json"
    created = MasterKeyRing.create_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.with_suffix(".tmp").exists()
    loaded = MasterKeyRing.load_file(path)
    assert loaded.active_id == created.active_id == "m1"
    assert loaded.keys == created.keys
    assert len(loaded.keys["m1"]) == KEY_BYTES
    assert loaded.path == path and not loaded.from_env

    data_key, aad = os.urandom(KEY_BYTES), b"jichitai-dek:1:1:encryption"
    kid, wrapped = created.wrap(data_key, aad)
    assert kid == "m1"
    assert loaded.unwrap(kid, wrapped, aad) == data_key
    with pytest.raises(CryptoError):
        loaded.unwrap(kid, wrapped, b"jichitai-dek:2:1:encryption")  # another tenant's slot

    assert load_key_ring("", path).keys == created.keys  # the file is used when no env key
    assert MasterKeyRing.create_file(tmp_path / "other.json").keys != created.keys


@pytest.mark.parametrize(
    "payload",
    [
        {"active": "m2", "keys": {"m1": base64.b64encode(os.urandom(32)).decode()}},
        {"active": "m1", "keys": {"m1": base64.b64encode(os.urandom(16)).decode()}},
        {
            "active": "m1",
            "keys": {
                "m1": base64.b64encode(os.urandom(32)).decode(),
                "m2": base64.b64encode(os.urandom(31)).decode(),
            },
        },
    ],
    ids=["active-key-missing", "short-key", "one-short-key-among-good"],
)
def test_a_malformed_key_ring_is_refused(tmp_path, payload) -> None:
    path = tmp_path / "master-keys.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(CryptoError, match="malformed"):
        MasterKeyRing.load_file(path)
    with pytest.raises(CryptoError):
        load_key_ring("", path)


def test_a_key_ring_that_is_not_json_is_refused(tmp_path) -> None:
    path = tmp_path / "master-keys.json"
    path.write_text("not a key ring")
    with pytest.raises(json.JSONDecodeError):
        MasterKeyRing.load_file(path)


@pytest.mark.parametrize("length", [1, 16, 31, 33, 64])
def test_an_env_master_key_of_the_wrong_length_is_refused(tmp_path, length) -> None:
    value = base64.b64encode(os.urandom(length)).decode()
    with pytest.raises(CryptoError, match="32 bytes") as caught:
        load_key_ring(value, tmp_path / "unused.json", create=True)
    assert value not in str(caught.value)  # the key itself is never echoed
    assert not (tmp_path / "unused.json").exists()


def test_the_env_master_key_wins_and_cannot_be_saved(tmp_path) -> None:
    value = base64.b64encode(os.urandom(32)).decode()
    path = tmp_path / "master-keys.json"
    MasterKeyRing.create_file(path)
    ring = load_key_ring(value, path)
    assert ring.from_env and ring.active_id == "env"
    assert ring.keys == {"env": base64.b64decode(value)}
    with pytest.raises(CryptoError):
        ring.save()


def test_no_master_key_at_all_is_an_error_unless_asked_to_create(tmp_path) -> None:
    path = tmp_path / "var" / "master-keys.json"
    with pytest.raises(CryptoError, match="no master key"):
        load_key_ring("", path)
    assert not path.exists()
    ring = load_key_ring("", path, create=True)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKeyRing.load_file(path).keys == ring.keys


# --- rotation through the CLI, with a key file ---------------------------------------------------


def _tenant_data_keys(engine: Engine) -> list[tuple[int, int, str, str, bool]]:
    """Every tenant's data key rows, read straight from the database file."""
    table = TenantDataKey.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.tenant_id, table.c.key_id)).mappings()
        return [
            (r["tenant_id"], r["key_id"], r["purpose"], r["master_key_id"], r["retired_at"] is None)
            for r in rows
        ]


def _invoke(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> Any:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "500")
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, list(args))
    finally:
        get_settings.cache_clear()


def test_keys_rotate_with_a_key_file(tmp_path, monkeypatch) -> None:
    var_dir = tmp_path / "var"
    ring_path = var_dir / "master-keys.json"
    url = f"sqlite:///{tmp_path / 'rotation.db'}"
    upgrade(url)
    old_ring = MasterKeyRing.create_file(ring_path)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        ids = {}
        with UnitOfWork(factory) as uow:
            for code, name in [("162116", "射水市"), ("162060", "滑川市")]:
                m = service.create_municipality(
                    uow.session,
                    old_ring,
                    lg_code=code,
                    name=name,
                    prefecture="富山県",
                    kind="市",
                    actor=audit.Actor.system("tests"),
                )
                ids[code] = m.id
            uow.commit()
        imizu = ids["162116"]
        with UnitOfWork(factory) as uow:
            uow.set_tenant(TenantContext(TenantId(imizu)))
            keys = TenantKeys(uow.session, old_ring)
            blob = keys.encrypt(MY_NUMBER, context=CONTEXT)
            index = keys.blind_index(MY_NUMBER, context=CONTEXT)
        before = _tenant_data_keys(engine)
        # Per tenant: the encryption and blind-index keys and the two document-signing seeds.
        assert len(before) == 8
        assert {master for *_, master, _active in before} == {"m1"}

        monkeypatch.delenv("JICHITAI_MIGRATION_DATABASE_URL", raising=False)
        result = _invoke(
            monkeypatch,
            {
                "JICHITAI_DATABASE_URL": url,
                "JICHITAI_MASTER_KEY": "",
                "JICHITAI_MASTER_KEY_FILE": str(ring_path),
                "JICHITAI_VAR_DIR": str(var_dir),
            },
            "keys",
            "rotate",
            "--data-keys",
        )
        assert result.exit_code == 0, result.output
        assert "マスター鍵をm2に更新しました" in _flat(result.output)

        new_ring = MasterKeyRing.load_file(ring_path)
        assert stat.S_IMODE(ring_path.stat().st_mode) == 0o600
        assert list(new_ring.keys) == [new_ring.active_id] == ["m2"]
        assert new_ring.keys["m2"] != old_ring.keys["m1"]

        after = _tenant_data_keys(engine)
        assert {master for *_, master, _active in after} == {"m2"}
        for tid in ids.values():
            mine = [
                (key_id, purpose, active) for t, key_id, purpose, _m, active in after if t == tid
            ]
            # The old encryption key is retired (kept for old rows), a new one is active.
            # The signing seeds are not data keys: rotation re-wraps them and leaves them active.
            assert mine == [
                (1, "encryption", False),
                (2, "blind_index", True),
                (3, "doc_signing", True),
                (4, "pdf_signing", True),
                (5, "encryption", True),
            ]

        with UnitOfWork(factory) as uow:
            uow.set_tenant(TenantContext(TenantId(imizu)))
            keys = TenantKeys(uow.session, new_ring)
            assert keys.decrypt(blob, context=CONTEXT) == MY_NUMBER
            assert keys.blind_index(MY_NUMBER, context=CONTEXT) == index
            fresh = keys.encrypt(MY_NUMBER, context=CONTEXT)
            assert struct.unpack(">BI", fresh[:5]) == (1, 5)  # the new data key
            assert keys.decrypt(fresh, context=CONTEXT) == MY_NUMBER
            # The retired master key is gone: the old ring no longer opens anything.
            with pytest.raises(CryptoError):
                TenantKeys(uow.session, old_ring).decrypt(blob, context=CONTEXT)
            verified = audit.verify_current(uow.session)
            assert verified.ok and verified.entries == 2  # tenant.created, keys.rotated
            last = uow.session.scalars(
                select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(1)
            ).one()
            assert last.action == "keys.rotated"
            assert last.details == {"master_key_id": "m2", "data_keys": True}
    finally:
        engine.dispose()


def test_keys_rotate_refuses_an_env_master_key(tmp_path, monkeypatch) -> None:
    var_dir = tmp_path / "var"
    monkeypatch.delenv("JICHITAI_MASTER_KEY_FILE", raising=False)
    result = _invoke(
        monkeypatch,
        {
            "JICHITAI_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
            "JICHITAI_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "JICHITAI_VAR_DIR": str(var_dir),
        },
        "keys",
        "rotate",
    )
    assert result.exit_code != 0
    assert "鍵ファイルに移行してから更新してください" in _flat(result.output)
    assert "エラー" in result.output
    assert not (var_dir / "master-keys.json").exists()
