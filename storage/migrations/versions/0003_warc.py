"""WARC: which WARC file, offset and length hold each capture's body (crawler/warc.py).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite adds nullable columns in place; PostgreSQL gets plain ALTER TABLE.
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("warc_file", sa.Text(), nullable=True))
        batch.add_column(sa.Column("warc_offset", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("warc_length", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("warc_length")
        batch.drop_column("warc_offset")
        batch.drop_column("warc_file")
