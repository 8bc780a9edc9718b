"""§13 win-back rate: the share of churned customers back within 12, 24 and 36 months.

Only churns old enough to have had the whole horizon count: a customer who left four months
ago cannot yet have failed to come back within twelve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

from offboarding.cases.timeline import add_months


@dataclass(frozen=True)
class RateRow:
    months: int
    churned: int  # churns at least `months` old on the as-of date
    won_back: int  # of those, back within `months` of their closure
    rate: float | None  # None when no churn is old enough yet

    def to_dict(self) -> dict:
        return asdict(self)


def winback_rates(
    churns: Iterable[tuple[date, date | None]], as_of: date, horizons: Iterable[int] = (12, 24, 36)
) -> list[RateRow]:
    """(closed_on, won_back_on or None) per churned case -> one row per horizon."""
    churns = list(churns)
    out = []
    for months in horizons:
        cohort = [(c, w) for c, w in churns if add_months(c, months) <= as_of]
        back = sum(1 for c, w in cohort if w is not None and c <= w <= add_months(c, months))
        out.append(RateRow(months, len(cohort), back, back / len(cohort) if cohort else None))
    return out
