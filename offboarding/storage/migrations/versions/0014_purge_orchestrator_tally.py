"""export: the purge keeps what the orchestrator erase deleted, added up over every try

A retried erase finds what an earlier try deleted already gone; the deletion certificate must
still count it, so each try's deletions are stored on `purges.orchestrator_erased`.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("purges") as batch:
        batch.add_column(sa.Column("orchestrator_erased", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purges") as batch:
        batch.drop_column("orchestrator_erased")
