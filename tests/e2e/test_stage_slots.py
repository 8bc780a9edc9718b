"""Later stages share slot runs (one process for every case's stages due in a slot, instead of
a run per case and stage), on a real Prefect server and runner: stages due in one slot share
its run; a slot whose run already started is not joined; a stage that fails in a slot run
stops no other case's, and the run says which failed."""

from __future__ import annotations

import time
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import delete, select

from offboard.service import case_view, wait_for
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models import StageRow
from tests.e2e.conftest import budget, decide, request, restart_runner, verify_payload, wait_waiting
from tests.e2e.test_offboarding_flow import flow_run, message_counts, stage_done
from tests.e2e.test_trust_boundary import trust_account

pytestmark = pytest.mark.integration


def _set_state(run_id: str, state) -> None:  # noqa: ANN001
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), state, force=True)


def _stage_row(case_id: str, stage: str) -> StageRow | None:
    with session_scope(get_settings().db_url) as s:
        row = s.scalar(select(StageRow).where(StageRow.case_id == case_id, StageRow.stage == stage))
        if row is not None:
            s.expunge(row)
        return row


def test_stages_due_in_one_slot_share_its_run_and_a_started_slot_is_not_joined(stack, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled, Running

    from tasks.stage_schedule import _attach

    cases = []
    for name in ("SLOTA", "SLOTB", "SLOTC"):
        trust_account(tmp_path, name)
        opened = request(name, f"ada@{name.lower()}.example", f"E2E-{name}", "budget")
        cases.append(opened["case_id"])
        wait_waiting(opened["case_id"], "verification")
    from offboarding.cases.stage_slots import slot_end

    # mid-slot, far enough that no run starts in this test
    due = slot_end(utcnow() + timedelta(seconds=3000), 600) - timedelta(seconds=300)
    runs: set[str] = set()
    try:
        with session_scope(get_settings().db_url) as s:
            for case_id in cases:
                s.add(StageRow(case_id=case_id, stage="purge", due_at=due, status="scheduled"))
        with get_client(sync_client=True) as client:
            first = _attach(client, cases[0], "purge", due, 600)
            second = _attach(client, cases[1], "purge", due + timedelta(seconds=1), 600)
            runs |= {first, second}
            assert first == second  # one run for both cases
            run = flow_run(first)
            assert run.name.startswith("stages-") and run.state.is_scheduled()
            assert run.expected_start_time >= due + timedelta(seconds=1)
            assert run.expected_start_time < due + timedelta(seconds=600)
            _set_state(first, Running())  # the slot's run has started: it may have read its list
            third = _attach(client, cases[2], "purge", due, 600)
            runs.add(third)
        assert third != first
        later = flow_run(third)
        assert later.state.is_scheduled()
        assert later.expected_start_time == run.expected_start_time + timedelta(seconds=600)
        assert _stage_row(cases[2], "purge").flow_run_id == third
        assert _stage_row(cases[0], "purge").flow_run_id == first
    finally:
        with session_scope(get_settings().db_url) as s:
            s.execute(delete(StageRow).where(StageRow.case_id.in_(cases)))
        for run_id in runs:
            _set_state(run_id, Cancelled())


def test_a_failing_stage_in_a_slot_run_stops_no_other_case(stack, tmp_path):
    """A long slot (60 s) holds all of the good case's stages; a stage of a case that has no
    plan yet (it fails at once, before any side effect) is put into the same run."""
    trust_account(tmp_path, "SLOTOK")
    trust_account(tmp_path, "SLOTBAD")
    slot_before = stack.extra_env.get("OFFBOARDING_STAGE_SLOT_SECONDS", "0")
    restart_runner(stack, OFFBOARDING_STAGE_SLOT_SECONDS="60")
    try:
        good = request("SLOTOK", "ada@slotok.example", "E2E-SLOTOK", "budget")["case_id"]
        bad = request("SLOTBAD", "ada@slotbad.example", "E2E-SLOTBAD", "budget")["case_id"]
        wait_waiting(good, "verification")
        wait_waiting(bad, "verification")
        payload = verify_payload(
            "dana.lee@example.com", reason="cost", customer_declines_sales_conversation=True
        )
        decide(good, "verify", payload)
        wait_for(good, lambda c: _stage_row(c.case_id, "purge") is not None
                 and _stage_row(c.case_id, "purge").flow_run_id is not None,
                 budget(runs=3))  # fmt: skip
        # the good case's latest slot run: the most time before it starts
        slot_run = max(
            {_stage_row(good, x).flow_run_id for x in ("access_reduction", "closure", "purge")},
            key=lambda r: flow_run(r).expected_start_time,
        )
        with session_scope(get_settings().db_url) as s:
            s.add(
                StageRow(
                    case_id=bad,
                    stage="access_reduction",
                    due_at=utcnow(),
                    status="scheduled",
                    flow_run_id=slot_run,
                )
            )
        assert flow_run(slot_run).state.is_scheduled(), "the slot run started before the test"

        wait_for(good, stage_done("closure"), budget(days=20, runs=3) + 60)
        deadline = time.monotonic() + budget(runs=2)
        while not (state := flow_run(slot_run).state).is_final() and time.monotonic() < deadline:
            time.sleep(1)
        assert state.is_failed(), state
        assert bad in (state.message or "") and good not in (state.message or "")
        assert _stage_row(bad, "access_reduction").status != "done"
        assert case_view(bad)["status"] == "awaiting_verification"
        counts = message_counts(good)
        for kind in ("access_change_notice", "closure_confirmation", "internal_churn_notification"):
            assert counts.get(kind) == 1, (kind, counts)
        assert "access_change_notice" not in message_counts(bad)
    finally:
        with session_scope(get_settings().db_url) as s:
            s.execute(delete(StageRow).where(StageRow.case_id == bad))
        restart_runner(stack, OFFBOARDING_STAGE_SLOT_SECONDS=slot_before)  # the later tests' slot
