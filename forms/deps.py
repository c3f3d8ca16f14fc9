"""Request-side access to the process's renderer and a tenant's document service."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from core import audit
from core.crypto import TenantKeys
from forms.engine import Renderer
from forms.service import DocumentService


def renderer(request: Request) -> Renderer:
    state: Any = request.app.state.jichitai
    rendering: Renderer = state.renderer
    return rendering


def document_service(request: Request, session: Session, actor: audit.Actor) -> DocumentService:
    state: Any = request.app.state.jichitai
    return DocumentService(
        session,
        TenantKeys(session, state.ring),
        renderer(request),
        actor,
        base_url=state.settings.public_base_url,
    )
