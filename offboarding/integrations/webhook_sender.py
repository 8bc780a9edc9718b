"""One signed POST of one event to one endpoint (httpx); the answer, never an exception.

The outbox (`webhook_events`) decides what to send and when; this only sends and says what
happened, so the caller records it in the delivery's log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from offboarding.integrations.errors import parse_retry_after
from offboarding.integrations.webhook_signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Endpoint,
    sign,
)

TIMEOUT = 10.0
USER_AGENT = "offboarding-webhooks/1"


@dataclass(frozen=True)
class Sent:
    status_code: int | None  # None: no answer (timeout, refused connection)
    detail: str
    retry_after: float | None = None


def post(endpoint: Endpoint, event_id: str, body: bytes, timeout: float = TIMEOUT) -> Sent:
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(endpoint.secret, ts, body),
    }
    try:
        r = httpx.post(endpoint.url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        return Sent(None, f"timed out after {timeout:.0f}s ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Sent(None, f"no answer: {type(exc).__name__}: {exc}"[:500])
    retry_after = (
        parse_retry_after(r.headers.get("Retry-After"), 60.0) if r.status_code == 429 else None
    )
    return Sent(r.status_code, r.text[:500], retry_after)


def check(endpoints: list[Endpoint]) -> str:
    """Read-only: what is configured (no request is sent: a POST would be an event)."""
    if not endpoints:
        return "webhooks: off (set OFFBOARDING_WEBHOOKS or OFFBOARDING_WEBHOOKS_FILE)"
    names = ", ".join(f"{e.name} ({'all' if not e.events else ','.join(e.events)})"
                      for e in endpoints)  # fmt: skip
    return f"webhooks: {len(endpoints)} endpoint(s): {names}"
