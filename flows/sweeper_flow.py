"""The daily sweeper (§4–§6): runs anything due and missed, escalates overdue decisions,
reschedules runs orphaned by a killed worker, restarts failed runs and starts cases that have
none (the recovery flow does the last two every few minutes as well)."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.stage_flow import run_stages
from offboarding.cases.store import OffboardingError
from tasks.recovery import restart_failed_runs
from tasks.sweeps import (
    check_acknowledgements,
    escalate_overdue,
    find_missed_stages,
    recover_orphaned_runs,
)
from tasks.webhooks import prune_webhook_events


class MissedStagesFailed(OffboardingError):
    """The sweep did everything else; these stages failed again and need a person's look."""


def run_missed_stages() -> tuple[list[str], dict[str, str]]:
    """Stages due and not done whose slot run is gone or over run now, in this sweep; one that
    fails again stops no other. What was done, and what failed and why."""
    return run_stages(find_missed_stages())


@flow(name="offboarding-sweeper", flow_run_name="sweep")
def sweeper_flow(orphan_after_seconds: float = 100) -> dict[str, list[str]]:
    escalated, acknowledgements = escalate_overdue(), check_acknowledgements()
    stages_run, stages_failed = run_missed_stages()
    result = {
        "escalated": escalated,
        "acknowledgements_overdue": acknowledgements,
        "stages_run": stages_run,
        "stages_failed": [f"{k} ({why})" for k, why in stages_failed.items()],
        "runs_recovered": recover_orphaned_runs(orphan_after_seconds),
        **restart_failed_runs(),
    }
    pruned = prune_webhook_events()
    result["webhook_events_pruned"] = [str(pruned)] if pruned else []
    lines = [f"- **{k}**: {', '.join(v) or 'none'}" for k, v in result.items()]
    create_markdown_artifact("# Daily sweep\n\n" + "\n".join(lines), key="daily-sweep")
    if stages_failed:  # the sweep did the rest; its state says what needs a look
        failed = "; ".join(f"{k} ({why})" for k, why in stages_failed.items())
        raise MissedStagesFailed(
            f"the sweep ran; {len(stages_failed)} missed stage(s) failed again and need a look: "
            f"{failed}. Everything else it did is in the run's artifact `daily-sweep`; the next "
            "sweep tries them again"
        )
    return result
