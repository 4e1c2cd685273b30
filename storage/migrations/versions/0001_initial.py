"""Initial schema: captures, reports, report_urls, report_versions, table_cells, checks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)

# captures <-> report_versions and reports <-> report_versions reference each other.
# PostgreSQL gets these two FKs by ALTER after all tables exist; SQLite cannot ALTER in
# constraints but accepts forward references, so there they are declared inline.
_CYCLE_FKS = [
    ("fk_captures_version_id_report_versions", "captures", "version_id"),
    ("fk_reports_current_version_id_report_versions", "reports", "current_version_id"),
]


def _cycle_fk(table: str, supports_alter: bool) -> list[sa.ForeignKeyConstraint]:
    if supports_alter:
        return []
    return [
        sa.ForeignKeyConstraint([column], ["report_versions.id"], name=name)
        for name, t, column in _CYCLE_FKS
        if t == table
    ]


def upgrade() -> None:
    alter = op.get_bind().dialect.supports_alter

    op.create_table(
        "captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("spider", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("fetched_at", UTC, nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("referer", sa.Text(), nullable=True),
        sa.Column("list_title", sa.Text(), nullable=True),
        sa.Column("list_date", sa.String(), nullable=True),
        sa.Column("url_date", sa.String(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("parse_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_captures"),
        *_cycle_fk("captures", alter),
    )
    op.create_index("ix_captures_url", "captures", ["url"])
    op.create_index("ix_captures_site", "captures", ["site"])
    op.create_index("ix_captures_version_id", "captures", ["version_id"])
    op.create_index("ix_captures_body_sha256", "captures", ["body_sha256"])

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("first_seen", UTC, nullable=False),
        sa.Column("current_version_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
        *_cycle_fk("reports", alter),
    )
    op.create_index("ix_reports_site", "reports", ["site"])

    op.create_table(
        "report_urls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("first_seen", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_urls"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name="fk_report_urls_report_id_reports"),
        sa.UniqueConstraint("url", name="uq_report_urls_url"),
    )
    op.create_index("ix_report_urls_report_id", "report_urls", ["report_id"])

    op.create_table(
        "report_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("issuer", sa.Text(), nullable=True),
        sa.Column("report_year", sa.Integer(), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("template", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("parsed", sa.JSON(), nullable=False),
        sa.Column("first_capture_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_versions"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name="fk_report_versions_report_id_reports"),
        sa.ForeignKeyConstraint(
            ["first_capture_id"], ["captures.id"], name="fk_report_versions_first_capture_id_captures"
        ),
        sa.UniqueConstraint("content_hash", name="uq_report_versions_content_hash"),
    )
    op.create_index("ix_report_versions_report_id", "report_versions", ["report_id"])
    op.create_index("ix_report_versions_issuer", "report_versions", ["issuer"])
    op.create_index("ix_report_versions_report_year", "report_versions", ["report_year"])

    if alter:
        for name, table, column in _CYCLE_FKS:
            op.create_foreign_key(name, table, "report_versions", [column], ["id"])

    op.create_table(
        "table_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(), nullable=False),
        sa.Column("row_key", sa.String(), nullable=False),
        sa.Column("column_key", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_table_cells"),
        sa.ForeignKeyConstraint(
            ["version_id"], ["report_versions.id"], name="fk_table_cells_version_id_report_versions"
        ),
    )
    op.create_index(
        "ix_table_cells_version_id_table_name_row_key", "table_cells", ["version_id", "table_name", "row_key"]
    )
    op.create_index(
        "ix_table_cells_table_name_row_key_column_key", "table_cells", ["table_name", "row_key", "column_key"]
    )

    op.create_table(
        "checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("found", sa.Float(), nullable=True),
        sa.Column("where_text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_checks"),
        sa.ForeignKeyConstraint(
            ["version_id"], ["report_versions.id"], name="fk_checks_version_id_report_versions"
        ),
    )
    op.create_index("ix_checks_version_id", "checks", ["version_id"])
    op.create_index("ix_checks_rule_passed", "checks", ["rule", "passed"])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.supports_alter:
        for name, table, _column in _CYCLE_FKS:
            op.drop_constraint(name, table, type_="foreignkey")
    else:
        # Tables reference each other in a cycle; let SQLite check FKs only at commit.
        op.execute("PRAGMA defer_foreign_keys = ON")
    for table in ("checks", "table_cells", "report_versions", "report_urls", "reports", "captures"):
        op.drop_table(table)
