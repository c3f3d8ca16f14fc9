"""nhi assessment: annual runs, household assessments with history, their members

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 13:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
from core.migrate import append_only_trigger_sql, enable_rls_sql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("nhi_assessment_runs", "nhi_assessments", "nhi_assessment_members")
APPEND_ONLY = ("nhi_assessments", "nhi_assessment_members")


def _tenant(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["municipalities.id"],
            name=op.f(f"fk_{table}_tenant_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "nhi_assessment_runs",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Uuid(), nullable=True),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("revised", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        *_tenant("nhi_assessment_runs"),
    )
    with op.batch_alter_table("nhi_assessment_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nhi_assessment_runs_tenant_id_fiscal_year",
            ["tenant_id", "fiscal_year"],
            unique=False,
        )

    op.create_table(
        "nhi_assessments",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("assessed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("head_person_id", sa.Uuid(), nullable=False),
        sa.Column("nominal_head", sa.Boolean(), nullable=False),
        sa.Column("insured", sa.Integer(), nullable=False),
        sa.Column("reduction_rate", sa.String(length=8), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("instalments", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        *_tenant("nhi_assessments"),
        info={"append_only": True},
    )
    with op.batch_alter_table("nhi_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nhi_assessments_tenant_id_fiscal_year_household_id_revision",
            ["tenant_id", "fiscal_year", "household_id", "revision"],
            unique=True,
        )

    op.create_table(
        "nhi_assessment_members",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("head", sa.Boolean(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        *_tenant("nhi_assessment_members"),
        info={"append_only": True},
    )
    with op.batch_alter_table("nhi_assessment_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_nhi_assessment_members_tenant_id_assessment_id",
            ["tenant_id", "assessment_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_nhi_assessment_members_tenant_id_fiscal_year_person_id",
            ["tenant_id", "fiscal_year", "person_id"],
            unique=False,
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in enable_rls_sql(table):
                op.execute(statement)
    else:
        for table in APPEND_ONLY:
            for statement in append_only_trigger_sql(table):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("nhi_assessment_members", schema=None) as batch_op:
        batch_op.drop_index("ix_nhi_assessment_members_tenant_id_fiscal_year_person_id")
        batch_op.drop_index("ix_nhi_assessment_members_tenant_id_assessment_id")
    op.drop_table("nhi_assessment_members")
    with op.batch_alter_table("nhi_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_nhi_assessments_tenant_id_fiscal_year_household_id_revision")
    op.drop_table("nhi_assessments")
    with op.batch_alter_table("nhi_assessment_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_nhi_assessment_runs_tenant_id_fiscal_year")
    op.drop_table("nhi_assessment_runs")
