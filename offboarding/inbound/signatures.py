"""Who may post to the inbound endpoints: SendGrid Inbound Parse with the basic-auth
credentials of its URL (as SendGrid documents: `https://user:pass@host/inbound/sendgrid`), and
a helpdesk with Zendesk's webhook signature: base64(HMAC-SHA256(secret, timestamp + body)) in
`X-Zendesk-Webhook-Signature`, the timestamp in `X-Zendesk-Webhook-Signature-Timestamp`,
accepted within 5 minutes. Constant-time comparisons; pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime

TOLERANCE_SECONDS = 300


class InboundRefused(Exception):
    """The call did not prove it came from the configured sender: 401, nothing written."""


def check_basic_auth(secret: str, authorization: str | None) -> None:
    """`secret` is "user:password"; the header must be `Basic base64(user:password)`."""
    if not secret or ":" not in secret:
        raise InboundRefused("no Inbound Parse credentials are configured")
    if not authorization or not authorization[:6].lower() == "basic ":
        raise InboundRefused("missing basic-auth credentials")
    try:
        given = base64.b64decode(authorization[6:].strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InboundRefused("malformed basic-auth credentials") from exc
    if not hmac.compare_digest(hashlib.sha256(given).digest(),
                               hashlib.sha256(secret.encode()).digest()):  # fmt: skip
        raise InboundRefused("wrong basic-auth credentials")


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def parse_timestamp(value: str) -> float:
    """Zendesk sends ISO 8601 (`2026-05-17T17:04:56Z`); Unix seconds are taken too."""
    value = value.strip()
    try:
        return float(int(value))
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InboundRefused("the signature timestamp is not a time") from exc
    if t.tzinfo is None:
        raise InboundRefused("the signature timestamp has no time zone")
    return t.timestamp()


def check_zendesk(
    secret: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Nothing when the webhook is authentic and fresh; InboundRefused says why not."""
    if not secret:
        raise InboundRefused("unknown helpdesk source: no secret is configured for it")
    if not timestamp or not signature:
        raise InboundRefused(
            "missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp"
        )
    if abs(now - parse_timestamp(timestamp)) > tolerance:
        raise InboundRefused(f"timestamp outside the {tolerance:.0f} s tolerance")
    expected = zendesk_signature(secret, timestamp, body)
    if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
        raise InboundRefused("signature does not match")
