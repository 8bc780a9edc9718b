"""§1 acknowledgement target: 24 hours, counted in the business hours of the account's time zone.

A request that arrives outside business hours (evenings, weekends) starts its clock at the
next opening; a deadline that would fall outside business hours moves to the next opening,
when someone can actually act. So a Monday 10:00 request is due Tuesday 10:00, a Friday
15:00 request is due Monday 09:00, and a Saturday request Tuesday 09:00. Public holidays
are not modelled. Pure functions over plain values: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from offboarding.comms.locale_format import zone

BUSINESS_OPEN = time(9, 0)
BUSINESS_CLOSE = time(18, 0)
BUSINESS_DAYS = frozenset({0, 1, 2, 3, 4})  # Monday..Friday
OVERDUE_MARKER = "acknowledgement overdue"


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def next_business_moment(local: datetime) -> datetime:
    """`local` itself when inside business hours, else the next opening (same zone)."""
    day = local
    if day.weekday() in BUSINESS_DAYS and BUSINESS_OPEN <= day.time() < BUSINESS_CLOSE:
        return day
    if day.weekday() in BUSINESS_DAYS and day.time() < BUSINESS_OPEN:
        return day.replace(
            hour=BUSINESS_OPEN.hour, minute=BUSINESS_OPEN.minute, second=0, microsecond=0
        )
    day = (day + timedelta(days=1)).replace(
        hour=BUSINESS_OPEN.hour, minute=BUSINESS_OPEN.minute, second=0, microsecond=0
    )
    while day.weekday() not in BUSINESS_DAYS:
        day += timedelta(days=1)
    return day


def acknowledgement_due(
    requested_at: datetime, tz: str | None, target_hours: float = 24
) -> datetime:
    """When the acknowledgement is due, in UTC."""
    local = _aware(requested_at).astimezone(zone(tz))
    due = next_business_moment(next_business_moment(local) + timedelta(hours=target_hours))
    return due.astimezone(UTC)


@dataclass(frozen=True)
class AckStatus:
    due_at: datetime
    acknowledged_at: datetime | None
    hours: float | None  # request -> acknowledgement, wall-clock hours
    met: bool | None  # None while not yet acknowledged
    overdue: bool  # not acknowledged and past due

    def to_dict(self) -> dict:
        return {
            "due_at": self.due_at.isoformat(),
            "acknowledged_at": self.acknowledged_at and self.acknowledged_at.isoformat(),
            "hours": self.hours,
            "met": self.met,
            "overdue": self.overdue,
        }


def ack_status(
    requested_at: datetime,
    acknowledged_at: datetime | None,
    tz: str | None,
    target_hours: float = 24,
    now: datetime | None = None,
) -> AckStatus:
    requested = _aware(requested_at)
    due = acknowledgement_due(requested, tz, target_hours)
    if acknowledged_at is None:
        now = _aware(now or datetime.now(UTC))
        return AckStatus(due, None, None, None, now > due)
    acked = _aware(acknowledged_at)
    hours = round((acked - requested).total_seconds() / 3600, 3)
    return AckStatus(due, acked, hours, acked <= due, False)
