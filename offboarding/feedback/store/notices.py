"""The pattern notice to product, support and CS leadership: sent once, even across crashes.

The notice is claimed (`notice_status` "sending") before the mailer is called and marked
"sent" after, like the message ledger: a crash in between is never a silent second notice.
Functions take an open Session (callers own the transaction).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from offboarding.cases.store import audit
from offboarding.feedback.store.patterns import get_pattern
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models.feedback import FeedbackPatternRow

__all__ = ["NOTICE_LEASE", "claim_notice", "mark_notified", "notices_to_send", "release_notice"]

#: A claim on a notice younger than this is a send in progress; older, its worker is gone.
NOTICE_LEASE = timedelta(minutes=5)


def notices_to_send(session: Session, replay_safe: bool, now: datetime) -> list[str]:
    """Open patterns whose notice has not gone. A stale claim is taken over when the mailer
    is replay-safe (the file outbox rewrites the same file); otherwise it becomes "unknown"
    and waits for a person, who can check the provider for the notice's key."""
    rows = session.scalars(
        select(FeedbackPatternRow).where(
            FeedbackPatternRow.status == "open", FeedbackPatternRow.notified_at.is_(None)
        )
    ).all()
    due = []
    for r in rows:
        if r.notice_status is None:
            due.append(r.pattern_id)
        elif r.notice_status == "sending" and as_utc(r.notice_claimed_at) < now - NOTICE_LEASE:
            if replay_safe:
                due.append(r.pattern_id)
            else:
                r.notice_status = "unknown"
                audit(session, None, "patterns", "pattern_notice_unknown", r.pattern_id,
                      "the sender stopped mid-send: check the mail provider")  # fmt: skip
    return due


def claim_notice(session: Session, pattern_id: str, now: datetime) -> bool:
    """Compare-and-set: only one worker sends a pattern's notice."""
    row = session.get(FeedbackPatternRow, pattern_id, with_for_update=True)
    if row is None or row.notified_at is not None or row.notice_status not in (None, "sending"):
        return False
    if row.notice_status == "sending" and as_utc(row.notice_claimed_at) >= now - NOTICE_LEASE:
        return False
    row.notice_status, row.notice_claimed_at = "sending", now
    return True


def release_notice(session: Session, pattern_id: str, status: str | None, why: str = "") -> None:
    """After a refusal ("failed") or a transient fault (None: try again later)."""
    row = get_pattern(session, pattern_id)
    row.notice_status, row.notice_claimed_at = status, None
    if status:
        audit(session, None, "patterns", f"pattern_notice_{status}", pattern_id, why)


def mark_notified(session: Session, pattern_id: str, to: list[str], location: str) -> None:
    """The mailer took the notice: it is never sent again."""
    row = get_pattern(session, pattern_id)
    row.notice_status, row.notified_at = "sent", utcnow()
    row.notified_to, row.notice_location = to, location
    audit(session, None, "patterns", "pattern_notified", pattern_id, data={"to": to})
