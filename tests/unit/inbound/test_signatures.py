"""Inbound callers prove themselves: SendGrid Inbound Parse with its URL's basic auth (or
its signed parse, ECDSA), a helpdesk with Zendesk's HMAC over timestamp + body."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from offboarding.inbound.sendgrid_signed import check_signed_parse
from offboarding.inbound.signatures import (
    InboundRefused,
    check_basic_auth,
    check_zendesk,
    zendesk_signature,
)

NOW = 1_790_000_000.0


def basic(user_pass: str) -> str:
    return "Basic " + base64.b64encode(user_pass.encode()).decode()


def test_basic_auth() -> None:
    check_basic_auth("parse:s3cret", basic("parse:s3cret"))
    for header, why in [
        (None, "missing"),
        ("Bearer x", "missing"),
        ("Basic !!!", "malformed"),
        (basic("parse:guess"), "wrong"),
        (basic("parse:s3cret:"), "wrong"),
    ]:
        with pytest.raises(InboundRefused, match=why):
            check_basic_auth("parse:s3cret", header)
    with pytest.raises(InboundRefused, match="configured"):
        check_basic_auth("", basic(":"))


def test_zendesk_signature() -> None:
    body = b'{"ticket": {"id": "1"}}'
    ts = "2026-09-21T12:00:00Z"
    now = 1_790_000_000 - (1_790_000_000 % 60)
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    sig = zendesk_signature("zd-secret", ts, body)
    check_zendesk("zd-secret", ts, sig, body, now)
    check_zendesk("zd-secret", str(now), zendesk_signature("zd-secret", str(now), body), body, now)
    cases = [
        ("zd-secret", ts, zendesk_signature("other", ts, body), body, now, "does not match"),
        ("zd-secret", ts, sig, body + b" ", now, "does not match"),
        ("zd-secret", ts, sig, body, now + 301, "tolerance"),
        ("zd-secret", None, sig, body, now, "missing"),
        ("zd-secret", "yesterday", sig, body, now, "not a time"),
        (None, ts, sig, body, now, "no secret"),
    ]
    for secret, t, s, b, n, why in cases:
        with pytest.raises(InboundRefused, match=why):
            check_zendesk(secret, t, s, b, n)


def _keypair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, base64.b64encode(der).decode()


def test_sendgrid_signed_parse() -> None:
    key, public = _keypair()
    ts = str(int(NOW))
    for body in (b"--b\r\ncontent text\r\n", b"--b\r\n\xff\xfe binary part\r\n"):
        sig = base64.b64encode(key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
        check_signed_parse(public, ts, sig, body, NOW)
        with pytest.raises(InboundRefused, match="does not match"):
            check_signed_parse(public, ts, sig, body + b"x", NOW)
        with pytest.raises(InboundRefused, match="tolerance"):
            check_signed_parse(public, ts, sig, body, NOW + 600)
    other, other_public = _keypair()
    sig = base64.b64encode(other.sign(ts.encode() + b"x", ec.ECDSA(hashes.SHA256()))).decode()
    with pytest.raises(InboundRefused, match="does not match"):
        check_signed_parse(public, ts, sig, b"x", NOW)
    with pytest.raises(InboundRefused, match="missing"):
        check_signed_parse(public, None, sig, b"x", NOW)
    with pytest.raises(InboundRefused, match="configured"):
        check_signed_parse("", ts, sig, b"x", NOW)
