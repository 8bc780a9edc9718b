"""The daily sweeper (§4–§6): runs anything due and missed, escalates overdue decisions,
reschedules runs orphaned by a killed worker, restarts failed runs and starts cases that have
none (the recovery flow does the last two every few minutes as well)."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.stage_flow import stage_flow
from tasks.recovery import restart_failed_runs
from tasks.sweeps import (
    check_acknowledgements,
    escalate_overdue,
    find_missed_stages,
    recover_orphaned_runs,
)
from tasks.webhooks import prune_webhook_events


def run_missed_stages() -> list[str]:
    """Stages due and not done whose scheduled run is gone or dead run now, in this sweep."""
    done = []
    for case_id, stage in find_missed_stages():
        stage_flow(case_id=case_id, stage=stage)
        done.append(f"{case_id}:{stage}")
    return done


@flow(name="offboarding-sweeper", flow_run_name="sweep")
def sweeper_flow(orphan_after_seconds: float = 100) -> dict[str, list[str]]:
    result = {
        "escalated": escalate_overdue(),
        "acknowledgements_overdue": check_acknowledgements(),
        "stages_run": run_missed_stages(),
        "runs_recovered": recover_orphaned_runs(orphan_after_seconds),
        **restart_failed_runs(),
    }
    pruned = prune_webhook_events()
    result["webhook_events_pruned"] = [str(pruned)] if pruned else []
    lines = [f"- **{k}**: {', '.join(v) or 'none'}" for k, v in result.items()]
    create_markdown_artifact("# Daily sweep\n\n" + "\n".join(lines), key="daily-sweep")
    return result
