"""The deadline check's verdict: escalate at the deadline, wait out an early start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offboarding.cases.deadlines import MAX_EARLY_WAIT_SECONDS, deadline_verdict

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("waiting", "due", "action", "seconds"),
    [
        (False, NOW - timedelta(days=1), "done", 0.0),  # decided meanwhile
        (True, None, "done", 0.0),
        (True, NOW, "escalate", 0.0),  # exactly at the deadline
        (True, NOW - timedelta(seconds=1), "escalate", 0.0),
        (True, NOW + timedelta(seconds=0.37), "wait", 0.37),  # the runner came early
        (True, NOW + timedelta(seconds=MAX_EARLY_WAIT_SECONDS), "wait", MAX_EARLY_WAIT_SECONDS),
        (True, NOW + timedelta(hours=2), "reschedule", 7200.0),  # deadline moved later
    ],
)
def test_deadline_verdict(waiting: bool, due: datetime | None, action: str, seconds: float) -> None:
    verdict = deadline_verdict(waiting, due, NOW)
    assert verdict.action == action
    assert verdict.seconds == pytest.approx(seconds)
