"""resident record versions: 続柄 (relationship) copied out of the version's data into a column

The batches read the register on a day for a whole municipality (who was in which household,
and who headed it); reading the 続柄 out of every version's JSON document cost PostgreSQL more
than the rest of that read. Existing versions are filled from their data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 22:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.migrate import append_only_trigger_sql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "resident_record_versions"


def upgrade() -> None:
    # A nullable column added in place keeps the table's policy, grants and triggers.
    op.add_column(TABLE, sa.Column("relationship", sa.String(length=40), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # The history is append-only for the application; the owner fills the new column once.
        # Row-level security is forced on the owner too: lifted for this statement only.
        op.execute(f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"UPDATE {TABLE} SET relationship = data ->> 'relationship'")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    else:
        # SQLite's append-only trigger refuses every UPDATE: set aside for the fill only.
        op.execute(f"DROP TRIGGER {TABLE}_no_update")
        op.execute(f"UPDATE {TABLE} SET relationship = json_extract(data, '$.relationship')")
        op.execute(append_only_trigger_sql(TABLE)[0])


def downgrade() -> None:
    op.drop_column(TABLE, "relationship")
