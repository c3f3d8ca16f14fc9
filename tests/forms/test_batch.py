"""Batch rendering: many documents into one PDF or a streamed zip, over worker processes."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from pypdf import PdfReader

from forms import manifest
from forms.batch import BatchRenderer
from forms.catalog import FormKind
from forms.engine import qr_data_uri

DOCUMENTS = 7


def _context(n: int) -> dict[str, Any]:
    serial = f"162116-2026-{n:07d}"
    return {
        "issuer": {
            "name": "射水市",
            "prefecture": "富山県",
            "title": "射水市長",
            "mayor_name": "見本　射水",
            "seal": None,
        },
        "document": {
            "serial": serial,
            "issued_on": "2026-11-27",
            "issued_on_text": "令和8年11月27日",
            "reissue": False,
            "sample": False,
            "acting_issuer": None,
            "qr": qr_data_uri(f"https://example.jp/verify/{serial}"),
        },
        "record": {
            "applicant": f"申請　{n}郎",
            "address": "大門 1番地",
            "disaster_name": "令和8年11月豪雨",
            "occurred_on": "令和8年11月20日",
            "property_address": "大門 1番地",
            "damage_level": "半壊",
            "remarks": "",
        },
    }


@pytest.fixture(scope="module")
def batch():
    with BatchRenderer(manifest.verified_sources(), workers=2) as renderer:
        yield renderer


def _texts(pdf: bytes) -> list[str]:
    return [p.extract_text().replace(" ", "") for p in PdfReader(io.BytesIO(pdf)).pages]


def test_one_pdf_holds_every_document_in_order(batch) -> None:
    contexts = [_context(n) for n in range(DOCUMENTS)]
    pdf = batch.one_pdf(FormKind.DISASTER_DAMAGE, contexts, chunk=3)
    pages = _texts(pdf)
    assert len(pages) == DOCUMENTS
    for n, text in enumerate(pages):
        # Each document keeps its own serial and its own page count (1 / 1), not the batch's.
        assert f"162116-2026-{n:07d}" in text
        assert f"申請　{n}郎" in text
        assert "1/1" in text.replace("\n", "")


def test_zip_is_streamed_one_pdf_per_document(batch) -> None:
    contexts = [_context(n) for n in range(DOCUMENTS)]
    names = [f"{n:03d}.pdf" for n in range(DOCUMENTS)]
    pieces = list(batch.zip_stream(FormKind.DISASTER_DAMAGE, contexts, names, chunk=2))
    # Bytes arrive as documents are done, not all at the end.
    assert sum(1 for p in pieces if p) > DOCUMENTS // 2
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert archive.namelist() == names
    for n, name in enumerate(names):
        (text,) = _texts(archive.read(name))
        assert f"162116-2026-{n:07d}" in text


def test_an_empty_batch_is_an_empty_pdf_list(batch) -> None:
    assert list(batch.pdf_chunks(FormKind.DISASTER_DAMAGE, [])) == []
