"""Inbound messages (email through SendGrid Inbound Parse, helpdesk webhooks): one row per
message, keyed by its Message-ID or ticket, so a message posted twice is one record, and the
triage queue of those a person must look at. Migration: `0011_inbound.py`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.models import Base


class InboundMessageRow(Base):
    """What arrived and what became of it: `opened` a case, `joined` one (a reply in its
    thread, or the account's open case), waits in `triage`, or `dismissed` by a person."""

    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(80))
    message_key: Mapped[str] = mapped_column(String(200), unique=True)
    thread_key: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    why: Mapped[str] = mapped_column(Text, default="")
    account_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
