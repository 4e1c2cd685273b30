"""Incremental crawls: crawl runs, fetch failures, and when each report URL was last seen or went away.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("report_urls") as batch:
        batch.add_column(sa.Column("last_seen", UTC, nullable=True))
        batch.add_column(sa.Column("gone_since", UTC, nullable=True))
        batch.add_column(sa.Column("gone_reason", sa.Text(), nullable=True))

    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spider", sa.Text(), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("finish_reason", sa.Text(), nullable=True),
        sa.Column("pages_fetched", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("not_modified", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("not_requested", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("new_reports", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("new_versions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("duplicates", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed_parses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("gone", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("errors", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_runs"),
    )
    op.create_index("ix_crawl_runs_spider", "crawl_runs", ["spider"])

    op.create_table(
        "fetch_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("failed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fetch_failures"),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], name="fk_fetch_failures_run_id_crawl_runs"),
    )
    op.create_index("ix_fetch_failures_run_id", "fetch_failures", ["run_id"])
    op.create_index("ix_fetch_failures_url", "fetch_failures", ["url"])


def downgrade() -> None:
    op.drop_index("ix_fetch_failures_url", table_name="fetch_failures")
    op.drop_index("ix_fetch_failures_run_id", table_name="fetch_failures")
    op.drop_table("fetch_failures")
    op.drop_index("ix_crawl_runs_spider", table_name="crawl_runs")
    op.drop_table("crawl_runs")
    with op.batch_alter_table("report_urls") as batch:
        batch.drop_column("gone_reason")
        batch.drop_column("gone_since")
        batch.drop_column("last_seen")
