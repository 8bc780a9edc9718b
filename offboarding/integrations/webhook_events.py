"""Outbound webhooks in our database (store role): the outbox of events and their deliveries.

An event is a row of `webhook_events` added to the session of the change it reports
(`record_event`, or `WebhookEventRow.new` where the cases layer changes a status), so it
commits or rolls back with that change: no event without its change, no change without its
event, whatever happens to the worker afterwards. Delivery is separate and at-least-once:

    event --fan_out--> one delivery per endpoint that wants the type: pending
    pending --claim--> delivering --2xx--> delivered
                          |  \\--5xx/408/429/no answer--> pending (next_try_at: backoff or
                          |                                Retry-After) ... failed at the cap
                          |   \\--other 4xx---------------> failed ("refused", no retry)
                          \\--lease ran out (worker lost)-> claimed again, sent again

Sending again is safe because every try carries the same event id; receivers dedupe by it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from offboarding.integrations.settings import integration_settings
from offboarding.integrations.webhook_signing import (
    MAX_ATTEMPTS,
    Endpoint,
    body_of,
    outcome_of,
    parse_endpoints,
    retry_in,
)
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models.integrations import WebhookDeliveryRow, WebhookEventRow

#: A delivery claimed longer ago than this lost its worker: it is claimed (and sent) again.
LEASE_SECONDS = 60.0

CASE_OPENED = "case.opened"
CASE_VERIFIED = "case.verified"
CASE_APPROVED = "case.approved"
PATTERN_FOUND = "feedback.pattern_found"
#: every status change is `case.<new status>`: case.saved, case.offboarding, case.closed ...


def record_event(
    session: Session, event_type: str, data: dict[str, Any], case_id: str | None = None
) -> str:
    """Add one event to the caller's transaction; its id is stable for every delivery."""
    row = WebhookEventRow.new(event_type, data, case_id)
    session.add(row)
    return row.event_id


def endpoints() -> list[Endpoint]:
    """The configured endpoints: `OFFBOARDING_WEBHOOKS` (JSON) or `OFFBOARDING_WEBHOOKS_FILE`."""
    s = integration_settings()
    text = s.webhooks or (Path(s.webhooks_file).read_text() if s.webhooks_file else "")
    return parse_endpoints(text)


def fan_out(
    session: Session, targets: list[Endpoint], now: datetime | None = None, limit: int = 500
) -> int:
    """Deliveries for events not yet fanned out (one per endpoint that wants the type)."""
    now = now or utcnow()
    events = session.scalars(
        select(WebhookEventRow)
        .where(WebhookEventRow.fanned_out_at.is_(None))
        .order_by(WebhookEventRow.created_at)
        .limit(limit)
    ).all()
    made = 0
    for ev in events:
        have = set(session.scalars(
            select(WebhookDeliveryRow.endpoint).where(WebhookDeliveryRow.event_id == ev.event_id)
        ))  # fmt: skip
        for ep in targets:
            if ep.wants(ev.type) and ep.name not in have:
                session.add(WebhookDeliveryRow(
                    event_id=ev.event_id, endpoint=ep.name, status="pending", attempts=0,
                    next_try_at=now, log=[], created_at=now, updated_at=now))  # fmt: skip
                made += 1
        ev.fanned_out_at = now
    return made


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    token: str
    endpoint: str
    event_id: str
    body: bytes
    attempts: int


