"""Issuing documents through ``DocumentService``: serials, the issuance log, verification.

Every test runs on SQLite and on PostgreSQL (fixture ``database``), each in a fresh municipality
(``new_tenant``) so that serials start at 1. ``today`` is fixed for the serials' year.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit
from core.audit import AuditEntry
from core.crypto import PURPOSE_DOCUMENT_SIGNING, PURPOSE_PDF_SIGNING, TenantKeys
from core.errors import NotFound, ValidationFailed
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from forms import service, signing
from forms.catalog import FormKind
from forms.models import DocumentFile, DocumentRevocation, IssuedDocument, SerialCounter
from forms.service import DocumentService, Issued, Issuer, IssueRequest, Verification
from jichitai.state import AppState
from tenancy import repository as tenancy_repo
from tests.helpers import altered, new_tenant

T = TypeVar("T")

TODAY = dt.date(2026, 11, 27)
ACTOR = audit.Actor("staff", "tests.forms")
BASE_URL = "https://jichitai.example"
SERIAL_RE = re.compile(r"^\d{6}-\d{4}-\d{7}$")
SUBJECT = uuid.UUID("0b6f1c2e-8a51-4c1e-9d2b-6f0a3c9e7d41")
HOUSEHOLD = uuid.UUID("5d0c8f7e-2b4a-4e8b-a6f3-1c9d0e2b7a58")
NAME, KANA = "射水 葛\U000e0102城", "イミズ カツラギ"
ADDRESS = "沖縄県試験村字大門1番地"
REQUESTER, PURPOSE = "射水 花子", "年金の手続に使用"
PRIVATE = [str(SUBJECT), str(HOUSEHOLD), "射水", "葛", KANA, ADDRESS, REQUESTER, PURPOSE]
RESULT_KEYS = {
    "serial",
    "status",
    "genuine",
    "message",
    "title",
    "issuer",
    "issued_on",
    "acting_issuer",
    "pages",
}
FORGED_CODE = "検証用コードが一致しません。この証明書は偽造または改ざんされたおそれがあります。"


def _record() -> dict[str, Any]:
    return {
        "address": ADDRESS,
        "head_name": "射水 葛城",
        "persons": [
            {
                "name": NAME,
                "kana": KANA,
                "birth_date": "昭和50年4月1日",
                "sex": "男",
                "relationship": "世帯主",
                "became_resident_on": "平成10年4月1日",
                "address_since": "平成10年4月1日",
                "notified_on": "平成10年4月1日",
                "previous_address": "富山県富山市新桜町7番38号",
            }
        ],
        "omitted": ["本籍・筆頭者", "個人番号"],
    }


def _request(copies: int = 1, **over: Any) -> IssueRequest:
    values: dict[str, Any] = {
        "form": FormKind.RESIDENT_RECORD_COPY,
        "record": _record(),
        "subject_ids": [SUBJECT],
        "requester_type": "self",
        "requester_name": REQUESTER,
        "purpose": PURPOSE,
        "fee_per_copy": 300,
        "copies": copies,
        "household_id": HOUSEHOLD,
    }
    return IssueRequest(**(values | over))


def _text(pdf: bytes) -> str:
    """The PDF's text with line breaks and letter spacing taken out."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return "".join(page.extract_text() for page in pages).replace(" ", "").replace("\n", "")


def _flip_in_page_content(pdf: bytes) -> bytes:
    contents = PdfReader(io.BytesIO(pdf)).pages[0].get("/Contents")
    assert contents is not None
    found = re.search(rb"(?<![0-9])%d 0 obj" % contents.indirect_reference.idnum, pdf)
    assert found is not None
    at = pdf.index(b"stream", found.end()) + len(b"stream\n") + 8
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


