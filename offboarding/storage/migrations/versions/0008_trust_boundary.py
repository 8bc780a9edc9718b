"""trust boundary: personal API tokens, used proofs, wrong proofs for the lockout

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(length=16), nullable=False),
        sa.Column("person", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=254), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("token_id"),
    )
    op.create_index("ix_api_tokens_person", "api_tokens", ["person"])
    op.create_table(
        "proof_uses",
        sa.Column("proof_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=254), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("proof_id"),
    )
    op.create_index("ix_proof_uses_case_id", "proof_uses", ["case_id"])
    op.create_table(
        "proof_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_proof_failures_case_id", "proof_failures", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_proof_failures_case_id", table_name="proof_failures")
    op.drop_table("proof_failures")
    op.drop_index("ix_proof_uses_case_id", table_name="proof_uses")
    op.drop_table("proof_uses")
    op.drop_index("ix_api_tokens_person", table_name="api_tokens")
    op.drop_table("api_tokens")
