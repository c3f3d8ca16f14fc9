"""The public verification page (証明書の真正性確認): no login, never any personal data.

A QR code on a certificate opens ``/verify/{serial}?h=…&s=…`` in a phone's browser; the page also
accepts the code's text pasted in, or the PDF itself, and says whether the document is genuine,
its kind, issuer and date, and whether it was reissued or revoked.
"""

from __future__ import annotations

import io
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from forms import service
from forms.signing import VerificationCode
from jichitai.web.routes import TEMPLATES
from tenancy.deps import UoW, app_state

router = APIRouter(include_in_schema=False)

SERIAL_PATTERN = re.compile(r"\d{6}-\d{4}-\d{7}")
MAX_PDF_BYTES = 5 * 1024 * 1024


def _page(request: Request, result: dict[str, Any] | None, error: str | None = None) -> Response:
    return TEMPLATES.TemplateResponse(
        request,
        "verify.html",
        {"principal": None, "result": result, "error": error},
        status_code=200 if error is None else 422,
    )


@router.get("/verify")
def verify_form(request: Request) -> Response:
    """証明書の真正性確認の画面 (public)."""
    return _page(request, None)


@router.get("/verify/{serial}")
def verify_serial(
    serial: str,
    request: Request,
    uow: UoW,
    h: str | None = None,
    s: str | None = None,
) -> Response:
    """The URL in every document's QR code: a page for browsers, JSON for programs."""
    result = service.verify(
        uow.session,
        app_state(request).ring,
        serial[:32],
        digest=(h or None) and h[:64],
        signature=(s or None) and s[:100],
    ).as_dict()
    if "text/html" in request.headers.get("accept", ""):
        return _page(request, result)
    return JSONResponse(result)


def _serial_in_pdf(pdf: bytes) -> str | None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        text = "".join((page.extract_text() or "") for page in reader.pages[:1])
    except (PdfReadError, ValueError, KeyError, OSError):
        return None
    found = SERIAL_PATTERN.search(text)
    return found.group(0) if found else None


@router.post("/verify")
def verify_submit(
    request: Request,
    uow: UoW,
    code: Annotated[str, Form(max_length=500)] = "",
    pdf: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check the pasted QR content, or an uploaded PDF byte for byte and by its signature."""
    ring = app_state(request).ring
    if pdf is not None and pdf.filename:
        data = pdf.file.read(MAX_PDF_BYTES + 1)
        if len(data) > MAX_PDF_BYTES or not data.startswith(b"%PDF"):
            return _page(request, None, "PDFファイル（5MB以下）を指定してください。")
        serial = _serial_in_pdf(data)
        if serial is None:
            return _page(request, None, "このPDFから発行番号を読み取れませんでした。")
        return _page(request, service.verify(uow.session, ring, serial, pdf=data).as_dict())
    parsed = VerificationCode.parse(code)
    if parsed is None:
        if SERIAL_PATTERN.fullmatch(code.strip()):
            return _page(request, service.verify(uow.session, ring, code.strip()).as_dict())
        return _page(request, None, "検証用コードの内容または発行番号を入力してください。")
    result = service.verify(
        uow.session, ring, parsed.serial, digest=parsed.digest, signature=parsed.signature
    )
    return _page(request, result.as_dict())
