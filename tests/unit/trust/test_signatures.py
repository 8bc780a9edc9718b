"""Signed inbound calls: fresh, matching, constant-time; every way to get it wrong refused."""

from __future__ import annotations

import pytest

from offboarding.trust.proofs import ProofError
from offboarding.trust.signatures import check_request, sign_request

NOW = 1_800_000_000
BODY = b'{"account_id": "A"}'


def sig(secret: str = "s3cret", ts: int = NOW, method: str = "POST", body: bytes = BODY) -> str:
    return sign_request(secret, str(ts), method, "/v1/cancellations", body)


def test_a_fresh_matching_signature_passes() -> None:
    check_request("s3cret", str(NOW), sig(), "POST", "/v1/cancellations", BODY, NOW + 10)
    rotated = f"v1=deadbeef, {sig()}"  # during a rotation the sender signs with both secrets
    check_request("s3cret", str(NOW), rotated, "POST", "/v1/cancellations", BODY, NOW)


@pytest.mark.parametrize(
    ("secret", "ts", "signature", "body", "now", "why"),
    [
        (None, str(NOW), sig(), BODY, NOW, "unknown channel"),
        ("s3cret", None, sig(), BODY, NOW, "missing"),
        ("s3cret", str(NOW), None, BODY, NOW, "missing"),
        ("s3cret", "yesterday", sig(), BODY, NOW, "not a Unix time"),
        ("s3cret", str(NOW), sig(), BODY, NOW + 301, "tolerance"),
        ("s3cret", str(NOW), sig(), BODY, NOW - 301, "tolerance"),
        ("s3cret", str(NOW), sig("other"), BODY, NOW, "does not match"),
        ("s3cret", str(NOW), sig(), BODY + b" ", NOW, "does not match"),
        ("s3cret", str(NOW), sig(method="GET"), BODY, NOW, "does not match"),
        ("s3cret", str(NOW + 1), sig(), BODY, NOW, "does not match"),
    ],
)
def test_refused(secret, ts, signature, body, now, why) -> None:  # noqa: ANN001
    with pytest.raises(ProofError, match=why):
        check_request(secret, ts, signature, "POST", "/v1/cancellations", body, now)
