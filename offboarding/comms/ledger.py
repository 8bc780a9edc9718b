"""The exactly-once ledger of messages: which (case, kind, sequence) went, and how.

Sending is a side effect outside our database, so "exactly once" rests on an intent row
written *before* the transport is called:

    (none) --claim--> sending --provider accepted--> sent
                        |  \\--refused (4xx)---------> failed   (case needs attention)
                        |   \\--throttled/5xx, gave up-> pending (not_before honours 429)
                        \\--found stale later---------> unknown  (SendGrid) / re-sent (file)

- The unique key (case, kind, seq) means two workers can never both hold the claim: the
  second insert fails, and a claim on an existing row is a compare-and-set on its token.
- `sent`, `failed` and `unknown` are final for the automation: a rerun, a resumed run or a
  task retry finds them and does not call the transport again.
- The remaining window: a worker that dies after the provider accepted and before `sent`
  is committed leaves the row in `sending`. We cannot tell "accepted" from "never called",
  so for a transport that is not replay-safe (SendGrid) the row becomes `unknown` and the
  case needs attention, with the idempotency key to look up in the provider's activity
  feed; a person then marks it sent or releases it. We chose "at most once, then ask" over
  "at least once". The file outbox is replay-safe (same file, same index key), so a stale
  claim there is simply taken over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from offboarding.comms.mailer import Attempt, Delivery
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import CaseRow, MessageRow
from offboarding.storage.models.comms import MessageAttemptRow

#: A claim younger than this is a send in progress elsewhere; older, its worker is gone.
#: A file write takes milliseconds, so a file claim is stale within the task's retry window
#: (a run recovered after a kill takes over); an HTTP send may wait out a Retry-After.
LEASE_SECONDS = {"file": 5.0, "sendgrid": 300.0}
ATTENTION_SEPARATOR = " | "


class MessageStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    unknown = "unknown"


class SendInFlight(ConnectionError):
    """Another worker holds a fresh claim on this message: try again later (transient)."""


class NotYet(ConnectionError):
    """The provider asked us to wait (429 Retry-After) and that time has not come (transient)."""

    def __init__(self, message: str, wait_seconds: float) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


class MessageBlocked(RuntimeError):
    """The message was refused, or its outcome is unknown: the automation will not send it
    again until a person decides (`offboard messages release`)."""


@dataclass(frozen=True)
class Claim:
    """Permission to call the transport once for this message."""

    message_id: int
    token: str
    key: str
    replay: bool = False


@dataclass(frozen=True)
class AlreadyDone:
    message_id: int
    location: str


@dataclass(frozen=True)
class Blocked:
    """Returned (not raised) so the caller commits what `claim` recorded, then raises."""

    reason: str


def find(session: Session, case_id: str, kind: str, seq: int) -> MessageRow | None:
    return session.scalar(
        select(MessageRow).where(
            MessageRow.case_id == case_id, MessageRow.kind == kind, MessageRow.seq == seq
        )
    )


def attention_marker(kind: str, seq: int) -> str:
    return f"message {kind}#{seq}"


def flag_case(session: Session, case_id: str, reason: str) -> None:
    """Add a reason to `needs_attention` (kept as ' | '-separated reasons, no duplicates)."""
    case = session.get(CaseRow, case_id)
    if case is None:
        return
    reasons = [r for r in (case.needs_attention or "").split(ATTENTION_SEPARATOR) if r]
    if reason not in reasons:
        reasons.append(reason)
    case.needs_attention = ATTENTION_SEPARATOR.join(reasons)


def unflag_case(session: Session, case_id: str, marker: str) -> None:
    """Drop every `needs_attention` reason that starts with `marker`."""
    case = session.get(CaseRow, case_id)
    if case is None or not case.needs_attention:
        return
    reasons = [
        r for r in case.needs_attention.split(ATTENTION_SEPARATOR) if r and not r.startswith(marker)
    ]
    case.needs_attention = ATTENTION_SEPARATOR.join(reasons) or None


def _stale(row: MessageRow, provider: str, now: datetime) -> bool:
    lease = LEASE_SECONDS.get(provider, max(LEASE_SECONDS.values()))
    claimed = as_utc(row.claimed_at)
    return claimed is None or (now - claimed).total_seconds() >= lease


def claim(
    session: Session,
    *,
    case_id: str,
    kind: str,
    seq: int,
    key: str,
    to: str,
    subject: str,
    locale: str,
    provider: str,
    replay_safe: bool,
    now: datetime | None = None,
) -> Claim | AlreadyDone | Blocked:
    """Take the one right to send (case, kind, seq), or say why not.

    Returns `AlreadyDone` for a sent message and `Blocked` when a person must decide (the
    caller commits, then raises `MessageBlocked`); raises `SendInFlight` or `NotYet`
    (transient, nothing written). The caller commits the claim before calling the transport.
    """
    now = now or utcnow()
    row = find(session, case_id, kind, seq)
    token = uuid.uuid4().hex
    if row is None:
        row = MessageRow(
            case_id=case_id,
            kind=kind,
            seq=seq,
            to_addr=to[:1000],
            subject=subject[:500],
            locale=locale,
            location="",
            sent_at=None,
            status=MessageStatus.sending,
            idempotency_key=key,
            provider=provider,
            attempts=0,
            claim_token=token,
            claimed_at=now,
        )
        session.add(row)
        session.flush()  # a concurrent claim fails here on the unique key
        return Claim(row.id, token, key)
    status = MessageStatus(row.status)
    if status == MessageStatus.sent:
        return AlreadyDone(row.id, row.location)
    if status in (MessageStatus.failed, MessageStatus.unknown):
        return Blocked(
            f"{kind} #{seq} for case {case_id} is {status}: {row.last_error or 'no detail'}; "
            f"it will not be sent again until a person releases it "
            f"(offboard messages release {case_id} {kind} --seq {seq})"
        )
    replay = False
    if status == MessageStatus.pending:
        not_before = as_utc(row.not_before)
        if not_before is not None and not_before > now:
            wait = (not_before - now).total_seconds()
            raise NotYet(f"{kind} #{seq}: the provider asked to wait {wait:.0f}s more", wait)
        expected = MessageStatus.pending
    else:  # sending
        if not _stale(row, row.provider or provider, now):
            raise SendInFlight(f"{kind} #{seq} for case {case_id} is being sent by another worker")
        if not replay_safe:
            why = (
                f"{attention_marker(kind, seq)}: the worker stopped while sending through "
                f"{row.provider or provider}; whether it was delivered is unknown. Look up "
                f"custom arg offboarding_key={row.idempotency_key or key} in the provider's "
                "activity feed, then mark it sent or release it"
            )
            _set(
                session,
                row,
                MessageStatus.sending,
                row.claim_token,
                status=MessageStatus.unknown,
                last_error=why,
            )
            flag_case(session, case_id, why)
            return Blocked(why)
        expected, replay = MessageStatus.sending, True
    ok = _set(
        session,
        row,
        expected,
        row.claim_token,
        status=MessageStatus.sending,
        claim_token=token,
        claimed_at=now,
        to_addr=to[:1000],
        subject=subject[:500],
        locale=locale,
        provider=provider,
        idempotency_key=row.idempotency_key or key,
    )
    if not ok:
        raise SendInFlight(f"{kind} #{seq} for case {case_id} was claimed by another worker")
    return Claim(row.id, token, row.idempotency_key or key, replay=replay)


def _set(
    session: Session, row: MessageRow, expected: str, token: str | None, **values: object
) -> bool:
    """Compare-and-set on (status, claim token): true when this caller changed the row."""
    q = update(MessageRow).where(MessageRow.id == row.id, MessageRow.status == str(expected))
    q = q.where(
        MessageRow.claim_token.is_(None) if token is None else MessageRow.claim_token == token
    )
    done = session.execute(q.values(**values).execution_options(synchronize_session=False))
    session.expire(row)
    return done.rowcount == 1


def record_attempts(
    session: Session, message_id: int, case_id: str, provider: str, attempts: tuple[Attempt, ...]
) -> None:
    for a in attempts:
        session.add(
            MessageAttemptRow(
                message_id=message_id,
                case_id=case_id,
                at=a.at,
                provider=provider,
                outcome=a.outcome,
                status=a.status,
                detail=a.detail[:2000],
                wait_seconds=a.wait_seconds,
            )
        )


def _bump(session: Session, message_id: int, n: int) -> int:
    row = session.get(MessageRow, message_id)
    return (row.attempts or 0) + n if row is not None else n


def mark_sent(session: Session, claim: Claim, delivery: Delivery, now: datetime | None = None):
    """The provider accepted: final. False when the claim was lost (a replay took over)."""
    row = session.get(MessageRow, claim.message_id)
    ok = _set(
        session,
        row,
        MessageStatus.sending,
        claim.token,
        status=MessageStatus.sent,
        sent_at=now or utcnow(),
        location=delivery.location[:1000],
        provider=delivery.provider,
        provider_message_id=delivery.provider_message_id,
        attempts=_bump(session, claim.message_id, len(delivery.attempts) or 1),
        last_error=None,
        claim_token=None,
        not_before=None,
    )
    record_attempts(session, claim.message_id, row.case_id, delivery.provider, delivery.attempts)
    return ok


def mark_failed(
    session: Session, claim: Claim, provider: str, error: str, attempts: tuple[Attempt, ...]
) -> str:
    """A permanent refusal: final until a person releases it; the case needs attention."""
    row = session.get(MessageRow, claim.message_id)
    why = f"{attention_marker(row.kind, row.seq)} was refused: {error}"
    _set(
        session,
        row,
        MessageStatus.sending,
        claim.token,
        status=MessageStatus.failed,
        last_error=error[:4000],
        attempts=_bump(session, claim.message_id, len(attempts) or 1),
        claim_token=None,
    )
    record_attempts(session, claim.message_id, row.case_id, provider, attempts)
    flag_case(session, row.case_id, why)
    return why


def mark_retry(
    session: Session,
    claim: Claim,
    provider: str,
    error: str,
    attempts: tuple[Attempt, ...],
    retry_after: float | None,
    now: datetime | None = None,
) -> None:
    """Not accepted, and a later try may succeed: back to pending, after `retry_after`."""
    now = now or utcnow()
    row = session.get(MessageRow, claim.message_id)
    _set(
        session,
        row,
        MessageStatus.sending,
        claim.token,
        status=MessageStatus.pending,
        last_error=error[:4000],
        attempts=_bump(session, claim.message_id, len(attempts)),
        claim_token=None,
        not_before=now + timedelta(seconds=retry_after) if retry_after else None,
    )
    record_attempts(session, claim.message_id, row.case_id, provider, attempts)


def release(
    session: Session, case_id: str, kind: str, seq: int, *, delivered: bool, by: str
) -> MessageRow:
    """A person's decision on a failed or unknown message: it was delivered (mark it sent),
    or it was not and may be sent again (back to pending, e.g. after fixing the address)."""
    row = find(session, case_id, kind, seq)
    if row is None:
        raise LookupError(f"case {case_id} has no message {kind} #{seq}")
    if row.status not in (MessageStatus.failed, MessageStatus.unknown):
        raise ValueError(
            f"{kind} #{seq} for case {case_id} is {row.status}; only failed or unknown "
            "messages are released by hand"
        )
    if delivered:
        row.status, row.sent_at = MessageStatus.sent, row.sent_at or utcnow()
        row.location = row.location or f"confirmed by {by}"
    else:
        row.status, row.not_before = MessageStatus.pending, None
    row.claim_token = None
    row.last_error = f"released by {by} ({'delivered' if delivered else 'send again'})"
    unflag_case(session, case_id, attention_marker(kind, seq))
    return row
