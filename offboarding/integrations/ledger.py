"""The exactly-once ledger of vendor calls: which (vendor, case, step) was done, and how.

A call changes something outside our database, so "exactly once" rests on an intent row
written *before* the call, as for email (`offboarding.comms.ledger`):

    (none) --claim--> calling --vendor accepted--> done
                        |  \\--refused (4xx)------> failed   (case needs attention)
                        |   \\--429/5xx, gave up--> pending  (not_before honours Retry-After)
                        \\--lease ran out---------> calling again with the same key, when the
                                                   call is replay-safe; else unknown (a person)

- (vendor, case, step) is unique: a second worker's insert fails, and a claim on an existing
  row is a compare-and-set on its token, so two workers never both hold it.
- `done`, `failed` and `unknown` are final for the automation.
- A worker killed after the vendor acted and before `done` was committed leaves `calling`.
  Replay-safe calls (Stripe with its Idempotency-Key, SCIM PATCH/DELETE, a HubSpot PATCH, a
  webhook with its event id) are simply made again with the same key: the vendor answers
  with what it already did. A call that is not replay-safe is first reconciled by the
  adapter (it looks for its own key at the vendor); one it cannot reconcile becomes
  `unknown`, and a person decides.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from offboarding.comms.ledger import flag_case, unflag_case
from offboarding.integrations.errors import VendorRefused, VendorThrottled, VendorUnavailable
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models.integrations import VendorCallAttemptRow, VendorCallRow

#: A claim younger than this is a call in progress elsewhere; older, its worker is gone.
#: Longer than any one HTTP call with its client's own retries.
LEASE_SECONDS = 60.0


class CallStatus(StrEnum):
    calling = "calling"
    done = "done"
    pending = "pending"
    failed = "failed"
    unknown = "unknown"


class CallInFlight(ConnectionError):
    """Another worker holds a fresh claim on this call: try again later (transient)."""


class CallNotYet(ConnectionError):
    """The vendor asked us to wait (429 Retry-After) and that time has not come (transient)."""

    def __init__(self, message: str, wait_seconds: float) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


@dataclass(frozen=True)
class Claim:
    """Permission to make the call once; `replay` when an earlier claim's worker was lost."""

    call_id: int
    token: str
    key: str
    replay: bool = False


@dataclass(frozen=True)
class Done:
    call_id: int
    result: dict[str, Any]


@dataclass(frozen=True)
class Blocked:
    """Returned (not raised) so the caller commits what `claim` recorded, then raises."""

    reason: str


def attention_marker(vendor: str, step: str) -> str:
    return f"{vendor} {step}"


def find(session: Session, vendor: str, case_id: str, step: str) -> VendorCallRow | None:
    return session.scalar(
        select(VendorCallRow).where(
            VendorCallRow.vendor == vendor,
            VendorCallRow.case_id == case_id,
            VendorCallRow.step == step,
        )
    )


