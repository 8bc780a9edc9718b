"""The daily sweeper (§4–§6): runs anything due and missed, escalates overdue decisions,
and reschedules runs orphaned by a killed worker."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from tasks.sweeps import (
    check_acknowledgements,
    escalate_overdue,
    recover_orphaned_runs,
    run_missed_stages,
)


@flow(name="offboarding-sweeper", flow_run_name="sweep")
def sweeper_flow(orphan_after_seconds: float = 100) -> dict[str, list[str]]:
    result = {
        "escalated": escalate_overdue(),
        "acknowledgements_overdue": check_acknowledgements(),
        "stages_run": run_missed_stages(),
        "runs_recovered": recover_orphaned_runs(orphan_after_seconds),
    }
    lines = [f"- **{k}**: {', '.join(v) or 'none'}" for k, v in result.items()]
    create_markdown_artifact("# Daily sweep\n\n" + "\n".join(lines), key="daily-sweep")
    return result
