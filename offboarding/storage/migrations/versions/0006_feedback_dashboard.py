"""feedback dashboard: schema for issue 6 (exit feedback, patterns, dashboard)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exit_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("response_id", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("main_reason", sa.Text(), nullable=False),
        sa.Column("main_reason_category", sa.String(length=32), nullable=True),
        sa.Column("could_do_better", sa.Text(), nullable=False),
        sa.Column("overall_rating", sa.Integer(), nullable=True),
        sa.Column("would_use_again", sa.Boolean(), nullable=True),
        sa.Column("recommend_score", sa.Integer(), nullable=True),
        sa.Column("recommend_why", sa.Text(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("product_gap", sa.String(length=200), nullable=True),
        sa.Column("service_issue", sa.String(length=200), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id"),
    )
    op.create_index("ix_exit_feedback_case_id", "exit_feedback", ["case_id"])
    op.create_index("ix_exit_feedback_responded_at", "exit_feedback", ["responded_at"])
    op.create_table(
        "exit_interviews",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("facilitator", sa.String(length=320), nullable=False),
        sa.Column("facilitator_neutral", sa.Boolean(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "feedback_patterns",
        sa.Column("pattern_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notice_status", sa.String(length=16), nullable=True),
        sa.Column("notice_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_to", sa.JSON(), nullable=True),
        sa.Column("notice_location", sa.String(length=1000), nullable=True),
        sa.Column("fixed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fixed_by", sa.String(length=320), nullable=True),
        sa.Column("fix_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pattern_id"),
        sa.UniqueConstraint("kind", "key", "generation"),
    )
    op.create_index("ix_feedback_patterns_status", "feedback_patterns", ["status"])
    op.create_table(
        "pending_winback_signals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "kind", "source_key"),
    )
    op.create_index(
        "ix_pending_winback_signals_account_id", "pending_winback_signals", ["account_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_pending_winback_signals_account_id", table_name="pending_winback_signals")
    op.drop_table("pending_winback_signals")
    op.drop_index("ix_feedback_patterns_status", table_name="feedback_patterns")
    op.drop_table("feedback_patterns")
    op.drop_table("exit_interviews")
    op.drop_index("ix_exit_feedback_responded_at", table_name="exit_feedback")
    op.drop_index("ix_exit_feedback_case_id", table_name="exit_feedback")
    op.drop_table("exit_feedback")
