"""§13 win-back rate at 12, 24 and 36 months: only churns old enough count."""

from __future__ import annotations

from datetime import date

import pytest

from offboarding.winback.rates import winback_rates

AS_OF = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("churns", "expected"),
    [
        ([], [(12, 0, 0, None), (24, 0, 0, None), (36, 0, 0, None)]),
        # churned 4 months ago and back: too recent for any horizon
        (
            [(date(2026, 2, 1), date(2026, 5, 1))],
            [(12, 0, 0, None), (24, 0, 0, None), (36, 0, 0, None)],
        ),
        # churned 2.5 years ago, back after 18 months: not within 12, within 24; no 36 cohort
        (
            [(date(2024, 1, 1), date(2025, 7, 1))],
            [(12, 1, 0, 0.0), (24, 1, 1, 1.0), (36, 0, 0, None)],
        ),
        # exactly 12 months: within 12
        (
            [(date(2025, 1, 31), date(2026, 1, 31))],
            [(12, 1, 1, 1.0), (24, 0, 0, None), (36, 0, 0, None)],
        ),
        (
            [
                (date(2023, 1, 1), date(2023, 6, 1)),  # back in 5 months
                (date(2023, 3, 1), None),  # never back
                (date(2023, 5, 1), date(2025, 12, 1)),  # back after 31 months
                (date(2025, 3, 1), None),  # only the 12-month cohort
            ],
            [(12, 4, 1, 0.25), (24, 3, 1, 1 / 3), (36, 3, 2, 2 / 3)],
        ),
    ],
)
def test_rates(churns, expected) -> None:
    got = [(r.months, r.churned, r.won_back, r.rate) for r in winback_rates(churns, AS_OF)]
    assert got == expected
