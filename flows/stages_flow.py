"""One run per slot does the later stages of every case that fall due in it (§5–§10).

A run per case and stage would be a process each (~3 CPU-seconds of imports for a fraction of
a second of work); one slot run does them all, their tasks tagged by case and stage in the UI.
A stage that fails stops no other case: the run goes on and ends Failed naming them, and the
daily sweeper runs them again.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows.stage_flow import run_stages
from tasks.stage_schedule import attached_stages, upcoming_stages


@flow(name="offboarding-stages", flow_run_name="stages-{slot}", persist_result=True)
def stages_flow(slot: str) -> dict[str, Any]:
    done: list[str] = []
    failed: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    # read again after each round: a stage attached while this run started is done here too
    while todo := [x for x in attached_stages() if x not in seen]:
        seen.update(todo)
        more_done, more_failed = run_stages(todo)
        done += more_done
        failed |= more_failed
    create_table_artifact(
        upcoming_stages(),
        key="upcoming-stages",
        description=f"Later stages not done yet, by due time (after slot {slot})",
    )
    if failed:
        raise RuntimeError(f"slot {slot}: {len(failed)} stage(s) failed: {failed}")
    return {"slot": slot, "done": done}
