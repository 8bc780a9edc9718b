"""Every few minutes: no case waits for the daily sweep to be picked up again. Runs orphaned
by a killed worker are rescheduled, failed or crashed runs restarted, and cases without a run
started (see `tasks.recovery`)."""

from __future__ import annotations

from prefect import flow

from tasks.recovery import restart_failed_runs
from tasks.sweeps import ORPHAN_AFTER_SECONDS, recover_orphaned_runs


@flow(name="offboarding-recovery", flow_run_name="recovery")
def recovery_flow(orphan_after_seconds: float = ORPHAN_AFTER_SECONDS) -> dict[str, list[str]]:
    return {
        "runs_recovered": recover_orphaned_runs(orphan_after_seconds),
        **restart_failed_runs(),
    }
