"""Signed inbound calls (the Stripe and Slack convention): an HMAC-SHA256 over a timestamp,
the method, the path and the body, with a secret per channel. A call is taken only with a
fresh timestamp (5 minutes either way) and a matching signature, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

from offboarding.trust.proofs import ProofError

TOLERANCE_SECONDS = 300
SCHEME = "v1"


def signed_payload(timestamp: str, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}.{method.upper()} {path}\n".encode() + body


def sign_request(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The `X-Offboarding-Signature` header value for this request."""
    mac = hmac.new(secret.encode(), signed_payload(timestamp, method, path, body), hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def check_request(
    secret: str | None,
    timestamp: str | None,
    signature: str | None,
    method: str,
    path: str,
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Nothing when the request is authentic and fresh; ProofError says why not."""
    if not secret:
        raise ProofError("unknown channel: no secret is configured for it")
    if not timestamp or not signature:
        raise ProofError("missing X-Offboarding-Timestamp or X-Offboarding-Signature")
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise ProofError("X-Offboarding-Timestamp is not a Unix time") from exc
    if abs(now - ts) > tolerance:
        raise ProofError(f"timestamp outside the {tolerance:.0f} s tolerance")
    expected = sign_request(secret, timestamp, method, path, body)
    given = [s.strip() for s in signature.split(",")]  # several during a secret rotation
    if not any(hmac.compare_digest(g, expected) for g in given):
        raise ProofError("signature does not match")
