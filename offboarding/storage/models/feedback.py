"""Exit feedback (§8) and churn patterns: tables for issue 6 (migration 0006).

A declined survey or interview is a row with status "declined", never a missing row, so the
response rate can tell "said no" from "did not answer". Survey-tool responses carry their own
id (`response_id`, unique): importing the same file twice writes nothing new.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.models import Base


class ExitFeedbackRow(Base):
    """One exit-survey response (answered or declined); the idempotency key is response_id."""

    __tablename__ = "exit_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    response_id: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    main_reason: Mapped[str] = mapped_column(Text, default="")
    main_reason_category: Mapped[str | None] = mapped_column(String(32))
    could_do_better: Mapped[str] = mapped_column(Text, default="")
    overall_rating: Mapped[int | None] = mapped_column(Integer)
    would_use_again: Mapped[bool | None] = mapped_column(Boolean)
    recommend_score: Mapped[int | None] = mapped_column(Integer)
    recommend_why: Mapped[str] = mapped_column(Text, default="")
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    product_gap: Mapped[str | None] = mapped_column(String(200))
    service_issue: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(320))
    data: Mapped[dict] = mapped_column(JSON)


class ExitInterviewRow(Base):
    """The 15-minute exit interview of a strategic account (§8); one per case."""

    __tablename__ = "exit_interviews"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    facilitator: Mapped[str] = mapped_column(String(320))
    facilitator_neutral: Mapped[bool] = mapped_column(Boolean, default=False)
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(320))


class FeedbackPatternRow(Base):
    """The same product gap or service issue cited by at least N customers within a window.

    `generation` counts recurrences: a gap cited again by N customers after its fix is a new
    pattern (generation 2), so a fixed pattern's history is never rewritten. The notice to
    product is claimed (`notice_status` "sending") before the mailer is called and marked
    "sent" after, like the message ledger: a crash in between is never a silent second notice.
    """

    __tablename__ = "feedback_patterns"
    __table_args__ = (UniqueConstraint("kind", "key", "generation"),)
    pattern_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    threshold: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    citations: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    notice_status: Mapped[str | None] = mapped_column(String(16))
    notice_claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notified_to: Mapped[list | None] = mapped_column(JSON)
    notice_location: Mapped[str | None] = mapped_column(String(1000))
    fixed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fixed_by: Mapped[str | None] = mapped_column(String(320))
    fix_note: Mapped[str] = mapped_column(Text, default="")
