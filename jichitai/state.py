"""Process-wide objects of one running app: settings, engine, session factory, bus, key ring."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.crypto import MasterKeyRing, load_key_ring
from core.db import make_engine, make_session_factory
from core.events import EventBus
from core.settings import Settings
from jichitai.bootstrap import build_bus


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    bus: EventBus
    ring: MasterKeyRing

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
