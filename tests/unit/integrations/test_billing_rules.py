"""Stripe billing rules: minor units per currency, the end of the closure day, the refund route."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from offboarding.integrations.billing_rules import (
    RefundRoute,
    cancel_at,
    cancel_at_refusal,
    from_minor_units,
    minor_units,
    refund_route,
    search_query,
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("800.00", "USD", 80000),
        ("800", "usd", 80000),
        ("0.01", "EUR", 1),
        ("12.345", "GBP", 1235),  # half up
        ("12.344", "GBP", 1234),
        ("0", "USD", 0),
        ("0.00", "MYR", 0),
        ("5000", "JPY", 5000),  # zero-decimal: no cents
        ("5000.00", "jpy", 5000),
        ("4999.50", "JPY", 5000),
        ("4999.49", "JPY", 4999),
        ("120000", "KRW", 120000),
        ("99.5", "VND", 100),
        ("12.345", "KWD", 12350),  # three-decimal: thousandths ending in 0
        ("12.344", "BHD", 12340),
        ("1500.40", "ISK", 150000),  # two-decimal on the wire, whole krónur only
        (Decimal("266.67"), "USD", 26667),
        (266.67, "USD", 26667),  # a float goes through its shortest repr, not binary noise
    ],
)
def test_minor_units(amount: object, currency: str, expected: int) -> None:
    assert minor_units(amount, currency) == expected


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        minor_units("-1.00", "USD")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (80000, "USD", Decimal("800")),
        (5000, "JPY", Decimal(5000)),
        (12350, "KWD", Decimal("12.35")),
    ],
)
def test_from_minor_units(amount: int, currency: str, expected: Decimal) -> None:
    assert from_minor_units(amount, currency) == expected


@pytest.mark.parametrize(
    ("closure_on", "timezone", "expected_utc"),
    [
        (date(2026, 6, 15), "UTC", datetime(2026, 6, 15, 23, 59, 59, tzinfo=UTC)),
        # Chicago in summer is UTC-5: local 23:59:59 is 04:59:59 UTC the next day
        (date(2026, 6, 15), "America/Chicago", datetime(2026, 6, 16, 4, 59, 59, tzinfo=UTC)),
        # and UTC-6 in winter
        (date(2026, 12, 15), "America/Chicago", datetime(2026, 12, 16, 5, 59, 59, tzinfo=UTC)),
        # Tokyo is ahead: the day ends at 14:59:59 UTC the same date
        (date(2026, 6, 15), "Asia/Tokyo", datetime(2026, 6, 15, 14, 59, 59, tzinfo=UTC)),
        (date(2026, 3, 8), "America/New_York", datetime(2026, 3, 9, 3, 59, 59, tzinfo=UTC)),
        # the day clocks go forward in Berlin (23 hours): still its last second
        (date(2026, 3, 29), "Europe/Berlin", datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC)),
        (date(2026, 10, 25), "Europe/London", datetime(2026, 10, 25, 23, 59, 59, tzinfo=UTC)),
        (date(2026, 12, 31), "Asia/Kuala_Lumpur", datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)),
    ],
)
def test_cancel_at_is_the_last_second_of_the_closure_day(
    closure_on: date, timezone: str, expected_utc: datetime
) -> None:
    assert cancel_at(closure_on, timezone) == int(expected_utc.timestamp())


def test_a_cancel_at_not_in_the_future_is_refused() -> None:
    ts = cancel_at(date(2026, 6, 15), "UTC")
    before = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    assert cancel_at_refusal(ts, before) is None
    assert "not cancelling early" in cancel_at_refusal(ts, datetime(2026, 6, 16, tzinfo=UTC))
    assert cancel_at_refusal(ts, datetime.fromtimestamp(ts, UTC)) is not None


@pytest.mark.parametrize(
    ("status", "route"),
    [
        ("paid", RefundRoute.refund),
        ("open", RefundRoute.credit_note),
        ("draft", None),
        ("void", None),
        ("uncollectible", None),
        (None, None),
    ],
)
def test_refund_route(status: str | None, route: RefundRoute | None) -> None:
    assert refund_route(status) == route


@pytest.mark.parametrize(
    ("account_id", "query"),
    [
        ("ACME-SMB", "metadata['account_id']:'ACME-SMB' AND status:'active'"),
        ("O'Hara", "metadata['account_id']:'O\\'Hara' AND status:'active'"),
    ],
)
def test_search_query(account_id: str, query: str) -> None:
    assert search_query(account_id) == query