def claim(
    session: Session,
    *,
    case_id: str,
    vendor: str,
    step: str,
    key: str,
    request: dict[str, Any],
    replay_safe: bool,
    lease_seconds: float = LEASE_SECONDS,
    now: datetime | None = None,
) -> Claim | Done | Blocked:
    """Take the one right to make (vendor, case, step), or say why not. The caller commits the
    claim before calling the vendor."""
    now = now or utcnow()
    token = uuid.uuid4().hex
    row = find(session, vendor, case_id, step)
    if row is None:
        row = VendorCallRow(
            case_id=case_id,
            vendor=vendor,
            step=step,
            idempotency_key=key,
            status=CallStatus.calling,
            attempts=0,
            claim_token=token,
            claimed_at=now,
            request=request,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()  # a concurrent claim fails here on the unique key
        return Claim(row.id, token, key)
    status = CallStatus(row.status)
    if status == CallStatus.done:
        return Done(row.id, row.result or {})
    if status in (CallStatus.failed, CallStatus.unknown):
        return Blocked(
            f"{vendor} {step} for {case_id} is {status}: {row.last_error or 'no detail'}; it "
            f"will not be made again until a person releases it "
            f"(offboard integrations release {row.id})"
        )
    replay = False
    if status == CallStatus.pending:
        not_before = as_utc(row.not_before)
        if not_before is not None and not_before > now:
            wait = (not_before - now).total_seconds()
            raise CallNotYet(f"{vendor} {step}: the vendor asked to wait {wait:.0f}s more", wait)
    else:  # calling
        claimed = as_utc(row.claimed_at)
        if claimed is not None and (now - claimed).total_seconds() < lease_seconds:
            raise CallInFlight(f"{vendor} {step} for {case_id} is being made by another worker")
        if not replay_safe:
            why = (
                f"{attention_marker(vendor, step)}: the worker stopped during the call and it "
                f"could not be reconciled; look up key {row.idempotency_key} at {vendor}, then "
                f"mark it done or release it (offboard integrations release {row.id})"
            )
            _set(session, row, status, row.claim_token, status=CallStatus.unknown,
                 last_error=why, updated_at=now)  # fmt: skip
            _attempt(session, row.id, "unknown", None, why, now=now)
            flag_case(session, case_id, why)
            return Blocked(why)
        replay = True
    ok = _set(session, row, status, row.claim_token, status=CallStatus.calling,
              claim_token=token, claimed_at=now, request=request, updated_at=now)  # fmt: skip
    if not ok:
        raise CallInFlight(f"{vendor} {step} for {case_id} was claimed by another worker")
    return Claim(row.id, token, row.idempotency_key, replay=replay)


def complete(
    session: Session, c: Claim, result: dict[str, Any], now: datetime | None = None
) -> None:
    """The vendor accepted: the call is done and never made again."""
    now = now or utcnow()
    row = session.get(VendorCallRow, c.call_id)
    _set(session, row, CallStatus.calling, c.token, status=CallStatus.done, result=result,
         claim_token=None, attempts=row.attempts + 1, last_error=None, updated_at=now)  # fmt: skip
    _attempt(session, c.call_id, "accepted", None, "", now=now)
    unflag_case(session, row.case_id, attention_marker(row.vendor, row.step))


def defer(
    session: Session, c: Claim, error: VendorUnavailable, now: datetime | None = None
) -> None:
    """A transient fault: the call waits (for Retry-After when the vendor gave one)."""
    now = now or utcnow()
    row = session.get(VendorCallRow, c.call_id)
    wait = error.retry_after if isinstance(error, VendorThrottled) else 0.0
    _set(session, row, CallStatus.calling, c.token, status=CallStatus.pending, claim_token=None,
         not_before=now + timedelta(seconds=wait), attempts=row.attempts + 1,
         last_error=str(error)[:2000], updated_at=now)  # fmt: skip
    outcome = "throttled" if isinstance(error, VendorThrottled) else "unavailable"
    _attempt(session, c.call_id, outcome, error.status, str(error), wait, now=now)


def refuse(session: Session, c: Claim, error: VendorRefused, now: datetime | None = None) -> str:
    """A 4xx: the call fails and the case needs attention with the vendor's own message."""
    now = now or utcnow()
    row = session.get(VendorCallRow, c.call_id)
    why = f"{attention_marker(row.vendor, row.step)}: {error}"[:1000]
    _set(session, row, CallStatus.calling, c.token, status=CallStatus.failed, claim_token=None,
         attempts=row.attempts + 1, last_error=why, updated_at=now)  # fmt: skip
    _attempt(session, c.call_id, "refused", error.status, error.detail, now=now)
    flag_case(session, row.case_id, why)
    return why


def release(session: Session, call_id: int, done: bool = False) -> VendorCallRow:
    """A person's decision on a failed or unknown call: make it again, or mark it done."""
    row = session.get(VendorCallRow, call_id)
    if row is None:
        raise LookupError(f"no vendor call {call_id}")
    if row.status not in (CallStatus.failed, CallStatus.unknown, CallStatus.pending):
        raise ValueError(f"vendor call {call_id} is {row.status}: nothing to release")
    now = utcnow()
    if not done and row.status == CallStatus.failed:
        # a vendor that keeps its answer under the key (Stripe stores errors too) would only
        # repeat the refusal: a refused call made again gets a new key. An unknown one keeps
        # its key, so that if the vendor did act, it answers with what it did.
        row.idempotency_key = next_key(row.idempotency_key)
    row.status = CallStatus.done if done else CallStatus.pending
    row.not_before, row.claim_token, row.updated_at = None, None, now
    if done:
        row.result = {**(row.result or {}), "marked_done_by_person": True}
    unflag_case(session, row.case_id, attention_marker(row.vendor, row.step))
    return row


def next_key(key: str) -> str:
    """`k` -> `k.r2` -> `k.r3`: the key of a call made again after a person released it."""
    base, sep, n = key.rpartition(".r")
    if sep and n.isdigit():
        return f"{base}.r{int(n) + 1}"
    return f"{key}.r2"


def calls(
    session: Session, case_id: str | None = None, status: str | None = None
) -> list[VendorCallRow]:
    q = select(VendorCallRow).order_by(VendorCallRow.id)
    if case_id:
        q = q.where(VendorCallRow.case_id == case_id)
    if status:
        q = q.where(VendorCallRow.status == status)
    return list(session.scalars(q))


def _set(
    session: Session, row: VendorCallRow, expected: str, token: str | None, **values: object
) -> bool:
    """Compare-and-set on (status, claim token): true when this caller changed the row."""
    q = update(VendorCallRow).where(
        VendorCallRow.id == row.id, VendorCallRow.status == str(expected)
    )
    q = q.where(
        VendorCallRow.claim_token.is_(None) if token is None else VendorCallRow.claim_token == token
    )
    changed = session.execute(q.values(**values).execution_options(synchronize_session=False))
    session.expire(row)
    return changed.rowcount == 1


def _attempt(
    session: Session,
    call_id: int,
    outcome: str,
    status: int | None,
    detail: str,
    wait: float = 0.0,
    *,
    now: datetime,
) -> None:
    session.add(VendorCallAttemptRow(call_id=call_id, at=now, outcome=outcome, status=status,
                                     detail=detail[:2000], wait_seconds=wait))  # fmt: skip
