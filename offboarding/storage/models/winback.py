"""Win-back tables (§10–§11, §13): signals, contact preferences, nights, outreach, leads and
won-back outcomes. Migration: `offboarding/storage/migrations/versions/0005_winback.py`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.models import Base


class WinbackSignalRow(Base):
    """A trigger event; its id is the natural key, so a file ingested twice is stored once.
    A churn pattern marked fixed writes its `feature_shipped` signals here too."""

    __tablename__ = "winback_signals"
    signal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    competitor: Mapped[str | None] = mapped_column(String(200))
    codes: Mapped[list] = mapped_column(JSON)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WinbackPreferenceRow(Base):
    """§11 "some want a clean break: respect it": no win-back contact, ever, until withdrawn."""

    __tablename__ = "winback_preferences"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    clean_break: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WinbackNightRow(Base):
    """One evaluation per night: a rerun finds it and selects nothing new."""

    __tablename__ = "winback_nights"
    night: Mapped[date] = mapped_column(Date, primary_key=True)
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    candidates: Mapped[int] = mapped_column(Integer)
    signals: Mapped[int] = mapped_column(Integer)
    selected: Mapped[int] = mapped_column(Integer)


class WinbackOutreachRow(Base):
    """One outreach: the account, the signal and reason that justify it, and where it stands.

    At most one per account per night (the unique key); the rules allow one per 12 months.
    """

    __tablename__ = "winback_outreach"
    __table_args__ = (UniqueConstraint("account_id", "night"),)
    outreach_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    night: Mapped[date] = mapped_column(Date, index=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    owner: Mapped[str] = mapped_column(String(320), index=True)
    strategic: Mapped[bool] = mapped_column(Boolean, default=False)
    signal_id: Mapped[str | None] = mapped_column(String(64))
    signal_type: Mapped[str] = mapped_column(String(32))
    signal_observed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    strength: Mapped[float] = mapped_column(Float)
    why: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), index=True)
    message_seq: Mapped[int] = mapped_column(Integer)
    message_location: Mapped[str | None] = mapped_column(String(1000))
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WinbackLeadRow(Base):
    """champion_moved (seed 003): a lead for the champion's new company, linked to the account
    they came from."""

    __tablename__ = "winback_leads"
    lead_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    signal_id: Mapped[str] = mapped_column(String(64), unique=True)
    outreach_id: Mapped[str | None] = mapped_column(String(96))
    original_account_id: Mapped[str] = mapped_column(String(64), index=True)
    original_case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"))
    person: Mapped[str] = mapped_column(String(320), default="")
    new_company: Mapped[str] = mapped_column(String(200))
    new_domain: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(24), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WinbackOutcomeRow(Base):
    """§13: an account that came back, with the outreach and signal that preceded it."""

    __tablename__ = "winback_outcomes"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    won_back_on: Mapped[date] = mapped_column(Date)
    outreach_id: Mapped[str | None] = mapped_column(String(96))
    signal_id: Mapped[str | None] = mapped_column(String(64))
    signal_type: Mapped[str | None] = mapped_column(String(32))
    recorded_by: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
