"""Runs at a decision's deadline: if the case still waits for it, escalate (§4)."""

from __future__ import annotations

from prefect import flow

from tasks.sweeps import escalate_if_still_waiting


@flow(name="offboarding-escalation", flow_run_name="{case_id}-escalate-{input_key}")
def escalation_flow(case_id: str, input_key: str) -> dict:
    return escalate_if_still_waiting(case_id, input_key)
