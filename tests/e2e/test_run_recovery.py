"""No case is left behind by a failed run (issue: a 503 from a busy Prefect API lost cases).

The failure is injected exactly as it was seen in a burst: the export's concurrency slot cannot
be acquired (`ConcurrencySlotAcquisitionError ... 503 Service Unavailable`) on every try, so the
export subflow and the case's run end Failed. The recovery restarts the run; when restarts are
spent it hands the case to people once; `offboard retry` gives it back, and the case finishes
with every side effect exactly once.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from offboard.service import case_view, wait_for
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import ExportRow
from tests.e2e.conftest import budget, decide, request, restart_runner, verify_payload, wait_waiting
from tests.e2e.test_offboarding_flow import flow_run, message_counts
from tests.e2e.test_trust_boundary import trust_account

pytestmark = pytest.mark.integration


def wait_run_dead(run_id: str, timeout: float = budget(runs=4)) -> str:
    """Until the run ends Failed or Crashed; its state name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = flow_run(run_id).state
        if state and (state.is_failed() or state.is_crashed()):
            return state.name
        time.sleep(1)
    raise TimeoutError(f"run {run_id} did not fail: {flow_run(run_id).state}")


def exported(case) -> bool:  # noqa: ANN001
    return any(s["step"] == "export_delivered" for s in case_view(case.case_id)["steps"])


def test_a_run_failed_by_a_busy_api_is_restarted_handed_over_and_given_back(stack, tmp_path):
    from offboard.service.case_runs import retry_case
    from tasks.recovery import restart_failed_runs
    from tests.e2e.conftest import token

    trust_account(tmp_path, "RECOVER")
    restart_runner(stack, OFFBOARDING_CHAOS_FAIL="export_part")
    try:
        opened = request("RECOVER", "ada@recover.example", "E2E-RECOVER", "too expensive")
        case_id, run_id = opened["case_id"], opened["flow_run_id"]
        wait_waiting(case_id, "verification")
        payload = verify_payload(
            "dana.lee@example.com", reason="cost", customer_declines_sales_conversation=True
        )
        decide(case_id, "verify", payload)
        wait_run_dead(run_id)
        view = case_view(case_id)
        assert view["status"] == "offboarding"
        assert "export_delivered" not in {s["step"] for s in view["steps"]}

        # restart 1 of 1: the fault is still there, so it fails again
        assert case_id in restart_failed_runs.fn(max_restarts=1)["restarted"]
        wait_run_dead(run_id)

        # restarts spent: handed to people, told once, left alone by the next sweeps
        handed = restart_failed_runs.fn(max_restarts=1)
        assert case_id in handed["handed_over"]
        again = restart_failed_runs.fn(max_restarts=1)
        assert all(case_id not in cases for cases in again.values())
        view = case_view(case_id)
        assert "run failed 2 times" in view["needs_attention"]
        notices = [m for m in view["messages"] if m["kind"] == "case_needs_attention"]
        assert len(notices) == 1 and "dana.lee@example.com" in notices[0]["to"]
        actions = [a["action"] for a in view["audit"]]
        assert actions.count("run_restarted") == 1 and actions.count("run_handed_over") == 1
    finally:
        restart_runner(stack)  # the cause is fixed

    given = retry_case(case_id, token=token("dana.lee@example.com"))
    assert given["flow_run_id"] == run_id
    wait_for(case_id, exported, budget(runs=4))
    wait_for(case_id, lambda c: c.needs_attention is None or "run failed" not in c.needs_attention)
    counts = message_counts(case_id)
    for kind in ("acknowledgement", "offboarding_plan", "export_ready"):
        assert counts.get(kind) == 1, (kind, counts)
    with session_scope(get_settings().db_url) as s:
        exports = s.scalar(
            select(func.count()).select_from(ExportRow).where(ExportRow.case_id == case_id)
        )
    assert exports == 1
    audit = case_view(case_id)["audit"]
    assert any(
        a["action"] == "run_given_back" and a["actor"] == "dana.lee@example.com" for a in audit
    )


def test_a_case_recorded_while_no_stack_answered_is_started_by_the_recovery(stack, tmp_path):
    from datetime import UTC, datetime

    from offboard.service import submit_request
    from offboarding.domain import CancellationRequest
    from tasks.recovery import restart_failed_runs

    trust_account(tmp_path, "NORUN")
    req = CancellationRequest(
        account_id="NORUN",
        requested_by="ada@norun.example",
        requested_at=datetime.now(UTC),
        reason_text="closing the business",
        external_ref="E2E-NORUN",
    )
    opened = submit_request(req, start_run=False)  # as if the API had not answered
    assert opened["flow_run_id"] is None
    assert opened["case_id"] in restart_failed_runs.fn()["started"]
    case = wait_waiting(opened["case_id"], "verification")
    assert case.flow_run_id
    assert opened["case_id"] not in str(restart_failed_runs.fn())  # started once
