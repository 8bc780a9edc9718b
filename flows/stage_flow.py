"""A later stage of one case (§5): access reduction, closure, deactivation, purge.

Done inside the run that holds it: the slot run the stage is attached to (`flows.stages_flow`)
or the daily sweeper, for a stage due and not done whose slot run is gone or over. Not a subflow
each: when a killed run is rerun, Prefect matches a subflow call to the earlier run's by its
position in the run, and the list of stages not done yet is shorter by then, so a stage could be
handed another's finished run. Its tasks run in the holding run, tagged `case:` and `stage:`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prefect import tags

from tasks import stages
from tasks.artifacts import publish_case_summary
from tasks.common import run_logger


def run_stage(case_id: str, stage: str) -> dict[str, Any]:
    """The stage's tasks, in §5's order; every one is idempotent, so a rerun repeats nothing."""
    if stage == "access_reduction":
        return stages.access_reduction(case_id)
    if stage == "closure":
        if "access_reduction" in stages.due_stages(case_id):
            # §5's order holds even when runs start late together (a backlog, a restart):
            # access is reduced, and the customer told, before the account closes
            stages.access_reduction(case_id)
        invoice = stages.final_billing(case_id)
        closed = stages.close_account(case_id)
        sent = stages.closure_communications(case_id)
        closeout = stages.internal_closeout(case_id)
        publish_case_summary(case_id, "closed")
        # deactivation and purge wait for closure; any that came due meanwhile run now
        followups = {}
        for later in stages.due_stages(case_id):
            if later == "deactivation":
                followups[later] = stages.deactivation(case_id)
            elif later == "purge":
                from tasks.purge import purge

                followups[later] = purge(case_id)
        return {
            "invoice": invoice,
            "closed": closed,
            "messages": sent,
            "closeout": closeout,
            "followups": followups,
        }
    if stage == "deactivation":
        return stages.deactivation(case_id)
    if stage == "purge":
        from tasks.purge import purge

        return purge(case_id)
    raise ValueError(f"unknown stage {stage!r}; expected one of {stages.STAGES}")


def run_stages(todo: Iterable[tuple[str, str]]) -> tuple[list[str], dict[str, str]]:
    """Each (case, stage) in turn; one that fails stops no other. Returns what was done and,
    by `case:stage`, why each failure failed (no personal data: ids and exception text)."""
    done: list[str] = []
    failed: dict[str, str] = {}
    for case_id, stage in todo:
        name = f"{case_id}:{stage}"
        try:
            with tags(f"case:{case_id}", f"stage:{stage}"):
                run_stage(case_id, stage)
        except Exception as exc:  # noqa: BLE001 - recorded, raised by the caller at the end
            failed[name] = f"{type(exc).__name__}: {exc}"[:300]
            run_logger(__name__).error("stage %s failed: %s", name, failed[name])
        else:
            done.append(name)
    return done, failed
