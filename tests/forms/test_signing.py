"""Signatures: the verification code (Ed25519) and the PAdES signature of the PDF."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable

import pytest
import weasyprint
from pypdf import PdfReader, PdfWriter

from forms import signing
from forms.signing import VerificationCode
from tests.helpers import altered

SERIAL = "162116-2026-0000001"
TITLE = "射水市長"


@pytest.fixture(scope="module")
def seed() -> bytes:
    return os.urandom(32)


@pytest.fixture(scope="module")
def digest() -> str:
    return signing.content_hash({"form": "resident_record_copy", "record": {"name": "射水 太郎"}})


# --- content hash ------------------------------------------------------------------------------


def test_the_content_hash_is_canonical() -> None:
    a = signing.content_hash({"b": 1, "a": ["射水", 2]})
    b = signing.content_hash({"a": ["射水", 2], "b": 1})
    assert a == b
    assert re.fullmatch(r"[0-9a-f]{64}", a)
    assert signing.content_hash({"a": ["射水", 3], "b": 1}) != a


# --- the verification code ---------------------------------------------------------------------


def test_a_code_signature_round_trips(seed: bytes, digest: str) -> None:
    signature = signing.sign_code(seed, SERIAL, digest)
    assert signing.code_signature_valid(seed, SERIAL, digest, signature)
    # URL-safe, unpadded: it goes into a query string as is.
    assert re.fullmatch(r"[A-Za-z0-9_-]{86}", signature)


def test_a_changed_digest_fails(seed: bytes, digest: str) -> None:
    signature = signing.sign_code(seed, SERIAL, digest)
    changed = altered(digest)
    assert not signing.code_signature_valid(seed, SERIAL, changed, signature)


def test_a_changed_serial_fails(seed: bytes, digest: str) -> None:
    signature = signing.sign_code(seed, SERIAL, digest)
    assert not signing.code_signature_valid(seed, "162116-2026-0000002", digest, signature)
    assert not signing.code_signature_valid(seed, "162060-2026-0000001", digest, signature)


def test_another_key_fails(seed: bytes, digest: str) -> None:
    signature = signing.sign_code(seed, SERIAL, digest)
    assert not signing.code_signature_valid(os.urandom(32), SERIAL, digest, signature)
    forged = signing.sign_code(os.urandom(32), SERIAL, digest)
    assert not signing.code_signature_valid(seed, SERIAL, digest, forged)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: s[:-4], id="truncated"),
        pytest.param(lambda s: s[:43], id="half"),
        pytest.param(lambda s: s + "AAAA", id="lengthened"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: "not-a-signature", id="garbage"),
        pytest.param(lambda s: "A" * 86, id="zeros"),
        pytest.param(lambda s: s[:85] + "?", id="bad-base64-char"),
        pytest.param(lambda s: "%%%%", id="percent"),
        pytest.param(lambda s: "A", id="bad-padding"),
        pytest.param(altered, id="one-char-changed"),
    ],
)
def test_a_mangled_signature_fails_without_raising(
    seed: bytes, digest: str, mangle: Callable[[str], str]
) -> None:
    signature = signing.sign_code(seed, SERIAL, digest)
    assert signing.code_signature_valid(seed, SERIAL, digest, mangle(signature)) is False


def test_the_code_url_round_trips(seed: bytes, digest: str) -> None:
    code = VerificationCode(SERIAL, digest, signing.sign_code(seed, SERIAL, digest))
    url = code.url("https://jichitai.example/")
    assert url.startswith(f"https://jichitai.example/verify/{SERIAL}?h={digest}&s=")
    assert VerificationCode.parse(url) == code
    assert VerificationCode.parse(f"  {url}\n") == code  # as pasted from a scanner
    assert VerificationCode.parse(code.url("https://a.example/base")) == code
    upper = url.replace(digest, digest.upper())
    assert VerificationCode.parse(upper) == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        SERIAL,
        "https://jichitai.example/verify/",
        f"https://jichitai.example/verify/{SERIAL}",
        f"https://jichitai.example/verify/{SERIAL}?h=abc&s=def",
        f"https://jichitai.example/verify/{SERIAL}?h={'a' * 64}",
        f"https://jichitai.example/verify/{SERIAL}?s=abc",
        f"https://jichitai.example/verify/{SERIAL}?h={'a' * 64}&s={'A' * 101}",
        f"https://jichitai.example/check/{SERIAL}?h={'a' * 64}&s=abc",
        f"https://jichitai.example/verify/{SERIAL}/extra?h={'a' * 64}&s=abc",
        "http://[::1/verify/x?h=y&s=z",
        "\x00\x01\x02",
    ],
)
def test_junk_is_not_a_code(text: str) -> None:
    assert VerificationCode.parse(text) is None


# --- PAdES -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    pdf: bytes = weasyprint.HTML(
        string='<html lang="ja"><body><p>住民票の写し 162116-2026-0000001</p></body></html>'
    ).write_pdf()
    return pdf


@pytest.fixture(scope="module")
def pair(seed: bytes) -> tuple[object, object]:
    return signing.pdf_certificate("162116", TITLE, 1, seed)


@pytest.fixture(scope="module")
def signed_pdf(unsigned_pdf: bytes, pair: tuple[object, object]) -> bytes:
    certificate, key = pair
    return signing.sign_pdf(
        unsigned_pdf,
        certificate,
        key,
        reason=f"住民票の写しの発行（発行番号 {SERIAL}）",
        location="富山県射水市",
    )


def test_a_freshly_signed_pdf_is_intact_and_covered_whole(
    signed_pdf: bytes, unsigned_pdf: bytes, pair: tuple[object, object]
) -> None:
    check = signing.check_pdf_signature(signed_pdf, pair[0])
    assert check == signing.PdfSignatureCheck(
        signed=True, intact=True, whole_file=True, signer=TITLE
    )
    # An incremental update: the original bytes are kept, the signature appended.
    assert signed_pdf.startswith(unsigned_pdf)
    assert "162116-2026-0000001" in PdfReader(io.BytesIO(signed_pdf)).pages[0].extract_text()


def test_the_certificate_names_the_municipality(pair: tuple[object, object]) -> None:
    certificate = pair[0]
    subject = certificate.subject.native  # type: ignore[attr-defined]
    assert subject["common_name"] == TITLE
    assert subject["organization_name"] == TITLE
    assert subject["serial_number"] == "162116"
    assert subject["country_name"] == "JP"


def test_the_certificate_follows_the_key(seed: bytes, pair: tuple[object, object]) -> None:
    again = signing.pdf_certificate("162116", TITLE, 1, bytes(seed))
    assert again[0].dump() == pair[0].dump()  # type: ignore[attr-defined]
    other = signing.pdf_certificate("162116", TITLE, 1, os.urandom(32))
    assert other[0].public_key.dump() != pair[0].public_key.dump()  # type: ignore[attr-defined]


def _flip_in_page_content(pdf: bytes) -> bytes:
    contents = PdfReader(io.BytesIO(pdf)).pages[0].get("/Contents")
    assert contents is not None
    number = contents.indirect_reference.idnum
    found = re.search(rb"(?<![0-9])%d 0 obj" % number, pdf)
    assert found is not None
    start = pdf.index(b"stream", found.end()) + len(b"stream\n")
    at = start + 8
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def test_a_changed_page_content_breaks_the_signature(
    signed_pdf: bytes, pair: tuple[object, object]
) -> None:
    tampered = _flip_in_page_content(signed_pdf)
    assert len(tampered) == len(signed_pdf)
    check = signing.check_pdf_signature(tampered, pair[0])
    assert check.signed
    assert not check.intact


def test_an_incremental_update_after_signing_is_seen(
    signed_pdf: bytes, pair: tuple[object, object]
) -> None:
    writer = PdfWriter(io.BytesIO(signed_pdf), incremental=True)
    writer.add_metadata({"/Title": "改ざん後の証明書"})
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(signed_pdf)  # the signed revision is kept, a new one appended
    assert len(updated) > len(signed_pdf)
    check = signing.check_pdf_signature(updated, pair[0])
    assert check.signed
    assert not (check.intact and check.whole_file)
    assert not check.whole_file


def test_bytes_appended_after_signing_are_seen(
    signed_pdf: bytes, pair: tuple[object, object]
) -> None:
    check = signing.check_pdf_signature(signed_pdf + b"\n% appended after signing\n", pair[0])
    assert check.signed
    assert not check.whole_file


def test_an_unsigned_pdf_is_reported_as_unsigned(
    unsigned_pdf: bytes, pair: tuple[object, object]
) -> None:
    assert signing.check_pdf_signature(unsigned_pdf, pair[0]) == signing.PdfSignatureCheck(
        False, False, False, None
    )


@pytest.mark.parametrize("junk", [b"", b"not a pdf", b"%PDF-1.7\n%%EOF", os.urandom(2048)])
def test_junk_is_not_a_signed_pdf(junk: bytes, pair: tuple[object, object]) -> None:
    assert not signing.check_pdf_signature(junk, pair[0]).signed


def test_another_municipalitys_certificate_does_not_vouch_for_it(signed_pdf: bytes) -> None:
    other, _ = signing.pdf_certificate("162060", "滑川市長", 1, os.urandom(32))
    check = signing.check_pdf_signature(signed_pdf, other)
    assert check.signed
    assert not check.intact
    assert check.signer == TITLE
