"""communications: schema for issue 4 (outbox, SendGrid, acknowledgement SLA)

The outbox row is now written before the transport is called (status `sending`) and
completed after (`sent`, `failed`, `unknown`), so `sent_at` is empty until a message has
gone. Existing rows were all sent, hence the server default. Every try at the transport is
kept in `message_attempts`.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="sent")
        )
        batch.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("provider", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("provider_message_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("claim_token", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_messages_status", "messages", ["status"])
    op.create_table(
        "message_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_attempts_message_id", "message_attempts", ["message_id"])
    op.create_index("ix_message_attempts_case_id", "message_attempts", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_message_attempts_case_id", table_name="message_attempts")
    op.drop_index("ix_message_attempts_message_id", table_name="message_attempts")
    op.drop_table("message_attempts")
    op.drop_index("ix_messages_status", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        for column in (
            "not_before",
            "claimed_at",
            "claim_token",
            "last_error",
            "attempts",
            "provider_message_id",
            "provider",
            "idempotency_key",
            "status",
        ):
            batch.drop_column(column)
        batch.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=False)
