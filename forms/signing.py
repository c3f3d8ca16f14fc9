"""Signatures on issued documents.

* The verification code (QR) carries the serial, the SHA-256 of the printed content and an
  Ed25519 signature over both, made with the issuing municipality's own key: a forged or edited
  code fails, and anyone can check a code at ``/verify`` without seeing personal data.
* The PDF itself carries a PAdES signature (ECDSA P-256, pyHanko) so that standard PDF readers
  show who signed it and that it has not been changed. The certificate is self-signed per
  municipality and key; a production deployment would hold one from the local government PKI
  (LGPKI) instead, which changes only :func:`pdf_certificate`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.x509.oid import NameOID

T = TypeVar("T")
CODE_VERSION = "v1"
_SIGNATURE_BYTES = 64


def content_hash(content: Any) -> str:
    """SHA-256 of the printed content in canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _message(serial: str, digest: str) -> bytes:
    return f"jichitai-document:{CODE_VERSION}\n{serial}\n{digest}".encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_code(seed: bytes, serial: str, digest: str) -> str:
    return _b64url(Ed25519PrivateKey.from_private_bytes(seed).sign(_message(serial, digest)))


def code_signature_valid(seed: bytes, serial: str, digest: str, signature: str) -> bool:
    public: Ed25519PublicKey = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    try:
        raw = _unb64url(signature)
        if len(raw) != _SIGNATURE_BYTES:
            return False
        public.verify(raw, _message(serial, digest))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


@dataclass(frozen=True)
class VerificationCode:
    serial: str
    digest: str
    signature: str

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/verify/{self.serial}?h={self.digest}&s={self.signature}"

    @classmethod
    def parse(cls, text: str) -> VerificationCode | None:
        """The code as read from a QR (the URL printed in it); None if it is not one of ours."""
        try:
            parts = urlsplit(text.strip())
        except ValueError:
            return None
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) < 2 or segments[-2] != "verify":
            return None
        query = parse_qs(parts.query)
        digest = (query.get("h") or [""])[0]
        signature = (query.get("s") or [""])[0]
        if not digest or not signature or len(digest) != 64 or len(signature) > 100:
            return None
        return cls(segments[-1], digest.lower(), signature)


# --- PAdES -----------------------------------------------------------------------------------

_cert_lock = threading.Lock()
_certs: dict[tuple[str, int, bytes], tuple[Any, Any]] = {}
_NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_NOT_AFTER = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _ec_key(seed: bytes) -> ec.EllipticCurvePrivateKey:
    # A P-256 scalar from the 32-byte seed (reduced below the group order, never zero).
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    scalar = int.from_bytes(hashlib.sha256(b"jichitai-pades" + seed).digest()) % (order - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def pdf_certificate(lg_code: str, title: str, key_id: int, seed: bytes) -> tuple[Any, Any]:
    """(certificate, private key) in pyHanko's types for a municipality's PAdES key."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509

    cache_key = (lg_code, key_id, hashlib.sha256(seed).digest())
    with _cert_lock:
        hit = _certs.get(cache_key)
    if hit is not None:
        return hit
    key = _ec_key(seed)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, title),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, lg_code),
            x509.NameAttribute(NameOID.COMMON_NAME, title),
        ]
    )
    serial = int.from_bytes(hashlib.sha256(f"{lg_code}:{key_id}".encode()).digest()[:16]) >> 1
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pair = (
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
    )
    with _cert_lock:
        _certs[cache_key] = pair
    return pair


def _off_the_loop(work: Callable[[], T]) -> T:
    """pyHanko runs its own event loop (asyncio.run): from a thread that already runs one
    (an async caller), do the work in a short-lived worker thread instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def sign_pdf(
    pdf: bytes, certificate: Any, private_key: Any, *, reason: str, location: str
) -> bytes:
    """Add a PAdES baseline signature covering the whole file."""
    return _off_the_loop(
        lambda: _sign_pdf(pdf, certificate, private_key, reason=reason, location=location)
    )


def _sign_pdf(
    pdf: bytes, certificate: Any, private_key: Any, *, reason: str, location: str
) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=private_key,
        cert_registry=SimpleCertificateStore.from_certs([certificate]),  # type: ignore[no-untyped-call]
    )
    meta = signers.PdfSignatureMetadata(
        field_name="MunicipalSeal",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    # A fixed reservation spares pyHanko a trial signature to measure the size.
    out = signers.sign_pdf(writer, meta, signer=signer, bytes_reserved=8192)
    return bytes(out.getvalue())


@dataclass(frozen=True)
class PdfSignatureCheck:
    signed: bool
    intact: bool
    whole_file: bool
    signer: str | None


def check_pdf_signature(pdf: bytes, certificate: Any) -> PdfSignatureCheck:
    """Is the PDF signed with ``certificate`` and unchanged since (the signature covers it all)?"""
    return _off_the_loop(lambda: _check_pdf_signature(pdf, certificate))


def _check_pdf_signature(pdf: bytes, certificate: Any) -> PdfSignatureCheck:
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, OSError):
        return PdfSignatureCheck(False, False, False, None)
    if not signatures:
        return PdfSignatureCheck(False, False, False, None)
    status = validate_pdf_signature(
        signatures[0], ValidationContext(trust_roots=[certificate], allow_fetching=False)
    )
    signer = status.signing_cert.subject.native.get("common_name") if status.signing_cert else None
    return PdfSignatureCheck(
        signed=True,
        intact=bool(status.intact and status.valid and status.trusted),
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=signer,
    )