@dataclass
class Env:
    """One fresh municipality."""

    state: AppState
    tenant_id: int
    lg_code: str

    @property
    def ctx(self) -> TenantContext:
        return TenantContext(TenantId(self.tenant_id))

    def tx(self, action: Callable[[Session], T]) -> T:
        """Run ``action`` in the tenant's context and commit."""
        with UnitOfWork(self.state.session_factory) as uow:
            uow.set_tenant(self.ctx)
            result = action(uow.session)
            uow.commit()
        return result

    def read(self, query: Callable[[Session], T]) -> T:
        with UnitOfWork(self.state.session_factory) as uow:
            uow.set_tenant(self.ctx)
            result = query(uow.session)
            uow.session.expunge_all()
            return result

    def documents(
        self, action: Callable[[DocumentService, Issuer], T], *, today: dt.date = TODAY
    ) -> T:
        def run(session: Session) -> T:
            docs = DocumentService(
                session,
                TenantKeys(session, self.state.ring),
                self.state.renderer,
                ACTOR,
                base_url=BASE_URL,
                today=today,
            )
            municipality = tenancy_repo.municipality_by_id(session, self.tenant_id)
            assert municipality is not None
            return action(docs, service.issuer_for(session, municipality))

        return self.tx(run)

    def issue(self, copies: int = 1, *, today: dt.date = TODAY, **over: Any) -> list[Issued]:
        return self.documents(lambda d, i: d.issue(_request(copies, **over), i), today=today)

    def row(self, serial: str) -> IssuedDocument:
        row = self.read(lambda s: service.by_serial(s, serial))
        assert row is not None
        return row

    def verify(self, serial: str, **kw: Any) -> Verification:
        """As the public page does: a session with no tenant set."""
        with UnitOfWork(self.state.session_factory) as uow:
            return service.verify(uow.session, self.state.ring, serial, **kw)

    def revoke(self, serial: str, reason: str = "紛失の届出") -> DocumentRevocation:
        return self.tx(lambda s: service.revoke(s, ACTOR, serial, reason))

    def count(self, model: Any) -> int:
        return int(self.read(lambda s: s.scalar(select(func.count()).select_from(model))) or 0)

    def issued_entries(self) -> list[str | None]:
        query = select(AuditEntry.subject_id).where(AuditEntry.action == "document.issued")
        return list(self.read(lambda s: s.scalars(query.order_by(AuditEntry.seq)).all()))


def _env(state: AppState) -> Env:
    tenant_id = new_tenant(state)
    with UnitOfWork(state.session_factory) as uow:
        municipality = tenancy_repo.municipality_by_id(uow.session, tenant_id)
        assert municipality is not None
        return Env(state, tenant_id, municipality.lg_code)


@pytest.fixture
def env(state: AppState) -> Env:
    return _env(state)


# --- serials -----------------------------------------------------------------------------------


def test_serials_are_sequential_per_year(env: Env) -> None:
    lg = env.lg_code
    first = [d.serial for d in env.issue(3)]
    assert first == [f"{lg}-2026-0000001", f"{lg}-2026-0000002", f"{lg}-2026-0000003"]
    assert [d.serial for d in env.issue()] == [f"{lg}-2026-0000004"]
    # A new calendar year starts again at 1; the old year's counter carries on where it was.
    next_year = [d.serial for d in env.issue(2, today=dt.date(2027, 1, 1))]
    assert next_year == [f"{lg}-2027-0000001", f"{lg}-2027-0000002"]
    assert [d.serial for d in env.issue(today=dt.date(2026, 12, 31))] == [f"{lg}-2026-0000005"]
    assert all(SERIAL_RE.match(s) for s in first + next_year)


def test_next_serials_counts_in_one_step(env: Env) -> None:
    lg = env.lg_code

    def take(session: Session) -> list[list[str]]:
        return [service.next_serials(session, lg, 2030, n) for n in (2, 1, 3)]

    assert env.tx(take) == [
        [f"{lg}-2030-0000001", f"{lg}-2030-0000002"],
        [f"{lg}-2030-0000003"],
        [f"{lg}-2030-0000004", f"{lg}-2030-0000005", f"{lg}-2030-0000006"],
    ]
    counters = env.read(lambda s: s.scalars(select(SerialCounter)).all())
    assert [(c.year, c.next_value) for c in counters] == [(2030, 7)]


