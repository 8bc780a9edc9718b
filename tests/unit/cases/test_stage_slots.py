"""Later stages share slot runs: a slot's end never comes before a stage's due time, and the
cases whose stages fall in one slot share its end (one run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offboarding.cases.stage_slots import next_slot, slot_end, slot_name, slot_seconds


@pytest.mark.parametrize(
    ("day", "configured", "expected", "why"),
    [
        (86_400, 0, 3600, "real days: an hour"),
        (600, 0, 600, "a demo day shorter than an hour: a day"),
        (0.25, 0, 10, "test days: never shorter than 10 s"),
        (86_400, 900, 900, "configured wins"),
        (0.25, 2, 2, "configured wins, even below the floor"),
    ],
)
def test_slot_length(day: float, configured: float, expected: float, why: str) -> None:
    assert slot_seconds(day, configured) == expected, why


def test_a_slot_ends_at_or_after_the_due_time_and_within_one_slot() -> None:
    base = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    for offset in (0.0, 0.001, 1, 59.9, 3599.999, 3600, 3600.5, 86_399):
        due = base + timedelta(seconds=offset)
        end = slot_end(due, 3600)
        assert due <= end < due + timedelta(seconds=3600), offset


def test_stages_due_in_one_slot_share_its_end_and_the_next_slot_does_not() -> None:
    a = slot_end(datetime(2026, 12, 4, 3, 0, 1, tzinfo=UTC), 3600)
    b = slot_end(datetime(2026, 12, 4, 3, 59, 59, tzinfo=UTC), 3600)
    c = slot_end(datetime(2026, 12, 4, 4, 0, 1, tzinfo=UTC), 3600)
    assert a == b == datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
    assert c == next_slot(a, 3600) == datetime(2026, 12, 4, 5, 0, tzinfo=UTC)


def test_a_due_time_on_the_grid_is_not_held_back_a_slot() -> None:
    due = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
    assert slot_end(due, 3600) == due


def test_other_time_zones_land_on_the_same_utc_grid() -> None:
    from zoneinfo import ZoneInfo

    tokyo = datetime(2026, 12, 4, 12, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert slot_end(tokyo, 3600) == datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
    assert slot_name(slot_end(tokyo, 3600)) == "2026-12-04T04:00:00Z"


def test_a_slot_of_no_length_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than 0"):
        slot_end(datetime(2026, 12, 4, tzinfo=UTC), 0)
