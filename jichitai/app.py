"""FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from core.settings import Settings, get_settings
from forms.router import router as documents_router
from jichitai import errors
from jichitai.middleware import RequestGuard
from jichitai.state import AppState
from jichitai.web import admin as web_admin
from jichitai.web import certificates as web_certificates
from jichitai.web import counter as web_counter
from jichitai.web import events as web_events
from jichitai.web import routes as web
from jichitai.web import tax as web_tax
from jichitai.web import verify as web_verify
from jichitai.web.common import PageRedirect
from nhi.assessment_router import router as nhi_assessment_router
from nhi.qualification_router import router as nhi_qualification_router
from nhi.router import router as nhi_router
from resident_records.certificate_router import router as certificate_router
from resident_records.router import router as resident_router
from tax.router import router as tax_router
from tenancy.router import router as tenancy_router

API_DESCRIPTION = """自治体クラウド基幹系 API。

認証: `Authorization: Bearer jct_<団体コード>_<秘密値>`（団体と役割に結び付いたトークン）。
エラーはすべて `{"code", "message", "details"}` の形で返ります（`message` は日本語）。
認証情報なし → 401、役割が不足 → 403、他団体の記録 → 404 の順に判定します。
"""


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = state or AppState.from_settings(settings)
    app = FastAPI(
        title="jichitai-cloud",
        version="0.1.0",
        description=API_DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.jichitai = state
    for exc_type, handler in errors.HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.mount(
        "/static", StaticFiles(directory=str(Path(web.__file__).parent / "static")), name="static"
    )
    app.include_router(tenancy_router)
    app.include_router(resident_router)
    app.include_router(certificate_router)
    app.include_router(documents_router)
    app.include_router(tax_router)
    app.include_router(nhi_qualification_router)
    app.include_router(nhi_router)
    app.include_router(nhi_assessment_router)
    app.include_router(web.router)
    app.include_router(web_verify.router)
    app.include_router(web_counter.router)
    app.include_router(web_events.router)
    app.include_router(web_admin.router)
    app.include_router(web_certificates.router)
    app.include_router(web_tax.router)

    @app.exception_handler(PageRedirect)
    async def page_redirect(request: Request, exc: PageRedirect) -> Response:
        return exc.response

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability (no tenant data)."""
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": state.engine.dialect.name}

    @app.middleware("http")
    async def html_errors(request: Request, call_next):  # type: ignore[no-untyped-def]
        """Browsers get an error page instead of JSON for 404s outside the API."""
        response: Response = await call_next(request)
        wants_html = "text/html" in request.headers.get("accept", "")
        if response.status_code == 404 and wants_html and not request.url.path.startswith("/api/"):
            return web.error_page(request, 404)
        return response

    return app
