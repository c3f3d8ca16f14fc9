"""ASGI entry point for ``jichitai serve`` (uvicorn imports ``jichitai.asgi:app``)."""

from jichitai.app import create_app

app = create_app()
