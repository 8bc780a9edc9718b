"""Outbound webhook rules (pure): the signature, the endpoints' settings, the retry schedule.

Signature (Stripe-like): each POST carries

    X-Offboarding-Webhook-Id: evt_...            (stable per event: receivers dedupe by it)
    X-Offboarding-Webhook-Timestamp: 1718000000  (unix seconds, when this try was signed)
    X-Offboarding-Webhook-Signature: t=1718000000,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with the
endpoint's secret, compares in constant time, and refuses a timestamp older than its
tolerance (5 minutes by default) so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

SIGNATURE_HEADER = "X-Offboarding-Webhook-Signature"
TIMESTAMP_HEADER = "X-Offboarding-Webhook-Timestamp"
EVENT_ID_HEADER = "X-Offboarding-Webhook-Id"
TOLERANCE_SECONDS = 300
#: Waits after the 1st, 2nd ... failed try; then `MAX_ATTEMPTS` ends it as failed.
BACKOFF_SECONDS = (10, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match."""


@dataclass(frozen=True)
class Endpoint:
    """A receiver: `events` filters by type ("case.closed", "case.*"; empty: every event)."""

    name: str
    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...] = ()

    def wants(self, event_type: str) -> bool:
        return not self.events or any(
            p == "*" or p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1]))
            for p in self.events
        )


def parse_endpoints(text: str) -> list[Endpoint]:
    """Endpoints from the settings' JSON list of {"name", "url", "secret", "events"}."""
    if not text.strip():
        return []
    raw = json.loads(text)
    if not isinstance(raw, list):
        raise ValueError("webhooks: expected a JSON list of endpoints")
    out, seen = [], set()
    for i, e in enumerate(raw):
        if not isinstance(e, dict) or not e.get("name") or not e.get("url") or not e.get("secret"):
            raise ValueError(f"webhooks[{i}]: name, url and secret are required")
        if not str(e["url"]).startswith(("http://", "https://")):
            raise ValueError(f"webhooks[{i}] ({e['name']}): url must be http(s)")
        if e["name"] in seen:
            raise ValueError(f"webhooks: endpoint name {e['name']!r} is used twice")
        seen.add(e["name"])
        events = e.get("events") or []
        out.append(Endpoint(str(e["name"])[:64], str(e["url"]), str(e["secret"]),
                            tuple(str(x) for x in events)))  # fmt: skip
    return out


def body_of(event_id: str, event_type: str, created: str, data: dict[str, Any]) -> bytes:
    """The JSON body every delivery of one event carries (stable bytes for a given event)."""
    doc = {"id": event_id, "type": event_type, "created": created, "data": data}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance: float = TOLERANCE_SECONDS
) -> int:
    """The signed timestamp when `header` is valid for `body`; SignatureError otherwise."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        k, _, v = item.strip().partition("=")
        parts.setdefault(k, []).append(v)
    try:
        ts = int(parts["t"][0])
    except (KeyError, ValueError) as exc:
        raise SignatureError("no timestamp in the signature header") from exc
    if abs(now - ts) > tolerance:
        raise SignatureError(f"timestamp {ts} is outside the {tolerance:.0f}s tolerance")
    expected = signature(secret, ts, body)
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise SignatureError("no v1 signature matches")
    return ts


def retry_in(attempts: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next try after `attempts` failed ones; None: give up (failed).
    A 429's Retry-After replaces the schedule's wait."""
    if attempts >= MAX_ATTEMPTS:
        return None
    wait = float(BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])
    return max(0.0, retry_after) if retry_after is not None else wait


def outcome_of(status: int | None) -> str:
    """delivered (2xx), retry (5xx, 408, 429, no answer) or refused (any other status)."""
    if status is None or status >= 500 or status in (408, 429):
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    return "refused"
