"""Small builders of one account's product data around a fixed scan day (a Monday)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from offboarding.early_warning.rules import (
    Champion,
    HealthScore,
    Login,
    ProductFacts,
    Ticket,
    UsageEvent,
)

DAY = date(2026, 12, 7)
END = datetime(2026, 12, 7, tzinfo=UTC)


def at(days_before: int, hour: int = 12) -> datetime:
    """`hour` o'clock on the day `days_before` days before the scan's day (1 is yesterday)."""
    return END - timedelta(days=days_before) + timedelta(hours=hour)


def weekly_usage(counts: list[int], feature: str = "reports") -> list[UsageEvent]:
    """`counts[k]` events in week k before the scan (0 is last week), spread over its days."""
    out = []
    for week, n in enumerate(counts):
        for i in range(n):
            offset = timedelta(days=7 * week, minutes=7 + (i * 97) % 9000)
            out.append(UsageEvent(END - offset, feature))
    return out


def facts(account_id: str = "A1", **tables) -> ProductFacts:
    return ProductFacts(account_id, **{k: tuple(v) for k, v in tables.items()})


__all__ = [
    "DAY",
    "END",
    "Champion",
    "HealthScore",
    "Login",
    "Ticket",
    "UsageEvent",
    "at",
    "facts",
    "weekly_usage",
]
