"""UTC timestamps and period windows. The measures never read the clock: `as_of` is always
passed in, and only the callers at the edge call `default_as_of`. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from offboarding.feedback.themes import CHURNED


def as_utc(x: datetime | date) -> pd.Timestamp:
    """A timestamp in UTC; a naive one is taken to be UTC already."""
    t = pd.Timestamp(x)
    return t.tz_localize(UTC) if t.tzinfo is None else t.tz_convert(UTC)


def in_period(col: pd.Series, since: datetime | None, as_of: datetime) -> pd.Series:
    """Known and within [since, as_of]; without `since`, everything up to `as_of`."""
    mask = col.notna() & (col <= as_utc(as_of))
    if since is not None:
        mask &= col >= as_utc(since)
    return mask


def churned_cases(cases: pd.DataFrame, since: datetime | None, as_of: datetime) -> pd.DataFrame:
    """Cases whose account was closed (purged ones were closed first), completed in the period."""
    return cases[cases["status"].isin(CHURNED) & in_period(cases["completed_at"], since, as_of)]


def quarter_start(as_of: datetime) -> pd.Timestamp:
    """Midnight UTC on the first day of the calendar quarter of `as_of` (the audit's window)."""
    now = as_utc(as_of)
    return pd.Timestamp(year=now.year, month=3 * ((now.month - 1) // 3) + 1, day=1, tz=UTC)


def default_as_of() -> datetime:
    """Only the callers at the edge read the clock; the measures never do."""
    return datetime.now(UTC)


def period_start(as_of: datetime, days: int | None) -> datetime | None:
    """The start of the last `days` days before `as_of`; None (all time) without `days`."""
    return None if not days else as_utc(as_of).to_pydatetime() - timedelta(days=days)
