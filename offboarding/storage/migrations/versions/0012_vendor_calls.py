"""integrations: the vendor call ledger (issue 14)

- `vendor_calls`: one row per call that changes something at a vendor (Stripe, the CRM, the
  SCIM directory, Slack, a webhook endpoint), unique per (vendor, case, step), written before
  the call; its status says whether the call is done, in flight, waiting or needs a person.
- `vendor_call_attempts`: every try, with the vendor's status and message.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendor_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=120), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vendor", "case_id", "step", name="uq_vendor_calls_step"),
    )
    op.create_index("ix_vendor_calls_case_id", "vendor_calls", ["case_id"])
    op.create_index("ix_vendor_calls_status", "vendor_calls", ["status"])
    op.create_table(
        "vendor_call_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["vendor_calls.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_vendor_call_attempts_call_id", "vendor_call_attempts", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_vendor_call_attempts_call_id", table_name="vendor_call_attempts")
    op.drop_table("vendor_call_attempts")
    op.drop_index("ix_vendor_calls_status", table_name="vendor_calls")
    op.drop_index("ix_vendor_calls_case_id", table_name="vendor_calls")
    op.drop_table("vendor_calls")
