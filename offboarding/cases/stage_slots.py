"""Later stages run in shared slots, not one flow run per case and stage.

Every flow run is a new process that imports Prefect and our code (about 3 CPU-seconds here)
before any work; a stage's own work is a fraction of a second. So the stages of all cases that
fall due within one slot are done by one run at the slot's end: a stage never runs before its
due time, and at most one slot after it. The playbook counts stages in days, so a slot of an
hour (of a day, when a "day" is shorter for demos and tests) keeps the timeline while a burst
of a thousand cases needs a few runs instead of thousands.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

#: the slot when nothing is configured: an hour, or a day where days are shorter ...
HOUR_SECONDS = 3600.0
#: ... but never so short that a burst's cases planned seconds apart get a run each
MIN_SLOT_SECONDS = 10.0


def slot_seconds(day_seconds: float, configured: float = 0.0) -> float:
    """The slot length: the configured one when set (> 0), else min(hour, day) but >= 10 s."""
    if configured > 0:
        return float(configured)
    return max(MIN_SLOT_SECONDS, min(HOUR_SECONDS, float(day_seconds)))


def slot_end(due: datetime, length: float) -> datetime:
    """The end of the slot holding `due`, on a grid from the epoch: the same instant for every
    case whose stage falls in that slot, so they share one run. A due time on the grid is its
    own slot's end (the stage is not held back a whole slot)."""
    if length <= 0:
        raise ValueError(f"a slot must be longer than 0 seconds, not {length}")
    stamp = due.astimezone(UTC).timestamp()
    end = math.ceil(stamp / length) * length
    return datetime.fromtimestamp(end, UTC)


def next_slot(end: datetime, length: float) -> datetime:
    """The slot after the one ending at `end` (for a stage whose slot's run already started)."""
    return end + timedelta(seconds=length)


def slot_name(end: datetime) -> str:
    """The run's name and idempotency key part: readable in the UI's upcoming runs."""
    return end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
