"""inbound: email (SendGrid Inbound Parse) and helpdesk webhooks, and their triage queue

- `inbound_messages`: one row per inbound message, unique by `message_key` (`email:<Message-ID>`
  or `helpdesk:<source>:<ticket>`), with what became of it (`opened`, `joined`, `triage`,
  `dismissed`), the case it opened or joined, and who decided a triaged one. Attachments are
  metadata only (name, type, size, SHA-256). A new table: nothing existing changes.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXED = ("status", "case_id", "received_at")


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("thread_key", sa.Text(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    for col in INDEXED:
        op.create_index(f"ix_inbound_messages_{col}", "inbound_messages", [col])


def downgrade() -> None:
    for col in INDEXED:
        op.drop_index(f"ix_inbound_messages_{col}", table_name="inbound_messages")
    op.drop_table("inbound_messages")
