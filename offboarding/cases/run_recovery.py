"""What the sweeper does with an open case's run: nothing falls through the cracks.

A case whose run never started gets one; a run that ended Failed or Crashed on a transient
fault is restarted from where it stopped (every step is idempotent, so nothing repeats);
after `max_restarts` the case is handed to people instead of being retried for ever.
Pure: the caller reads the run's state and the restarts already made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: Prefect state types (their `.value`) after which a run will do nothing more by itself.
DEAD = frozenset({"FAILED", "CRASHED"})
#: The audit action of one restart; the count of these rows is the case's restart count.
RESTARTED = "run_restarted"
#: The prefix of the case's `needs_attention` reason once restarts are spent.
GAVE_UP = "run failed"


@dataclass(frozen=True)
class RunVerdict:
    action: Literal["none", "start", "restart", "give_up"]
    why: str


def run_verdict(state: str | None, has_run: bool, restarts: int, max_restarts: int) -> RunVerdict:
    """`state` is the run's state type (None when Prefect has no such run)."""
    if not has_run or state is None:
        why = "no flow run" if not has_run else "its flow run is gone from Prefect"
        return RunVerdict("start", why)
    if state not in DEAD:
        return RunVerdict("none", f"run is {state.lower()}")
    if restarts >= max_restarts:
        return RunVerdict(
            "give_up", f"{GAVE_UP} {restarts + 1} times ({state.lower()}); restarts spent"
        )
    return RunVerdict("restart", f"run {state.lower()}; restart {restarts + 1} of {max_restarts}")


def orphaned(
    running_since: datetime, now: datetime, heard_from_lately: bool, after_seconds: float
) -> bool:
    """Whether a RUNNING run lost its process: it has been Running (this time: since its last
    start or resume, never its first start, which may be days ago) longer than
    `after_seconds`, and nothing (a heartbeat, a state change) was heard from it for as long.
    A resumed run whose first events are still on their way under load is not an orphan."""
    if (now - running_since).total_seconds() < after_seconds:
        return False
    return not heard_from_lately
