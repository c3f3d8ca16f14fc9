"""resident_current: the name searches' indexes carry status and residence dates (PostgreSQL)

A prefix search counts its matches up to a cap while testing "a resident on the day" (status,
resident_from, resident_until). With those columns in the index (INCLUDE) the count is an
index-only scan; without, it read one heap page per match (≈ 1,000 for a two-kana prefix in a
city). SQLite has no INCLUDE: its indexes stay as they were.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 23:25:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "resident_current"
KEYS = ("kana_key", "given_kana_key", "name_key")
INCLUDES = ["status", "resident_from", "resident_until"]


def _recreate(include: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for key in KEYS:
        name = f"ix_{TABLE}_tenant_id_{key}"
        op.drop_index(name, table_name=TABLE)
        op.create_index(name, TABLE, ["tenant_id", key], postgresql_include=include)


def upgrade() -> None:
    _recreate(INCLUDES)


def downgrade() -> None:
    _recreate([])
