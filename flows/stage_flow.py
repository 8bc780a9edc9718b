"""A later stage of one case (§5): access reduction, closure, deactivation, purge.

Each is a scheduled deployment run with an idempotency key; the daily sweeper re-runs any
stage that is due and not done.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks import stages
from tasks.artifacts import publish_case_summary


@flow(name="offboarding-stage", flow_run_name="{case_id}-{stage}", persist_result=True)
def stage_flow(case_id: str, stage: str) -> dict[str, Any]:
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
