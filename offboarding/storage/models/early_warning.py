"""Early-warning tables (§14): at-risk episodes and the daily scans that open them.
Migration: `offboarding/storage/migrations/versions/0010_early_warning.py`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.models import Base

#: At most one open episode per account and cause: the database holds the rule.
OPEN_ONLY = text("status = 'open'")


class RiskEpisodeRow(Base):
    """An account at risk for one cause, from the scan that found it until a person resolves
    it. Its owner is told once (the message ledger, keyed by the episode id)."""

    __tablename__ = "risk_episodes"
    __table_args__ = (
        Index(
            "uq_risk_episodes_open",
            "account_id",
            "cause",
            unique=True,
            postgresql_where=OPEN_ONLY,
            sqlite_where=OPEN_ONLY,
        ),
    )
    episode_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    cause: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    opened_on: Mapped[date] = mapped_column(Date, index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(Text)
    latest_evidence: Mapped[str] = mapped_column(Text)
    impact: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    base: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON)
    respond_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    owner: Mapped[str] = mapped_column(String(320), index=True)
    opening: Mapped[str] = mapped_column(Text, default="")
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_location: Mapped[str | None] = mapped_column(String(1000))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class RiskScanRow(Base):
    """One row per scanned day: how many accounts, findings and new episodes, and which
    product feeds were too stale to judge. A rerun the same day updates it."""

    __tablename__ = "risk_scans"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    runs: Mapped[int] = mapped_column(Integer, default=1)
    population: Mapped[int] = mapped_column(Integer)
    findings: Mapped[int] = mapped_column(Integer)
    opened: Mapped[int] = mapped_column(Integer)
    stale: Mapped[list] = mapped_column(JSON)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
