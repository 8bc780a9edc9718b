"""integrations: outbound webhooks (issue 14)

- `webhook_events`: the transactional outbox, one row per lifecycle event (case opened,
  verified, approved, each status change, purged, pattern found), written in the same
  transaction as the change; `event_id` is stable and sent with every delivery.
- `webhook_deliveries`: one row per (event, endpoint) with its status, attempts, last status
  code, next try and a log of every try.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_webhook_events_type", "webhook_events", ["type"])
    op.create_index("ix_webhook_events_case_id", "webhook_events", ["case_id"])
    op.create_index("ix_webhook_events_fanned_out_at", "webhook_events", ["fanned_out_at"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["webhook_events.event_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "endpoint", name="uq_webhook_deliveries_event_endpoint"),
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint"])
    op.create_index("ix_webhook_deliveries_status", "webhook_deliveries", ["status"])
    op.create_index("ix_webhook_deliveries_next_try_at", "webhook_deliveries", ["next_try_at"])


def downgrade() -> None:
    for name in ("next_try_at", "status", "endpoint", "event_id"):
        op.drop_index(f"ix_webhook_deliveries_{name}", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    for name in ("fanned_out_at", "case_id", "type"):
        op.drop_index(f"ix_webhook_events_{name}", table_name="webhook_events")
    op.drop_table("webhook_events")
