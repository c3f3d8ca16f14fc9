"""Process-wide settings, read from the environment (prefix ``JICHITAI_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings. Per-tenant settings live in ``tenancy.parameters``, never here."""

    model_config = SettingsConfigDict(env_prefix="JICHITAI_", extra="ignore")

    var_dir: Path = Path("var")
    # The application's connection. On PostgreSQL this role must not own the tables and must not
    # have BYPASSRLS, so row-level security applies to every query it runs.
    database_url: str = ""
    # The owner's connection, used only by migrations. Defaults to ``database_url``.
    migration_database_url: str = ""
    # The role the application connects as on PostgreSQL; migrations grant it DML rights.
    db_app_role: str = "jichitai_app"

    master_key: str = ""  # base64 of 32 bytes; when empty the key ring file is used
    master_key_file: Path | None = None

    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    cookie_secure: bool = False  # set true behind TLS; the demo serves plain http on loopback
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Where the verification page is reached from outside: printed in every document's QR code.
    public_base_url: str = "http://127.0.0.1:8000"
    # Documents rendered at once by one process (each takes one core while it renders).
    render_concurrency: int = Field(default=2, ge=1, le=16)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'jichitai.db'}"

    @property
    def effective_migration_url(self) -> str:
        return self.migration_database_url or self.effective_database_url

    @property
    def key_ring_path(self) -> Path:
        return self.master_key_file or self.var_dir / "master-keys.json"

    @property
    def anchor_key_path(self) -> Path:
        return self.var_dir / "audit-anchor-key.pem"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
