"""Process-wide objects of one running app: settings, engine, session factory, bus, key ring."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.crypto import MasterKeyRing, load_key_ring
from core.db import make_engine, make_session_factory
from core.events import EventBus
from core.settings import Settings
from forms import manifest
from forms.engine import Renderer
from jichitai.bootstrap import build_bus


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    bus: EventBus
    ring: MasterKeyRing
    # The form catalog, checked against its manifest when the process starts (a changed
    # template stops the start-up); the renderer is built from these bytes on first use.
    form_sources: dict[str, str] = field(default_factory=manifest.verified_sources)
    _renderer: Renderer | None = None
    _renderer_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def renderer(self) -> Renderer:
        with self._renderer_lock:
            if self._renderer is None:
                self._renderer = Renderer(
                    concurrency=self.settings.render_concurrency, sources=self.form_sources
                )
            return self._renderer

    @classmethod
    def from_settings(cls, settings: Settings, *, create_key: bool = False) -> AppState:
        engine = make_engine(settings.effective_database_url)
        return cls(
            settings=settings,
            engine=engine,
            session_factory=make_session_factory(engine),
            bus=build_bus(),
            ring=load_key_ring(settings.master_key, settings.key_ring_path, create=create_key),
        )
