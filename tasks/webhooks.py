"""Deliver what the webhook outbox holds: fan out new events, send every due delivery once.

Called by the scheduled `webhook-delivery` flow (every minute by default) and right after a
lifecycle change where a task makes one (`deliver_soon`, best effort: whatever it does not
send, the next scheduled run does). At-least-once: a try whose outcome was not recorded (a
worker lost mid-POST) is sent again after its lease, with the same event id.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from prefect import task

from offboarding.integrations import webhook_events as outbox
from offboarding.integrations.webhook_sender import TIMEOUT, post
from offboarding.storage.db import utcnow
from tasks.common import RETRYING, db


def deliver_pending(
    now: datetime | None = None, limit: int = 200, timeout: float = TIMEOUT
) -> dict[str, Any]:
    """One pass: {"fanned_out": n, "sent": n, "delivered": n, "retrying": n, "failed": n}."""
    targets = outbox.endpoints()
    counts = {"fanned_out": 0, "sent": 0, "delivered": 0, "pending": 0, "failed": 0}
    if not targets:
        return counts
    by_name = {e.name: e for e in targets}
    with db() as s:
        counts["fanned_out"] = outbox.fan_out(s, targets, now=now)
    while counts["sent"] < limit:
        with db() as s:
            claimed = outbox.claim_due(s, list(by_name), now=now or utcnow(),
                                       limit=min(50, limit - counts["sent"]))  # fmt: skip
        if not claimed:
            break
        for c in claimed:
            sent = post(by_name[c.endpoint], c.event_id, c.body, timeout=timeout)
            with db() as s:
                status = outbox.record_try(s, c, sent.status_code, sent.detail,
                                           sent.retry_after, now=now)  # fmt: skip
            counts["sent"] += 1
            if status in counts:
                counts[status] += 1
    return counts


@task(name="deliver-webhooks", **RETRYING)
def deliver_webhooks() -> dict[str, Any]:
    return deliver_pending()


def deliver_soon() -> None:
    """Right after a commit that recorded events: try them now; never fails the caller."""
    with contextlib.suppress(Exception):  # the scheduled flow delivers what this could not
        deliver_pending(limit=20)


#: How long a sent event's delivery log is kept for `offboard webhooks` to show and redeliver.
KEEP_SENT_DAYS = 30


@task(name="prune-webhook-events", **RETRYING)
def prune_webhook_events(now: datetime | None = None) -> int:
    """The daily sweep's share: events nothing will send again go (all of them when no
    endpoint is configured, since nothing ever will); sent ones after `KEEP_SENT_DAYS`."""
    sending = bool(outbox.endpoints())
    before = (now or utcnow()) - timedelta(days=KEEP_SENT_DAYS) if sending else None
    with db() as s:
        return outbox.prune_settled(s, sending, before=before)
