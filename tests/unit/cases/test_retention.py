"""§6 retention: data kept 90 days after cancellation, backups up to 12 months more."""

from __future__ import annotations

from datetime import date

import pytest

from offboarding.cases.retention import purge_due, retention_dates
from offboarding.cases.timeline import plan_timeline
from offboarding.policy import RetentionPolicy
from tests.unit.conftest import CONFIRMED, make_account, make_policy

POLICY = RetentionPolicy()
CLOSED = date(2025, 3, 17)


@pytest.mark.parametrize(
    ("closed", "purge", "backups"),
    [
        (date(2025, 3, 17), date(2025, 6, 15), date(2026, 6, 15)),
        (date(2025, 1, 1), date(2025, 4, 1), date(2026, 4, 1)),
        (date(2023, 12, 1), date(2024, 2, 29), date(2025, 2, 28)),  # leap day, clamped
        (date(2025, 11, 30), date(2026, 2, 28), date(2027, 2, 28)),
    ],
)
def test_purge_date_and_backup_expiry(closed, purge, backups):
    dates = retention_dates(closed, POLICY)
    assert dates.closed_on == closed
    assert dates.purge_on == purge
    assert dates.backups_expire_on == backups


def test_purge_date_is_closure_plus_retention_days():
    dates = retention_dates(CLOSED, POLICY)
    assert (dates.purge_on - CLOSED).days == 90


def test_retention_follows_policy():
    dates = retention_dates(CLOSED, RetentionPolicy(retention_days=30, backup_months=6))
    assert dates.purge_on == date(2025, 4, 16)
    assert dates.backups_expire_on == date(2025, 10, 16)


def test_retention_agrees_with_timeline_plan():
    plan = plan_timeline(make_account(), CONFIRMED, make_policy())
    dates = retention_dates(plan.closure_on, POLICY)
    assert (dates.purge_on, dates.backups_expire_on) == (plan.purge_on, plan.backups_expire_on)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 3, 17), False),  # closure day
        (date(2025, 6, 14), False),  # day before the retention end
        (date(2025, 6, 15), True),  # retention end
        (date(2025, 9, 1), True),  # overdue
    ],
)
def test_purge_due(today, expected):
    assert purge_due(CLOSED, today, POLICY, legal_hold=False) is expected


@pytest.mark.parametrize("today", [date(2025, 6, 15), date(2026, 1, 1), date(2030, 1, 1)])
def test_purge_due_false_under_legal_hold(today):
    assert purge_due(CLOSED, today, POLICY, legal_hold=True) is False