def test_serials_are_distinct_across_tenants(state: AppState) -> None:
    a, b = _env(state), _env(state)
    assert a.lg_code != b.lg_code
    a1 = [d.serial for d in a.issue(2)]
    b1 = [d.serial for d in b.issue()]
    a2 = [d.serial for d in a.issue()]
    assert a1 == [f"{a.lg_code}-2026-0000001", f"{a.lg_code}-2026-0000002"]
    assert b1 == [f"{b.lg_code}-2026-0000001"]  # its own counter, untouched by the other's
    assert a2 == [f"{a.lg_code}-2026-0000003"]
    assert len(set(a1 + b1 + a2)) == 4
    assert a.count(IssuedDocument) == 3
    assert b.count(IssuedDocument) == 1


def _wait_until_a_session_waits_for_a_lock(database: Any) -> None:
    if not database.is_pg:
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with database.owner_engine.connect() as conn:
            if conn.execute(query).scalar():
                return
        time.sleep(0.05)


def test_two_first_serials_of_a_year_at_once(
    env: Env, database: Any, request: pytest.FixtureRequest
) -> None:
    """Two counters of a new year issued at the same time both get a serial, in order."""
    year = 2031
    outcome: dict[str, Any] = {}
    started = threading.Event()

    def second() -> None:
        try:
            with UnitOfWork(env.state.session_factory) as uow:
                uow.set_tenant(env.ctx)
                started.set()
                outcome["serials"] = service.next_serials(uow.session, env.lg_code, year, 1)
                uow.commit()
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=second)
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        first = service.next_serials(uow.session, env.lg_code, year, 1)
        thread.start()
        assert started.wait(10)
        _wait_until_a_session_waits_for_a_lock(database)
        uow.commit()
    thread.join(30)
    assert first == [f"{env.lg_code}-{year}-0000001"]
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["serials"] == [f"{env.lg_code}-{year}-0000002"]


# --- issuing -----------------------------------------------------------------------------------


def test_issue_logs_and_stores_every_copy(env: Env) -> None:
    issued = env.issue(2)
    assert len(issued) == 2
    rows = env.read(
        lambda s: s.scalars(select(IssuedDocument).order_by(IssuedDocument.serial)).all()
    )
    files = env.read(lambda s: {f.document_id: f.pdf for f in s.scalars(select(DocumentFile))})
    assert [r.serial for r in rows] == [d.serial for d in issued]
    assert set(files) == {d.document_id for d in issued}
    for doc, row in zip(issued, rows, strict=True):
        stored = files[doc.document_id]
        assert row.id == doc.document_id
        assert stored == doc.pdf
        assert hashlib.sha256(stored).hexdigest() == row.pdf_sha256 == doc.pdf_sha256
        assert doc.serial in _text(stored)
        assert NAME.replace(" ", "") in _text(stored)
        assert row.pages == doc.pages == len(PdfReader(io.BytesIO(stored)).pages)
        assert row.form_kind == doc.form == FormKind.RESIDENT_RECORD_COPY
        assert doc.title == "住民票の写し"
        assert (row.fee, doc.fee) == (300, 300)
        assert row.subject_ids == [str(SUBJECT)]
        assert row.household_id == HOUSEHOLD
        assert (row.requester_type, row.requester_name, row.purpose) == ("self", REQUESTER, PURPOSE)
        assert row.issued_by == ACTOR.id
        assert row.reissue_of is None
    # Each copy has its own printed content (its serial) and so its own hash and signature.
    assert rows[0].content_hash != rows[1].content_hash
    assert rows[0].signature != rows[1].signature
    assert env.issued_entries() == [d.serial for d in issued]


