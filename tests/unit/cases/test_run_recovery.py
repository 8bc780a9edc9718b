"""The sweeper's verdict on an open case's run, as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offboarding.cases.run_recovery import GAVE_UP, orphaned, run_verdict


@pytest.mark.parametrize(
    ("state", "has_run", "restarts", "action"),
    [
        (None, False, 0, "start"),  # intake could not reach Prefect: the case has no run
        (None, True, 0, "start"),  # Prefect lost the run (a server rebuilt from scratch)
        ("FAILED", True, 0, "restart"),
        ("CRASHED", True, 2, "restart"),
        ("FAILED", True, 3, "give_up"),
        ("CRASHED", True, 7, "give_up"),
        ("RUNNING", True, 9, "none"),  # orphans are the orphan check's, by heartbeat
        ("PAUSED", True, 0, "none"),  # a suspended run waits for a person: never touched
        ("SCHEDULED", True, 0, "none"),
        ("COMPLETED", True, 0, "none"),
        ("CANCELLED", True, 0, "none"),  # somebody cancelled it on purpose
    ],
)
def test_what_happens_to_a_cases_run(state, has_run, restarts, action) -> None:
    assert run_verdict(state, has_run, restarts, max_restarts=3).action == action


def test_giving_up_says_why_and_how_often() -> None:
    verdict = run_verdict("FAILED", True, 3, max_restarts=3)
    assert verdict.why.startswith(GAVE_UP) and "4 times" in verdict.why and "failed" in verdict.why


def test_no_restarts_allowed_hands_over_at_the_first_failure() -> None:
    assert run_verdict("FAILED", True, 0, max_restarts=0).action == "give_up"


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("running_for", "heard", "orphan"),
    [
        (10, False, False),  # resumed 10 s ago after days paused; its events still on the way
        (99, False, False),
        (101, False, True),  # Running this long and silent: its process is gone
        (101, True, False),  # a heartbeat in the window: alive
        (86_400, True, False),
    ],
)
def test_an_orphan_is_running_and_silent_for_the_whole_window(running_for, heard, orphan):
    since = NOW - timedelta(seconds=running_for)
    assert orphaned(since, NOW, heard, after_seconds=100) is orphan
