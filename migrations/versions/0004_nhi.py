"""nhi qualification

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 12:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
from core.migrate import append_only_trigger_sql, enable_rls_sql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("nhi_coverage_events", "nhi_qualification_versions")


def upgrade() -> None:
    op.create_table(
        "nhi_coverage_events",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("cover", sa.String(length=30), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("insurer_name", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["municipalities.id"],
            name=op.f("fk_nhi_coverage_events_tenant_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_nhi_coverage_events")),
        info={"append_only": True},
    )
    with op.batch_alter_table("nhi_coverage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nhi_coverage_events_tenant_id_person_id",
            ["tenant_id", "person_id", "cover", "seq"],
            unique=True,
        )

    op.create_table(
        "nhi_qualification_versions",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("qualification_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acquired_on", sa.Date(), nullable=False),
        sa.Column("acquisition_reason", sa.String(length=40), nullable=False),
        sa.Column("acquisition_cause_id", sa.Uuid(), nullable=True),
        sa.Column("lost_on", sa.Date(), nullable=True),
        sa.Column("loss_reason", sa.String(length=40), nullable=True),
        sa.Column("loss_cause_id", sa.Uuid(), nullable=True),
        sa.Column("void_reason", sa.String(length=40), nullable=True),
        sa.Column("void_cause_id", sa.Uuid(), nullable=True),
        sa.Column("cause_kind", sa.String(length=20), nullable=False),
        sa.Column("cause_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["municipalities.id"],
            name=op.f("fk_nhi_qualification_versions_tenant_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_nhi_qualification_versions")),
        info={"append_only": True},
    )
    with op.batch_alter_table("nhi_qualification_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nhi_qualification_versions_tenant_id_person_id",
            ["tenant_id", "person_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_nhi_qualification_versions_tenant_id_qualification_id",
            ["tenant_id", "qualification_id", "revision"],
            unique=True,
        )
        batch_op.create_index(
            "ix_nhi_qualification_versions_tenant_id_status",
            ["tenant_id", "status", "lost_on"],
            unique=False,
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in enable_rls_sql(table):
                op.execute(statement)
    else:
        for table in TABLES:
            for statement in append_only_trigger_sql(table):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("nhi_qualification_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_nhi_qualification_versions_tenant_id_status")
        batch_op.drop_index("ix_nhi_qualification_versions_tenant_id_qualification_id")
        batch_op.drop_index("ix_nhi_qualification_versions_tenant_id_person_id")
    op.drop_table("nhi_qualification_versions")
    with op.batch_alter_table("nhi_coverage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_nhi_coverage_events_tenant_id_person_id")
    op.drop_table("nhi_coverage_events")
