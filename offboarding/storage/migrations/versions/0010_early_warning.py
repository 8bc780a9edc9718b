"""early warning: at-risk episodes and daily scans (issue 15); the message ledger also keys
messages that are about an episode rather than a case

- `risk_episodes`: one row per account at risk for one cause, open until a person resolves
  it; a partial unique index keeps at most one open episode per account and cause.
- `risk_scans`: one row per scanned day.
- `messages.case_id` loses its foreign key to `cases`: the ledger's subject is a case id or
  an episode id ("EW-..."), so an owner's at-risk alert is sent exactly once through the same
  ledger as every case message. Existing rows are unchanged. On SQLite the table is rebuilt
  (batch mode); the migration's own connection has foreign keys off, so `message_attempts`,
  which points at `messages`, keeps its rows.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OPEN_ONLY = sa.text("status = 'open'")
#: Names SQLite's unnamed foreign key of `messages` in batch mode, so it can be dropped.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _messages_case_fk() -> str | None:
    for fk in sa.inspect(op.get_bind()).get_foreign_keys("messages"):
        if fk["referred_table"] == "cases" and fk["constrained_columns"] == ["case_id"]:
            return fk.get("name") or "fk_messages_case_id_cases"
    return None


def upgrade() -> None:
    op.create_table(
        "risk_episodes",
        sa.Column("episode_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("latest_evidence", sa.Text(), nullable=False),
        sa.Column("impact", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("opening", sa.Text(), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_location", sa.String(length=1000), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"]),
        sa.PrimaryKeyConstraint("episode_id"),
    )
    for col in ("account_id", "status", "opened_on", "owner"):
        op.create_index(f"ix_risk_episodes_{col}", "risk_episodes", [col])
    op.create_index(
        "uq_risk_episodes_open",
        "risk_episodes",
        ["account_id", "cause"],
        unique=True,
        postgresql_where=OPEN_ONLY,
        sqlite_where=OPEN_ONLY,
    )
    op.create_table(
        "risk_scans",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("stale", sa.JSON(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("day"),
    )
    name = _messages_case_fk()
    if name is not None:
        with op.batch_alter_table("messages", naming_convention=NAMING) as batch:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    # messages about episodes have no case to point at: they go with the episodes
    orphan = "SELECT id FROM messages WHERE case_id NOT IN (SELECT case_id FROM cases)"
    op.execute(f"DELETE FROM message_attempts WHERE message_id IN ({orphan})")
    op.execute("DELETE FROM messages WHERE case_id NOT IN (SELECT case_id FROM cases)")
    with op.batch_alter_table("messages", naming_convention=NAMING) as batch:
        batch.create_foreign_key("fk_messages_case_id_cases", "cases", ["case_id"], ["case_id"])
    op.drop_table("risk_scans")
    op.drop_index("uq_risk_episodes_open", table_name="risk_episodes")
    for col in ("account_id", "status", "opened_on", "owner"):
        op.drop_index(f"ix_risk_episodes_{col}", table_name="risk_episodes")
    op.drop_table("risk_episodes")
