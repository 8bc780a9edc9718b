"""Outbound webhook deliveries for the CLI: what was sent where, and sending one again."""

from __future__ import annotations

from typing import Any

from offboard.service.database import store_session
from offboarding.cases.store import OffboardingError, audit
from offboarding.integrations import webhook_events as outbox
from offboarding.storage.db import as_utc


def _iso(dt: Any) -> str | None:
    return as_utc(dt).isoformat() if dt is not None else None


def list_deliveries(
    status: str | None = None, endpoint: str | None = None, case_id: str | None = None
) -> list[dict[str, Any]]:
    with store_session() as s:
        return [
            {
                "delivery_id": d.id,
                "event_id": e.event_id,
                "type": e.type,
                "case_id": e.case_id,
                "endpoint": d.endpoint,
                "status": d.status,
                "attempts": d.attempts,
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "next_try_at": _iso(d.next_try_at) if d.status == "pending" else None,
                "delivered_at": _iso(d.delivered_at),
                "log": d.log,
            }
            for d, e in outbox.deliveries(s, status, endpoint, case_id)
        ]


def redeliver(delivery_id: int, by: str = "cli") -> dict[str, Any]:
    """Queue one delivery again (same event id); the next delivery pass sends it."""
    try:
        with store_session() as s:
            row = outbox.redeliver(s, delivery_id, by)
            audit(s, None, by, "webhook_redeliver", f"delivery {delivery_id}",
                  data={"event_id": row.event_id, "endpoint": row.endpoint})  # fmt: skip
            return {"delivery_id": row.id, "event_id": row.event_id, "status": row.status}
    except (LookupError, ValueError) as exc:
        raise OffboardingError(str(exc)) from exc
