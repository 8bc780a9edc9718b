"""Communications (issue 4): every try at sending a message, kept beside the outbox.

The outbox itself is `MessageRow` (one row per case, kind and sequence, unique). This log
keeps each attempt at the transport (accepted, throttled, 5xx, refused, connection error),
so "why did this message go out late" or "why did it not go out" is answered from the
database rather than from a worker's log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.models import Base


class MessageAttemptRow(Base):
    __tablename__ = "message_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    provider: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(24))
    status: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)
