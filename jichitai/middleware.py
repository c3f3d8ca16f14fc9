"""ASGI middleware: request ids, a body-size limit, and security headers."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
    # Pages and answers carry personal data: never keep them in a shared PC's cache.
    (b"cache-control", b"no-store"),
]


class _TooLarge(Exception):
    pass


def _json_error(status: int, code: str, message: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps(
        {"code": code, "message": message, "details": None}, ensure_ascii=False
    ).encode()
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ],
    }, body


class RequestGuard:
    """Gives each request an id, refuses oversized bodies (413) and adds security headers."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                hdrs = list(message.get("headers", []))
                present = {k.lower() for k, _ in hdrs}
                hdrs += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                hdrs.append((b"x-request-id", request_id.encode()))
                message["headers"] = hdrs
            await send(message)

        length = headers.get(b"content-length")
        too_large = "送信されたデータが大きすぎます。"
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            start, body = _json_error(413, "payload_too_large", too_large)
            await send_with_headers(start)
            await send({"type": "http.response.body", "body": body})
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            start, body = _json_error(413, "payload_too_large", too_large)
            await send_with_headers(start)
            await send({"type": "http.response.body", "body": body})
