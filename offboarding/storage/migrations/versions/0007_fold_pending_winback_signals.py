"""fold pending win-back signals into winback_signals and drop pending_winback_signals

Every build has the win-back signal table now, so `mark_fixed` writes its `feature_shipped`
signals there directly. The rows still waiting in `pending_winback_signals` (not yet handed
over) become win-back signals with the same mapping the hand-over used, each once, with the
same audit entry; then the table goes. Downgrade recreates it empty: the signals stay where
the nightly selection reads them.

Revision ID: 0007
Revises: 0006
"""

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The tables as they are at this revision (not the models, which move on).
pending = sa.table(
    "pending_winback_signals",
    sa.column("id", sa.Integer()),
    sa.column("account_id", sa.String()),
    sa.column("case_id", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("source_key", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("observed_at", sa.DateTime(timezone=True)),
    sa.column("data", sa.JSON()),
    sa.column("handed_over_at", sa.DateTime(timezone=True)),
)
signals = sa.table(
    "winback_signals",
    sa.column("signal_id", sa.String()),
    sa.column("type", sa.String()),
    sa.column("account_id", sa.String()),
    sa.column("domain", sa.String()),
    sa.column("competitor", sa.String()),
    sa.column("codes", sa.JSON()),
    sa.column("observed_at", sa.DateTime(timezone=True)),
    sa.column("source", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("ingested_at", sa.DateTime(timezone=True)),
)
audit_log = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("case_id", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("what", sa.Text()),
    sa.column("why", sa.Text()),
    sa.column("data", sa.JSON()),
)


def _signal_id(account_id: str, pattern_id: str) -> str:
    """As `feedback.patterns.feature_shipped_signal_id`: one signal per (account, pattern),
    so a signal `mark_fixed` already wrote is not written twice. Copied, not imported: a
    migration must not change when the application code does."""
    digest = hashlib.sha1(f"feature_shipped|{account_id}|{pattern_id}".encode()).hexdigest()
    return f"S-{digest[:16]}"


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def upgrade() -> None:
    bind = op.get_bind()
    waiting = bind.execute(
        sa.select(pending).where(pending.c.handed_over_at.is_(None)).order_by(pending.c.id)
    ).all()
    ids = {p.id: _signal_id(p.account_id, p.source_key) for p in waiting}
    present = set(
        bind.execute(
            sa.select(signals.c.signal_id).where(signals.c.signal_id.in_(sorted(set(ids.values()))))
        ).scalars()
    )
    now = datetime.now(UTC)
    new_signals, entries = [], []
    for p in waiting:
        sid = ids[p.id]
        if sid in present:
            continue
        present.add(sid)
        new_signals.append(
            {
                "signal_id": sid,
                "type": "feature_shipped",
                "account_id": p.account_id,
                "domain": None,
                "competitor": None,
                "codes": list((p.data or {}).get("codes", [])),
                "observed_at": _utc(p.observed_at),
                "source": f"pattern:{p.source_key}",
                "details": {"pattern_id": p.source_key, "case_id": p.case_id, "detail": p.detail},
                "ingested_at": now,
            }
        )
        entries.append(
            {
                "at": now,
                "case_id": p.case_id,
                "actor": "patterns",
                "action": "winback_signal",
                "what": f"feature_shipped {sid}",
                "why": "handed over from pending_winback_signals (migration 0007)",
                "data": {},
            }
        )
    if new_signals:
        op.bulk_insert(signals, new_signals)
        op.bulk_insert(audit_log, entries)
    op.drop_index("ix_pending_winback_signals_account_id", table_name="pending_winback_signals")
    op.drop_table("pending_winback_signals")


def downgrade() -> None:
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
