"""§1 acknowledgement target: 24 h in the business hours of the account's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from offboarding.cases.acknowledgement import ack_status, acknowledgement_due, next_business_moment

TOKYO = ZoneInfo("Asia/Tokyo")
CHICAGO = ZoneInfo("America/Chicago")


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


# 2026-03-02 is a Monday.
@pytest.mark.parametrize(
    ("requested", "due", "why"),
    [
        (local(TOKYO, 2026, 3, 2, 10, 0), local(TOKYO, 2026, 3, 3, 10, 0), "inside hours: +24 h"),
        (local(TOKYO, 2026, 3, 2, 17, 30), local(TOKYO, 2026, 3, 3, 17, 30), "late in the day"),
        (local(TOKYO, 2026, 3, 2, 7, 0), local(TOKYO, 2026, 3, 3, 9, 0), "before opening"),
        (local(TOKYO, 2026, 3, 2, 20, 0), local(TOKYO, 2026, 3, 4, 9, 0), "after closing"),
        (local(TOKYO, 2026, 3, 6, 15, 0), local(TOKYO, 2026, 3, 9, 9, 0), "Friday: due Monday"),
        (local(TOKYO, 2026, 3, 7, 12, 0), local(TOKYO, 2026, 3, 10, 9, 0), "Saturday"),
        (local(TOKYO, 2026, 3, 8, 23, 59), local(TOKYO, 2026, 3, 10, 9, 0), "Sunday night"),
        (local(TOKYO, 2026, 3, 5, 12, 0), local(TOKYO, 2026, 3, 6, 12, 0), "Thursday"),
    ],
)
def test_due_times(requested: datetime, due: datetime, why: str) -> None:
    assert acknowledgement_due(requested, "Asia/Tokyo") == due.astimezone(UTC), why


def test_the_same_instant_has_different_targets_in_different_zones() -> None:
    # Friday 2026-03-06 23:30 UTC: Saturday morning in Tokyo, Friday afternoon in Chicago
    at = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
    assert acknowledgement_due(at, "Asia/Tokyo") == local(TOKYO, 2026, 3, 10, 9, 0)
    assert acknowledgement_due(at, "America/Chicago") == local(CHICAGO, 2026, 3, 9, 9, 0)


def test_daylight_saving_change_keeps_wall_clock_hours() -> None:
    # Chicago springs forward on Sunday 2026-03-08; Friday 10:00 -> Monday 09:00 local
    due = acknowledgement_due(local(CHICAGO, 2026, 3, 6, 10, 0), "America/Chicago")
    assert due.astimezone(CHICAGO).hour == 9 and due.astimezone(CHICAGO).day == 9


def test_naive_times_are_utc_and_unknown_zones_fall_back_to_utc() -> None:
    naive = datetime(2026, 3, 2, 10, 0)
    assert acknowledgement_due(naive, "No/Such_Zone") == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_next_business_moment_inside_hours_is_now() -> None:
    now = local(TOKYO, 2026, 3, 3, 11, 22)
    assert next_business_moment(now) == now


def test_status_met_missed_overdue_and_open() -> None:
    req = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 Tokyo
    met = ack_status(req, req + timedelta(minutes=5), "Asia/Tokyo")
    assert met.met is True and met.hours == pytest.approx(0.083, abs=0.001)
    late = ack_status(req, req + timedelta(hours=30), "Asia/Tokyo")
    assert late.met is False and late.overdue is False
    waiting = ack_status(req, None, "Asia/Tokyo", now=req + timedelta(hours=2))
    assert waiting.met is None and waiting.overdue is False and waiting.hours is None
    overdue = ack_status(req, None, "Asia/Tokyo", now=req + timedelta(hours=25))
    assert overdue.overdue is True
    assert overdue.to_dict()["due_at"] == "2026-03-03T01:00:00+00:00"


def test_a_shorter_target_from_the_policy() -> None:
    req = local(TOKYO, 2026, 3, 2, 10, 0)
    assert acknowledgement_due(req, "Asia/Tokyo", target_hours=4) == local(TOKYO, 2026, 3, 2, 14, 0)
