"""SendGrid's signed Inbound Parse (a webhook security policy with signature verification):
an ECDSA P-256 signature over timestamp + body in `X-Twilio-Email-Event-Webhook-Signature`,
the timestamp in `X-Twilio-Email-Event-Webhook-Timestamp`, checked with the policy's public key
through the `sendgrid` package's own `EventWebhook` helper. An alternative to basic auth."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from offboarding.inbound.signatures import TOLERANCE_SECONDS, InboundRefused

SIGNATURE = EventWebhookHeader.SIGNATURE.lower()
TIMESTAMP = EventWebhookHeader.TIMESTAMP.lower()


def check_signed_parse(
    public_key: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Nothing when SendGrid signed this body recently; InboundRefused otherwise."""
    if not public_key:
        raise InboundRefused("no Inbound Parse verification key is configured")
    if not timestamp or not signature:
        raise InboundRefused("missing signature headers")
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise InboundRefused("the signature timestamp is not a Unix time") from exc
    if abs(now - ts) > tolerance:
        raise InboundRefused(f"timestamp outside the {tolerance:.0f} s tolerance")
    try:
        hook = EventWebhook(public_key.strip())
    except ValueError as exc:
        raise InboundRefused("the configured verification key is not a public key") from exc
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    try:
        if text is not None:  # the helper signs text; a binary attachment needs the bytes
            ok = hook.verify_signature(text, signature, timestamp)
        else:
            hook.public_key.verify(base64.b64decode(signature), timestamp.encode() + body,
                                   ec.ECDSA(hashes.SHA256()))  # fmt: skip
            ok = True
    except (InvalidSignature, binascii.Error, ValueError):
        ok = False
    if not ok:
        raise InboundRefused("signature does not match")
