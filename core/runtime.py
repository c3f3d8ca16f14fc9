"""What a running process provides to request handlers (built by ``jichitai.state``)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from core.crypto import MasterKeyRing
from core.events import EventBus
from core.settings import Settings


class Runtime(Protocol):
    settings: Settings
    session_factory: sessionmaker[Session]
    bus: EventBus
    ring: MasterKeyRing
