"""export and purge: schema for issue 3 (exports, purge, deletion certificates)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_objects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("export_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("export_id", "name"),
    )
    op.create_index(
        op.f("ix_export_objects_export_id"), "export_objects", ["export_id"], unique=False
    )
    op.create_table(
        "purges",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("prefix", sa.String(length=1000), nullable=False),
        sa.Column("inventory", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index(op.f("ix_purges_account_id"), "purges", ["account_id"], unique=False)
    op.create_table(
        "deletion_certificates",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("certificate_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backups_expire_on", sa.Date(), nullable=False),
        sa.Column("json_key", sa.String(length=1000), nullable=False),
        sa.Column("json_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_key", sa.String(length=1000), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
        sa.UniqueConstraint("certificate_id"),
    )
    op.create_index(
        op.f("ix_deletion_certificates_account_id"),
        "deletion_certificates",
        ["account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deletion_certificates_account_id"), table_name="deletion_certificates")
    op.drop_table("deletion_certificates")
    op.drop_index(op.f("ix_purges_account_id"), table_name="purges")
    op.drop_table("purges")
    op.drop_index(op.f("ix_export_objects_export_id"), table_name="export_objects")
    op.drop_table("export_objects")
