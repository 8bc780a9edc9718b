"""Inbound message queries: one row per message key (a second post finds the first), the case
a thread already belongs to, the accounts a sender may belong to, and the triage queue with
who decided what. Every decision on a case is written to its audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit
from offboarding.storage.db import utcnow
from offboarding.storage.models import AccountRow
from offboarding.storage.models.inbound import InboundMessageRow

OPENED = "opened"
JOINED = "joined"
TRIAGE = "triage"
DISMISSED = "dismissed"
STATUSES = (OPENED, JOINED, TRIAGE, DISMISSED)


def by_key(session: Session, key: str) -> InboundMessageRow | None:
    return session.scalar(select(InboundMessageRow).where(InboundMessageRow.message_key == key))


def thread_case(session: Session, keys: list[str]) -> InboundMessageRow | None:
    """The stored message of this thread that belongs to a case (the newest reference first)."""
    if not keys:
        return None
    rows = session.scalars(
        select(InboundMessageRow).where(
            InboundMessageRow.message_key.in_(keys), InboundMessageRow.case_id.is_not(None)
        )
    ).all()
    order = {k: i for i, k in enumerate(keys)}
    return min(rows, key=lambda r: order[r.message_key], default=None)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def accounts_mentioning(session: Session, domain: str) -> list[tuple[str, dict[str, Any]]]:
    """(account_id, data) of the accounts whose stored JSON names this domain at all: the
    candidates `matching.match_account` decides among."""
    if not domain:
        return []
    rows = session.execute(
        select(AccountRow.account_id, AccountRow.data)
        .where(cast(AccountRow.data, String).ilike(_like("@" + domain), escape="\\"))
        .order_by(AccountRow.account_id)
    ).all()
    return [(r.account_id, r.data or {}) for r in rows]


def account_exists(session: Session, account_id: str) -> bool:
    return bool(account_id) and session.get(AccountRow, account_id) is not None


def record(session: Session, **fields: Any) -> tuple[InboundMessageRow, bool]:
    """Store a message; (row, created). The same key posted concurrently stores one row."""
    existing = by_key(session, fields["message_key"])
    if existing is not None:
        return existing, False
    fields.setdefault("received_at", utcnow())
    fields.setdefault("data", {})
    fields.setdefault("attachments", [])
    row = InboundMessageRow(**fields)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = by_key(session, fields["message_key"])
        if found is None:
            raise
        return found, False
    return row, True


def get_message(session: Session, message_id: int) -> InboundMessageRow:
    row = session.get(InboundMessageRow, message_id)
    if row is None:
        raise OffboardingError(f"no inbound message {message_id}: see `offboard inbox list`")
    return row


def list_messages(
    session: Session, status: str | None = None, limit: int = 100
) -> list[InboundMessageRow]:
    if status is not None and status not in STATUSES:
        raise OffboardingError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    q = select(InboundMessageRow).order_by(InboundMessageRow.id.desc()).limit(limit)
    if status is not None:
        q = q.where(InboundMessageRow.status == status)
    return list(session.scalars(q))


def joined_thread(session: Session, row: InboundMessageRow, case_id: str, parent_key: str) -> None:
    """A reply in a case's thread: recorded on that case, never a second case."""
    audit(
        session,
        case_id,
        f"inbound:{row.source}",
        "inbound_reply",
        f"reply from {row.sender or 'unknown sender'} joined the case",
        "",
        data={"message_key": row.message_key, "in_reply_to": parent_key, "inbound_id": row.id},
    )


def _undecided(row: InboundMessageRow) -> None:
    if row.status != TRIAGE:
        raise OffboardingError(f"inbound message {row.id} is {row.status}, not in triage")


def opened_from_triage(
    session: Session, row: InboundMessageRow, case_id: str, account_id: str, by: str, how: str
) -> None:
    """A person opened (or joined) a case from a triaged message: who, and on what account."""
    _undecided(row)
    row.status, row.case_id, row.account_id = OPENED, case_id, account_id
    row.decided_by, row.decided_at = by, utcnow()
    audit(
        session,
        case_id,
        by,
        "inbound_opened_from_triage",
        f"inbound message {row.id} ({row.message_key}) from {row.sender}",
        row.why,
        data={"inbound_id": row.id, "account_id": account_id, "proven_by": how},
    )


def dismiss(session: Session, row: InboundMessageRow, by: str, why: str) -> None:
    """Not a cancellation after all: kept, with who said so and why."""
    _undecided(row)
    if not why.strip():
        raise OffboardingError("a dismissal needs a reason (--why)")
    row.status, row.decided_by, row.decided_at = DISMISSED, by, utcnow()
    row.data = {**(row.data or {}), "dismissed_why": why.strip(), "triage_why": row.why}
    audit(
        session,
        None,
        by,
        "inbound_dismissed",
        f"inbound message {row.id} ({row.message_key}) from {row.sender}",
        why.strip(),
        data={"inbound_id": row.id},
    )


def as_dict(row: InboundMessageRow, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "message_key": row.message_key,
        "sender": row.sender,
        "subject": row.subject,
        "status": row.status,
        "why": row.why,
        "account_id": row.account_id,
        "case_id": row.case_id,
        "received_at": row.received_at.isoformat() if row.received_at else None,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
    }
    if full:
        out.update(
            thread_key=row.thread_key, body=row.body, attachments=row.attachments, data=row.data
        )
    return out