def claim_due(
    session: Session, names: list[str], now: datetime | None = None, limit: int = 50
) -> list[Claimed]:
    """Take the deliveries to these endpoints due now (pending and due, or delivering with a
    lapsed lease); each claim is a compare-and-set, so two dispatchers never send one try."""
    now = now or utcnow()
    lapsed = now - timedelta(seconds=LEASE_SECONDS)
    rows = session.scalars(
        select(WebhookDeliveryRow)
        .where(
            or_(
                (WebhookDeliveryRow.status == "pending") & (WebhookDeliveryRow.next_try_at <= now),
                (WebhookDeliveryRow.status == "delivering")
                & (WebhookDeliveryRow.claimed_at < lapsed),
            )
        )  # fmt: skip
        .where(WebhookDeliveryRow.endpoint.in_(names))
        .order_by(WebhookDeliveryRow.next_try_at, WebhookDeliveryRow.id)
        .limit(limit)
    ).all()
    out = []
    for row in rows:
        token = uuid.uuid4().hex
        q = update(WebhookDeliveryRow).where(
            WebhookDeliveryRow.id == row.id,
            WebhookDeliveryRow.status == row.status,
            WebhookDeliveryRow.claim_token.is_(None)
            if row.claim_token is None
            else WebhookDeliveryRow.claim_token == row.claim_token,
        )
        done = session.execute(
            q.values(
                status="delivering", claim_token=token, claimed_at=now, updated_at=now
            ).execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            continue
        ev = session.get(WebhookEventRow, row.event_id)
        body = body_of(ev.event_id, ev.type, as_utc(ev.created_at).isoformat(), ev.data)
        out.append(Claimed(row.id, token, row.endpoint, ev.event_id, body, row.attempts))
    return out


def record_try(
    session: Session,
    c: Claimed,
    status_code: int | None,
    detail: str,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> str:
    """What one try did: delivered, pending again (with its next try) or failed."""
    now = now or utcnow()
    row = session.get(WebhookDeliveryRow, c.delivery_id)
    if row is None or row.claim_token != c.token:
        return "lost_claim"  # another dispatcher took it over after our lease ran out
    attempts = row.attempts + 1
    outcome = outcome_of(status_code)
    wait = retry_in(attempts, retry_after) if outcome == "retry" else None
    entry = {"at": now.isoformat(), "attempt": attempts, "status_code": status_code,
             "detail": detail[:500]}  # fmt: skip
    if outcome == "delivered":
        row.status, row.delivered_at, row.last_error = "delivered", now, None
        entry["outcome"] = "delivered"
    elif outcome == "refused":
        row.status = "failed"
        row.last_error = (f"refused by the endpoint ({status_code}): not retried; "
                          f"`offboard webhooks redeliver {row.id}` sends it again")  # fmt: skip
        entry["outcome"] = "refused, not retried"
    elif wait is None:
        row.status = "failed"
        row.last_error = f"gave up after {attempts} tries (last: {status_code or detail[:200]})"
        entry["outcome"] = "gave up"
    else:
        row.status, row.next_try_at = "pending", now + timedelta(seconds=wait)
        row.last_error = f"{status_code or 'no answer'}: {detail[:300]}; next try in {wait:.0f}s"
        entry["outcome"] = f"retry in {wait:.0f}s"
    row.attempts, row.last_status_code = attempts, status_code
    row.claim_token, row.updated_at = None, now
    row.log = [*(row.log or []), entry]
    return row.status


def deliveries(
    session: Session,
    status: str | None = None,
    endpoint: str | None = None,
    case_id: str | None = None,
    limit: int = 200,
) -> list[tuple[WebhookDeliveryRow, WebhookEventRow]]:
    q = (
        select(WebhookDeliveryRow, WebhookEventRow)
        .join(WebhookEventRow, WebhookEventRow.event_id == WebhookDeliveryRow.event_id)
        .order_by(WebhookDeliveryRow.id.desc())
        .limit(limit)
    )
    if status:
        q = q.where(WebhookDeliveryRow.status == status)
    if endpoint:
        q = q.where(WebhookDeliveryRow.endpoint == endpoint)
    if case_id:
        q = q.where(WebhookEventRow.case_id == case_id)
    return [(d, e) for d, e in session.execute(q).all()]


def redeliver(session: Session, delivery_id: int, by: str) -> WebhookDeliveryRow:
    """A person's decision: send this delivery again now (same event id), attempts reset."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        raise LookupError(f"no webhook delivery {delivery_id}")
    if row.status == "delivering":
        raise ValueError(f"webhook delivery {delivery_id} is being sent right now")
    now = utcnow()
    row.log = [*(row.log or []), {"at": now.isoformat(), "attempt": row.attempts,
                                  "status_code": None, "outcome": f"redeliver asked by {by}",
                                  "detail": ""}]  # fmt: skip
    row.status, row.next_try_at, row.attempts, row.claim_token = "pending", now, 0, None
    row.updated_at = now
    return row


def prune_settled(
    session: Session,
    sending: bool,
    case_id: str | None = None,
    before: datetime | None = None,
) -> int:
    """Drop events that will never be sent (again), with their delivery logs: with endpoints
    configured (`sending`), those fanned out whose every delivery is delivered or failed;
    with none, every event (nothing will ever send it). A delivery still under way keeps its
    event; `before` keeps newer events (their log stays for `offboard webhooks` to show and
    redeliver). The purge drops a case's, the daily sweep everyone's. Returns how many."""
    q = select(WebhookEventRow.event_id)
    if case_id is not None:
        q = q.where(WebhookEventRow.case_id == case_id)
    if sending:
        q = q.where(WebhookEventRow.fanned_out_at.is_not(None))
    if before is not None:
        q = q.where(WebhookEventRow.created_at < before)
    busy = select(WebhookDeliveryRow.event_id).where(
        WebhookDeliveryRow.status.in_(("pending", "delivering"))
    )
    ids = list(session.scalars(q.where(WebhookEventRow.event_id.not_in(busy))))
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        session.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.event_id.in_(chunk)))
        session.execute(delete(WebhookEventRow).where(WebhookEventRow.event_id.in_(chunk)))
    return len(ids)


__all__ = ["MAX_ATTEMPTS", "record_event", "fan_out", "claim_due", "record_try", "deliveries",
           "redeliver", "endpoints", "prune_settled"]  # fmt: skip
