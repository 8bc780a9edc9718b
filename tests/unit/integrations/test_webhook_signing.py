"""The webhook signature, endpoint settings and retry schedule (pure)."""

from __future__ import annotations

import pytest

from offboarding.integrations.webhook_signing import (
    MAX_ATTEMPTS,
    Endpoint,
    SignatureError,
    body_of,
    outcome_of,
    parse_endpoints,
    retry_in,
    sign,
    verify,
)

BODY = body_of("evt_1", "case.closed", "2026-01-01T00:00:00+00:00", {"case_id": "C-1"})


def test_a_signature_verifies_and_returns_its_timestamp() -> None:
    header = sign("s3cret", 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret", header, BODY, now=1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize(
    ("secret", "body", "now", "why"),
    [
        ("other", BODY, 1_700_000_000, "no v1 signature matches"),
        ("s3cret", BODY + b" ", 1_700_000_000, "no v1 signature matches"),
        ("s3cret", BODY, 1_700_000_301, "outside"),
    ],
)
def test_a_wrong_secret_body_or_stale_timestamp_is_refused(secret, body, now, why) -> None:
    with pytest.raises(SignatureError, match=why):
        verify(secret, sign("s3cret", 1_700_000_000, BODY), body, now=now)


def test_a_header_without_timestamp_is_refused() -> None:
    with pytest.raises(SignatureError, match="no timestamp"):
        verify("s3cret", "v1=abc", BODY, now=0)


def test_the_body_is_stable_json_with_id_type_created_data() -> None:
    assert BODY == (
        b'{"created":"2026-01-01T00:00:00+00:00","data":{"case_id":"C-1"},'
        b'"id":"evt_1","type":"case.closed"}'
    )


def test_endpoint_filters() -> None:
    every = Endpoint("a", "http://x", "s")
    some = Endpoint("b", "http://x", "s", ("case.closed", "feedback.*"))
    assert every.wants("case.opened")
    assert some.wants("case.closed") and some.wants("feedback.pattern_found")
    assert not some.wants("case.opened")
    assert "secret" not in repr(Endpoint("c", "http://x", "hush-hush"))
    assert "hush-hush" not in repr(Endpoint("c", "http://x", "hush-hush"))


def test_endpoints_from_settings() -> None:
    eps = parse_endpoints(
        '[{"name": "crm", "url": "https://h/x", "secret": "k", "events": ["case.*"]}]'
    )
    assert eps == [Endpoint("crm", "https://h/x", "k", ("case.*",))]
    assert parse_endpoints("") == []
    with pytest.raises(ValueError, match="required"):
        parse_endpoints('[{"name": "crm", "url": "https://h/x"}]')
    with pytest.raises(ValueError, match="twice"):
        parse_endpoints('[{"name": "a", "url": "http://h", "secret": "k"},'
                        ' {"name": "a", "url": "http://h", "secret": "k"}]')  # fmt: skip


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (204, "delivered"), (500, "retry"), (503, "retry"), (408, "retry"),
     (429, "retry"), (None, "retry"), (400, "refused"), (410, "refused"), (301, "refused")],
)  # fmt: skip
def test_outcomes(status, outcome) -> None:
    assert outcome_of(status) == outcome


def test_the_retry_schedule_backs_off_honours_retry_after_and_ends() -> None:
    waits = [retry_in(n) for n in range(1, MAX_ATTEMPTS)]
    assert waits == sorted(waits) and waits[0] == 10
    assert retry_in(1, retry_after=2.0) == 2.0
    assert retry_in(MAX_ATTEMPTS) is None