def test_each_copy_carries_a_valid_code_and_pades_signature(env: Env) -> None:
    (doc,) = env.issue()
    row = env.row(doc.serial)

    def keys(session: Session) -> tuple[bytes | None, Any, str]:
        tenant_keys = TenantKeys(session, env.state.ring)
        seed = tenant_keys.seed_of(PURPOSE_DOCUMENT_SIGNING, row.signing_key_id)
        pdf_key_id, pdf_seed = tenant_keys.signing_seed(PURPOSE_PDF_SIGNING)
        municipality = tenancy_repo.municipality_by_id(session, env.tenant_id)
        assert municipality is not None
        issuer = service.issuer_for(session, municipality)
        cert, _ = signing.pdf_certificate(env.lg_code, issuer.title, pdf_key_id, pdf_seed)
        return seed, cert, issuer.title

    seed, certificate, title = env.read(keys)
    assert seed is not None
    assert signing.code_signature_valid(seed, doc.serial, row.content_hash, row.signature)
    check = signing.check_pdf_signature(doc.pdf, certificate)
    assert check == signing.PdfSignatureCheck(True, True, True, title)
    assert title == "試験村長"


def test_the_issuance_log_rows_cannot_be_changed_through_the_orm(env: Env) -> None:
    (doc,) = env.issue()
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        row = uow.session.scalars(select(IssuedDocument)).one()
        row.purpose = "書き換え"
        with pytest.raises(DBAPIError):
            uow.commit()
    assert env.row(doc.serial).purpose == PURPOSE


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE issued_documents SET purpose = 'erased' WHERE tenant_id = :t",
        "UPDATE issued_documents SET pdf_sha256 = content_hash WHERE tenant_id = :t",
        "DELETE FROM issued_documents WHERE tenant_id = :t",
        "UPDATE document_revocations SET reason = 'erased' WHERE tenant_id = :t",
        "DELETE FROM document_revocations WHERE tenant_id = :t",
    ],
)
def test_the_issuance_log_is_append_only(env: Env, database: Any, sql: str) -> None:
    issued = env.issue(2)
    env.revoke(issued[0].serial)
    table = sql.split()[2] if sql.startswith("DELETE") else sql.split()[1]

    def snapshot(session: Session) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(text(f"SELECT * FROM {table} ORDER BY serial"))]

    before = env.read(snapshot)
    assert before
    with UnitOfWork(env.state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        with pytest.raises(DBAPIError) as caught:
            uow.session.execute(text(sql), {"t": env.tenant_id})
        message = str(caught.value.orig)
        if database.is_pg:
            assert "permission denied" in message
        else:
            assert f"{table} is append-only" in message
    assert env.read(snapshot) == before


# --- verification ------------------------------------------------------------------------------


def _private_data_absent(result: dict[str, Any]) -> None:
    assert set(result) == RESULT_KEYS
    flat = repr(result)
    for value in PRIVATE:
        assert value not in flat, value


def test_a_notice_is_named_a_notice_not_a_certificate(env: Env) -> None:
    """Notices in batch are checked on the same page, which names what was checked."""
    item = service.BatchItem({"payer": {"name": "射水　太郎"}, "total": 100_000}, [SUBJECT])
    (context,) = env.documents(
        lambda d, i: d.issue_batch(
            FormKind.NHI_PREMIUM_NOTICE, [item], i, requester_type="official", purpose="納税通知"
        )
    )
    serial = context["document"]["serial"]
    row = env.row(serial)
    result = env.verify(serial, digest=row.content_hash, signature=row.signature)
    assert result.message == "この通知書は正規に発行されたものです。"
    forged = env.verify(serial, digest="0" * 64, signature=row.signature)
    assert forged.message.endswith("この通知書は偽造または改ざんされたおそれがあります。")
    env.revoke(serial, "宛先誤り")
    assert env.verify(serial).message == "この通知書は無効にされています（宛先誤り）。"


def test_a_genuine_code_is_genuine(env: Env) -> None:
    (doc,) = env.issue()
    row = env.row(doc.serial)
    result = env.verify(doc.serial, digest=row.content_hash, signature=row.signature)
    assert result.status == "genuine"
    assert result.message == "この証明書は正規に発行されたものです。"
    assert result.title == "住民票の写し"
    assert result.issuer == "沖縄県試験村"
    assert result.issued_on == row.issued_at.date()
    assert result.pages == doc.pages
    assert result.as_dict()["genuine"] is True
    _private_data_absent(result.as_dict())
    # The serial alone is a genuine serial too.
    assert env.verify(doc.serial).status == "genuine"


def test_the_code_printed_in_the_qr_parses_and_verifies(env: Env) -> None:
    (doc,) = env.issue()
    row = env.row(doc.serial)
    url = signing.VerificationCode(doc.serial, row.content_hash, row.signature).url(BASE_URL)
    code = signing.VerificationCode.parse(url)
    assert code is not None
    assert env.verify(code.serial, digest=code.digest, signature=code.signature).status == "genuine"


def test_a_wrong_digest_or_signature_is_forged(env: Env) -> None:
    first, second = env.issue(2)
    row, other = env.row(first.serial), env.row(second.serial)
    wrong_digest = altered(row.content_hash)
    cases: list[dict[str, str | None]] = [
        {"digest": wrong_digest, "signature": row.signature},
        {"digest": row.content_hash, "signature": other.signature},  # another copy's signature
        {"digest": other.content_hash, "signature": other.signature},  # another copy's code
        {"digest": row.content_hash, "signature": row.signature[:-2]},
        {"digest": row.content_hash, "signature": "garbage"},
        {"digest": row.content_hash, "signature": None},
        {"digest": None, "signature": row.signature},
        {"digest": row.content_hash.upper(), "signature": row.signature},
    ]
    for case in cases:
        result = env.verify(first.serial, **case)
        assert result.status == "forged", case
        assert result.message == FORGED_CODE
        assert result.as_dict()["genuine"] is False
        assert result.title is None  # a forgery learns nothing about the real document
        _private_data_absent(result.as_dict())


def test_the_issued_pdf_uploaded_as_is_is_genuine(env: Env) -> None:
    (doc,) = env.issue()
    assert env.verify(doc.serial, pdf=doc.pdf).status == "genuine"


def test_a_modified_pdf_is_forged(env: Env) -> None:
    (doc,) = env.issue()
    result = env.verify(doc.serial, pdf=_flip_in_page_content(doc.pdf))
    assert result.status == "forged"
    assert result.message == "このPDFは発行後に改変されています。"
    _private_data_absent(result.as_dict())


def test_a_pdf_with_bytes_appended_is_forged(env: Env) -> None:
    (doc,) = env.issue()
    result = env.verify(doc.serial, pdf=doc.pdf + b"\n% appended\n")
    assert result.status == "forged"
    assert result.message == "このPDFは発行後に改変されています。"


def test_an_unsigned_pdf_is_forged(env: Env) -> None:
    (doc,) = env.issue()
    unsigned = env.state.renderer.pdf_from_html(f"<p>住民票の写し {doc.serial}</p>")
    result = env.verify(doc.serial, pdf=unsigned)
    assert result.status == "forged"
    assert result.message == "このPDFには発行団体の電子署名がありません。"
    assert env.verify(doc.serial, pdf=b"not a pdf").status == "forged"


def test_another_genuine_pdf_does_not_vouch_for_a_serial(env: Env) -> None:
    first, second = env.issue(2)
    result = env.verify(first.serial, pdf=second.pdf)
    assert result.status == "forged"
    assert result.message == "このPDFは発行されたファイルと一致しません。"


def test_a_revoked_document_is_revoked(env: Env) -> None:
    (doc,) = env.issue()
    row = env.row(doc.serial)
    revocation = env.revoke(doc.serial, "誤交付のため")
    assert revocation.serial == doc.serial
    result = env.verify(doc.serial, digest=row.content_hash, signature=row.signature)
    assert result.status == "revoked"
    assert result.message == "この証明書は無効にされています（誤交付のため）。"
    assert result.title == "住民票の写し"
    assert result.as_dict()["genuine"] is False
    _private_data_absent(result.as_dict())
    assert env.verify(doc.serial, pdf=doc.pdf).status == "revoked"
    # A forged code stays forged: the revocation is not news to a forger.
    assert env.verify(doc.serial, digest=row.content_hash, signature="x").status == "forged"
    with pytest.raises(ValidationFailed) as again:
        env.revoke(doc.serial)
    assert again.value.error_code == "already_revoked"


def test_revoking_an_unknown_serial_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        env.revoke(f"{env.lg_code}-2026-0000001")


def test_a_reissued_document_is_superseded(env: Env) -> None:
    (original,) = env.issue()
    (reissue,) = env.issue(reissue_of=original.serial)
    result = env.verify(original.serial)
    assert result.status == "superseded"
    assert reissue.serial in result.message
    assert env.verify(reissue.serial).status == "genuine"
    assert "（再交付）" in _text(reissue.pdf)
    assert "（再交付）" not in _text(original.pdf)


@pytest.mark.parametrize(
    "serial",
    [
        "",
        "abc",
        "-",
        "16211-2026-0000001",
        "1621160-2026-0000001",
        "16211６-2026-0000001",
        "../../etc/passwd",
        "162116",
        "999999-2026-0000001",
        "' OR 1=1 --",
    ],
)
def test_a_malformed_or_unknown_serial_is_unknown(env: Env, serial: str) -> None:
    result = env.verify(serial, digest="0" * 64, signature="x")
    assert result.status == "unknown"
    assert result.message == "この発行番号の証明書は発行されていません。"
    assert result.as_dict()["genuine"] is False
    _private_data_absent(result.as_dict())


def test_an_unissued_number_of_a_real_municipality_is_unknown(env: Env) -> None:
    (doc,) = env.issue()
    assert env.verify(f"{env.lg_code}-2026-0000002").status == "unknown"
    assert env.verify(f"{env.lg_code}-2025-0000001").status == "unknown"
    assert env.verify(doc.serial + "0").status == "unknown"
    assert env.verify(doc.serial.replace("-2026-", "-2027-")).status == "unknown"


def test_another_tenants_number_does_not_leak(state: AppState) -> None:
    a, b = _env(state), _env(state)
    (doc,) = a.issue()
    row = a.row(doc.serial)
    number = doc.serial.split("-", 1)[1]
    # The same document number under the other municipality's code: not a document of B's.
    borrowed = f"{b.lg_code}-{number}"
    attempts: list[dict[str, Any]] = [
        {},
        {"digest": row.content_hash, "signature": row.signature},
        {"pdf": doc.pdf},
    ]
    for kw in attempts:
        result = b.verify(borrowed, **kw)
        assert result.status == "unknown", kw
        assert result.title is None and result.issuer is None
    # Once B has its own document of that number, A's code and PDF still do not vouch for it.
    (own,) = b.issue()
    assert own.serial == borrowed
    code = b.verify(borrowed, digest=row.content_hash, signature=row.signature)
    assert code.status == "forged"
    assert b.verify(borrowed, pdf=doc.pdf).status == "forged"
    # And A's document is A's.
    result = a.verify(doc.serial, digest=row.content_hash, signature=row.signature)
    assert (result.status, result.issuer) == ("genuine", "沖縄県試験村")


# --- preview -----------------------------------------------------------------------------------


def test_a_preview_is_a_sample_and_writes_nothing(env: Env) -> None:
    pdf = env.documents(lambda d, i: d.preview(_request(), i))
    text_ = _text(pdf)
    assert "見本" in text_
    assert NAME.replace(" ", "") in text_
    assert not re.search(r"\d{6}-\d{4}-\d{7}", text_)
    for model in (IssuedDocument, DocumentFile, SerialCounter, DocumentRevocation):
        assert env.count(model) == 0, model
    assert env.issued_entries() == []
    # Not signed either: a sample can never pass for a certificate.
    assert not signing.check_pdf_signature(pdf, None).signed
    # No serial was used up.
    (doc,) = env.issue()
    assert doc.serial == f"{env.lg_code}-2026-0000001"
    assert "見本" not in _text(doc.pdf)
