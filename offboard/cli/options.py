"""Options every command shares, and the dates and times people type into them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer

from offboarding.cases.store import OffboardingError

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


def parse_date(value: str | None, option: str) -> date | None:
    """YYYY-MM-DD, or None when the option was not given."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OffboardingError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise), or None when not given."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise OffboardingError(f"{option} {value!r} is not an ISO date/time: {exc}") from exc
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t
