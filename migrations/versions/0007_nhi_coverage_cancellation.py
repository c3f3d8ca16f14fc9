"""nhi coverage: a recorded fact can be cancelled (取消) by a row naming it, with a reason;
a dependant's fact names the employee's fact it was recorded with

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns added in place: the table keeps its RLS policy, grants and append-only
    # triggers (a batch copy on SQLite would drop the triggers).
    op.add_column("nhi_coverage_events", sa.Column("cancels_id", sa.Uuid(), nullable=True))
    op.add_column("nhi_coverage_events", sa.Column("reason", sa.String(length=200), nullable=True))
    op.add_column("nhi_coverage_events", sa.Column("dependant_of_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_nhi_coverage_events_tenant_id_dependant_of_id",
        "nhi_coverage_events",
        ["tenant_id", "dependant_of_id"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_nhi_coverage_events_tenant_id_dependant_of_id", table_name="nhi_coverage_events"
    )
    op.drop_column("nhi_coverage_events", "dependant_of_id")
    op.drop_column("nhi_coverage_events", "reason")
    op.drop_column("nhi_coverage_events", "cancels_id")
