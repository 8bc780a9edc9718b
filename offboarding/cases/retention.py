"""§6 retention: when data is deleted and when the last backup holding it expires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from offboarding.cases.timeline import add_months
from offboarding.policy import RetentionPolicy


@dataclass(frozen=True)
class RetentionDates:
    closed_on: date
    purge_on: date
    backups_expire_on: date


def retention_dates(closed_on: date, policy: RetentionPolicy) -> RetentionDates:
    purge = closed_on + timedelta(days=policy.retention_days)
    return RetentionDates(closed_on, purge, add_months(purge, policy.backup_months))


def purge_due(closed_on: date, today: date, policy: RetentionPolicy, legal_hold: bool) -> bool:
    """Due at retention end, never under legal hold."""
    return not legal_hold and today >= retention_dates(closed_on, policy).purge_on
