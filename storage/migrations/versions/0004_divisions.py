"""Divisions and re-parsing: each version's issuer placed in its administrative division (adcode, province,
prefecture, county) with its level, and the parse runs of `xxgk reparse`.

Existing versions keep nulls until `xxgk reparse` re-derives them.

Revision ID: 0004_divisions
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_divisions"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("report_versions") as batch:
        batch.add_column(sa.Column("adcode", sa.String(length=6), nullable=True))
        batch.add_column(sa.Column("province", sa.Text(), nullable=True))
        batch.add_column(sa.Column("prefecture", sa.Text(), nullable=True))
        batch.add_column(sa.Column("county", sa.Text(), nullable=True))
        batch.add_column(sa.Column("issuer_level", sa.String(), nullable=True))
        batch.add_column(sa.Column("parse_run_id", sa.Integer(), nullable=True))
    op.create_index("ix_report_versions_adcode", "report_versions", ["adcode"])

    op.create_table(
        "parse_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parser_version", sa.Text(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("versions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("changed_reports", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("changed_hashes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("changed_cells", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("new_reports", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_parse_runs"),
    )


def downgrade() -> None:
    op.drop_table("parse_runs")
    op.drop_index("ix_report_versions_adcode", table_name="report_versions")
    with op.batch_alter_table("report_versions") as batch:
        for column in ("parse_run_id", "issuer_level", "county", "prefecture", "province", "adcode"):
            batch.drop_column(column)
