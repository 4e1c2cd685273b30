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
    with op.batch_alter_table("report_versions") as batch:
        batch.add_column(sa.Column("ocr", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("ocr_engine", sa.String(), nullable=True))
        batch.add_column(sa.Column("ocr_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_versions") as batch:
        for column in ("ocr_confidence", "ocr_engine", "ocr"):
            batch.drop_column(column)
