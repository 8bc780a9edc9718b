"""audit log hash chain: each row carries the previous row's hash (per case) and its own

Rows written before this revision keep no hash; the chain of a case starts at its first row
written after it. Plain ADD COLUMN, so SQLite keeps the append-only triggers of 0002.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
