"""OCR: whether a version was read by OCR (a scanned PDF), with the engine and its confidence.

Versions stored before are not OCR'd (no OCR existed): `ocr` false.

Revision ID: 0005_ocr
Revises: 0004_divisions
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_ocr"
down_revision = "0004_divisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never batch: a NOT NULL column makes batch mode rebuild the table on SQLite, and
    # dropping the old report_versions fails its foreign keys (captures -> report_versions) once it has rows.
    # SQLite adds a NOT NULL column in place when it has a constant default.
    op.add_column("report_versions", sa.Column("ocr", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("report_versions", sa.Column("ocr_engine", sa.String(), nullable=True))
    op.add_column("report_versions", sa.Column("ocr_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_versions") as batch:
        for column in ("ocr_confidence", "ocr_engine", "ocr"):
            batch.drop_column(column)
