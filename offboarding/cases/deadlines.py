"""When a decision's deadline check may act: scheduled runs start a little early, so a check
that finds the deadline just ahead waits it out instead of finding "not yet due" and ending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: A check that starts at most this early waits for the deadline in the same run; Prefect's
#: runner starts scheduled runs up to about a second early (0.37 s seen), a busy one later.
MAX_EARLY_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class DeadlineVerdict:
    """What a deadline check does now: `escalate`, `wait` (seconds), `reschedule` or `done`."""

    action: str
    seconds: float = 0.0
    why: str = ""


def deadline_verdict(
    waiting: bool, due: datetime | None, now: datetime, max_wait: float = MAX_EARLY_WAIT_SECONDS
) -> DeadlineVerdict:
    """Escalate at the deadline, never before it and never silently after a run that came early."""
    if not waiting or due is None:
        return DeadlineVerdict("done", why="decided")
    ahead = (due - now).total_seconds()
    if ahead <= 0:
        return DeadlineVerdict("escalate", why="deadline passed")
    if ahead <= max_wait:
        return DeadlineVerdict("wait", ahead, "started early: waiting for the deadline")
    return DeadlineVerdict("reschedule", ahead, "deadline moved later: checking again then")
