"""winback: schema for issue 5 (win-back signals and outreach)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "winback_signals",
        sa.Column("signal_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("competitor", sa.String(length=200), nullable=True),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signal_id"),
    )
    for col in ("type", "account_id", "domain", "observed_at"):
        op.create_index(f"ix_winback_signals_{col}", "winback_signals", [col], unique=False)
    op.create_table(
        "winback_preferences",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("clean_break", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "winback_nights",
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("signals", sa.Integer(), nullable=False),
        sa.Column("selected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("night"),
    )
    op.create_table(
        "winback_outreach",
        sa.Column("outreach_id", sa.String(length=96), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("strategic", sa.Boolean(), nullable=False),
        sa.Column("signal_id", sa.String(length=64), nullable=True),
        sa.Column("signal_type", sa.String(length=32), nullable=False),
        sa.Column("signal_observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("message_seq", sa.Integer(), nullable=False),
        sa.Column("message_location", sa.String(length=1000), nullable=True),
        sa.Column("reviewed_by", sa.String(length=320), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"]),
        sa.PrimaryKeyConstraint("outreach_id"),
        sa.UniqueConstraint("account_id", "night"),
    )
    for col in ("night", "account_id", "case_id", "owner", "status"):
        op.create_index(f"ix_winback_outreach_{col}", "winback_outreach", [col], unique=False)
    op.create_table(
        "winback_leads",
        sa.Column("lead_id", sa.String(length=96), nullable=False),
        sa.Column("signal_id", sa.String(length=64), nullable=False),
        sa.Column("outreach_id", sa.String(length=96), nullable=True),
        sa.Column("original_account_id", sa.String(length=64), nullable=False),
        sa.Column("original_case_id", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=320), nullable=False),
        sa.Column("new_company", sa.String(length=200), nullable=False),
        sa.Column("new_domain", sa.String(length=255), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["original_case_id"], ["cases.case_id"]),
        sa.PrimaryKeyConstraint("lead_id"),
        sa.UniqueConstraint("signal_id"),
    )
    op.create_index(
        "ix_winback_leads_original_account_id", "winback_leads", ["original_account_id"]
    )
    op.create_table(
        "winback_outcomes",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("won_back_on", sa.Date(), nullable=False),
        sa.Column("outreach_id", sa.String(length=96), nullable=True),
        sa.Column("signal_id", sa.String(length=64), nullable=True),
        sa.Column("signal_type", sa.String(length=32), nullable=True),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_winback_outcomes_account_id", "winback_outcomes", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_winback_outcomes_account_id", table_name="winback_outcomes")
    op.drop_table("winback_outcomes")
    op.drop_index("ix_winback_leads_original_account_id", table_name="winback_leads")
    op.drop_table("winback_leads")
    for col in ("night", "account_id", "case_id", "owner", "status"):
        op.drop_index(f"ix_winback_outreach_{col}", table_name="winback_outreach")
    op.drop_table("winback_outreach")
    op.drop_table("winback_nights")
    op.drop_table("winback_preferences")
    for col in ("type", "account_id", "domain", "observed_at"):
        op.drop_index(f"ix_winback_signals_{col}", table_name="winback_signals")
    op.drop_table("winback_signals")
