"""Cases end to end through served deployments: real suspend, resume, stages, crashes."""

from __future__ import annotations

import time
from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select

from offboard.service import case_view, wait_for
from offboarding.cases.store import OffboardingError
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import ExportRow, InvoiceRow, MessageRow
from tests.e2e.conftest import (
    budget,
    decide,
    request,
    restart_runner,
    token,
    verify_payload,
    wait_waiting,
    write_policy,
)

pytestmark = pytest.mark.integration
MANAGER, LEGAL = "maya.manager@example.com", "lena.legal@example.com"


def flow_run(run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id))


def message_counts(case_id: str) -> dict[str, int]:
    with session_scope(get_settings().db_url) as s:
        rows = s.execute(
            select(MessageRow.kind, func.count())
            .where(MessageRow.case_id == case_id)
            .group_by(MessageRow.kind)
        ).all()
    return dict(rows)


def stage_done(stage: str):
    def check(case) -> bool:  # noqa: ANN001
        return any(
            x["stage"] == stage and x["status"] == "done" for x in case_view(case.case_id)["stages"]
        )

    return check


def test_strategic_case_runs_the_whole_playbook(stack):
    opened = request("GLOBEX-ENT", "hank@globex.example", "E2E-GLOBEX", "consolidating")
    case_id = opened["case_id"]
    wait_waiting(case_id, "verification")

    run = flow_run(opened["flow_run_id"])
    assert run.name == f"GLOBEX-ENT-{case_id}"
    assert {"account:GLOBEX-ENT", "segment:enterprise", f"case:{case_id}"} <= set(run.tags)
    # suspended, not paused: no process is held while a person decides
    deadline = time.monotonic() + budget(runs=1)
    while not (run := flow_run(opened["flow_run_id"])).state.is_paused():
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert run.state.name == "Suspended"

    soon = (date.today() + timedelta(days=20)).isoformat()
    out = decide(
        case_id,
        "verify",
        verify_payload(
            "priya.raman@example.com",
            reason="competitor",
            competitor_name="Initrode",
            agreed_closure_date=soon,
            waive_notice=True,
            needs_knowledge_transfer=True,
        ),
    )
    assert out["accepted"] and out["decision"] == "confirmed"

    wait_waiting(case_id, "save-1")
    decide(
        case_id,
        "save-outcome",
        {"decided_by": "priya.raman@example.com", "outcome": "declined_conversation"},
    )
    wait_waiting(case_id, "approval-manager")
    decide(case_id, "approve", {"decided_by": MANAGER, "decision": "approve"})
    wait_waiting(case_id, "approval-legal")
    decide(
        case_id,
        "approve",
        {
            "decided_by": LEGAL,
            "decision": "approve",
            "comment": "early termination and waiver approved",
        },
    )

    wait_for(case_id, stage_done("deactivation"), timeout=budget(runs=4))
    view = case_view(case_id)
    assert view["status"] in ("closed", "purged")
    assert view["save_decision"]["attempt"] is True
    assert {a["role"]: a["status"] for a in view["approvals"]} == {
        "manager": "approved",
        "legal": "approved",
    }
    assert view["plan"]["closure_on"] == soon and view["plan"]["notice_waived"] is True
    assert view["invoice"] is not None
    assert view["winback"]["candidate"] is True
    counts = message_counts(case_id)
    for kind in (
        "acknowledgement",
        "save_invitation",
        "offboarding_plan",
        "export_ready",
        "knowledge_transfer_offer",
        "access_change_notice",
        "exit_survey_invitation",
        "closure_confirmation",
        "executive_note",
        "internal_churn_notification",
    ):
        assert counts.get(kind) == 1, (kind, counts)
    actions = [a["action"] for a in view["audit"]]
    assert "verification_accepted" in actions and "approval_accepted" in actions
    who = {(a["actor"], a["action"]) for a in view["audit"]}
    assert (LEGAL, "approval_accepted") in who
    ack = next(s for s in view["steps"] if s["step"] == "acknowledge")["result"]
    assert ack["met"] is True and ack["target_hours"] == 24


def test_duplicate_request_is_one_case(stack):
    first = request("ACME-SMB", "ann@acme-bakeries.example", "E2E-TCK-1", "closing")
    second = request("ACME-SMB", "ann@acme-bakeries.example", "E2E-TCK-1", "closing")
    assert second["case_id"] == first["case_id"] and second["created"] is False
    assert second["flow_run_id"] == first["flow_run_id"]
    case_id = first["case_id"]
    wait_waiting(case_id, "verification")
    actions = [a["action"] for a in case_view(case_id)["audit"]]
    assert actions.count("case_received") == 1 and actions.count("duplicate_request") == 1
    # finish it as a misrouted ticket so it waits for nothing
    decide(
        case_id,
        "verify",
        {
            "decided_by": "sam.carter@example.com",
            "is_cancellation": False,
            "reason_detail": "wanted billing help",
        },
    )
    case = wait_for(case_id, lambda c: c.status == "not_a_cancellation", budget(runs=2))
    assert case.waiting_for is None
    # the verifier was sent her own code (the decision request), the customer two messages
    assert message_counts(case_id) == {
        "acknowledgement": 1,
        "back_to_support": 1,
        "decision_request": 1,
    }
    with pytest.raises(OffboardingError, match="waits for no decision"):
        decide(case_id, "approve", {"decided_by": MANAGER, "decision": "approve"})


def test_refused_approver_is_recorded_and_asked_again(stack):
    from prefect.flow_runs import resume_flow_run

    opened = request("SOYLENT-EU", "jonas@soylent.example", "E2E-SOYLENT", "need SSO")
    case_id = opened["case_id"]
    wait_waiting(case_id, "verification")
    decide(
        case_id,
        "verify",
        verify_payload(
            "lena.fischer@example.com",
            reason="product_gap",
            product_gap="SAML SSO",
            unusual=True,
            customer_declines_sales_conversation=True,
        ),
    )
    wait_waiting(case_id, "approval-manager")

    # the CLI refuses the requester and a non-holder before touching the run
    with pytest.raises(OffboardingError, match="made this request"):
        decide(case_id, "approve", {"decided_by": "jonas@soylent.example", "decision": "approve"})
    with pytest.raises(OffboardingError, match="does not hold the manager role"):
        decide(case_id, "approve", {"decided_by": "dana.lee@example.com", "decision": "approve"})

    # the Prefect UI path: anyone can resume; the flow refuses, records and asks again
    from offboard.service import _wait_until_paused

    _wait_until_paused(opened["flow_run_id"])
    from offboard.service.tokens import token_proof

    dana = "dana.lee@example.com"  # she proves who she is; the role check still refuses her
    proof = token_proof(case_id, "approval-manager", dana, token(dana))
    resume_flow_run(
        UUID(opened["flow_run_id"]),
        run_input={**proof, "decision": "approve", "comment": "I am not a manager"},
    )
    case = wait_waiting(case_id, "approval-manager-2")
    assert case.status == "awaiting_approval"
    view = case_view(case_id)
    refused = [d for d in view["decisions"] if not d["accepted"]]
    assert refused and refused[0]["by"] == "dana.lee@example.com"
    assert "does not hold the manager role" in refused[0]["why"]
    assert sum(a["action"] == "approval_refused" for a in view["audit"]) == 3

    decide(case_id, "approve", {"decided_by": MANAGER, "decision": "approve"})
    wait_for(case_id, lambda c: c.status in ("offboarding", "closed", "purged"), budget(runs=3))


def test_no_decision_in_time_escalates_and_never_proceeds(stack, tmp_path):
    fast = write_policy(tmp_path / "fast.yaml", 20)  # 20 days x 0.25 s = 5 s
    restart_runner(stack, OFFBOARDING_POLICY_FILE=str(fast))
    try:
        opened = request("UMBRELLA-MM", "alice@umbrella.example", "E2E-UMB", "cancel!!")
        case_id = opened["case_id"]
        case = wait_for(case_id, lambda c: c.status == "escalated", budget(runs=3))
        assert case.waiting_for == "verification"  # still waiting: it did not proceed
        # the notice goes out just after the status changes: wait for it, then count it
        wait_for(
            case_id, lambda c: "escalation_notice" in message_counts(c.case_id), budget(runs=1)
        )
        assert message_counts(case_id).get("escalation_notice") == 1
        assert flow_run(opened["flow_run_id"]).state.is_paused()
        escalated = [a for a in case_view(case_id)["audit"] if a["action"] == "escalated"]
        assert escalated and "no decision" in escalated[0]["why"]
        # a late decision still lets the case go on
        decide(
            case_id, "verify", {"decided_by": "oliver.hughes@example.com", "is_cancellation": False}
        )
        wait_for(case_id, lambda c: c.status == "not_a_cancellation", budget(runs=2))
    finally:
        restart_runner(stack, OFFBOARDING_POLICY_FILE=str(stack.state_dir / "policy.yaml"))


def _recover(orphan_after: float = 5) -> list[str]:
    from tasks.sweeps import recover_orphaned_runs

    time.sleep(orphan_after + 3)
    return recover_orphaned_runs.fn(orphan_after)


def test_worker_killed_mid_run_finishes_without_repeats(stack):
    restart_runner(stack, OFFBOARDING_CHAOS_HOLD="knowledge_transfer:900")
    opened = request("KAMPUNG-MY", "ahmad@kampung.example", "E2E-KAMPUNG", "missing feature")
    case_id = opened["case_id"]
    wait_waiting(case_id, "verification")
    decide(
        case_id,
        "verify",
        verify_payload(
            "aisyah.rahman@example.com",
            reason="product_gap",
            product_gap="offline mode",
            needs_knowledge_transfer=True,
            customer_declines_sales_conversation=True,
        ),
    )

    def exported(case) -> bool:  # noqa: ANN001
        return any(s["step"] == "export_delivered" for s in case_view(case.case_id)["steps"])

    wait_for(case_id, exported, budget(runs=3))
    time.sleep(3)  # now held inside the knowledge-transfer task
    restart_runner(stack, OFFBOARDING_CHAOS_HOLD="closure_confirmation:900")
    assert opened["flow_run_id"] in _recover()

    def surveyed(case) -> bool:  # noqa: ANN001
        return message_counts(case.case_id).get("exit_survey_invitation") == 1

    wait_for(case_id, surveyed, budget(days=15, runs=4))
    time.sleep(3)  # now held before the closure confirmation, invoice already issued
    restart_runner(stack)
    assert _recover(), "the closure stage run should have been recovered"

    wait_for(case_id, stage_done("closure"), budget(days=15, runs=4))
    counts = message_counts(case_id)
    for kind in (
        "acknowledgement",
        "offboarding_plan",
        "export_ready",
        "knowledge_transfer_offer",
        "exit_survey_invitation",
        "closure_confirmation",
        "internal_churn_notification",
    ):
        assert counts.get(kind) == 1, (kind, counts)
    with session_scope(get_settings().db_url) as s:
        assert (
            s.scalar(
                select(func.count()).select_from(InvoiceRow).where(InvoiceRow.case_id == case_id)
            )
            == 1
        )
        assert (
            s.scalar(
                select(func.count()).select_from(ExportRow).where(ExportRow.case_id == case_id)
            )
            == 1
        )
    from tasks.export import store

    # day 90 comes within seconds here: the purge deletes every export object exactly once
    wait_for(case_id, stage_done("purge"), budget(days=105, runs=3))
    purged = next(x["result"] for x in case_view(case_id)["steps"] if x["step"] == "purge")
    # seven data parts, the PDF report and the manifest, none twice
    assert purged["objects_deleted"] == 9
    assert store().list_keys(f"exports/KAMPUNG-MY/{case_id}-export") == []
    assert message_counts(case_id).get("deletion_confirmation") == 1
    recovered = [a for a in case_view(case_id)["audit"] if a["action"] == "run_recovered"]
    # the main run and the closure run; a stage running beside it at the kill is recovered too
    assert len(recovered) >= 2
    # stages that came due while the case was stuck wait for closure; the sweeper runs them
    from flows.sweeper_flow import run_missed_stages

    _done, failed = run_missed_stages()
    assert not failed, failed
    wait_for(case_id, stage_done("deactivation"), budget(runs=2))
    assert counts == {k: v for k, v in message_counts(case_id).items() if k in counts}


def test_sweeper_cron_has_upcoming_runs(stack):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["daily-sweeper"]))
        )
    assert any(r.state and r.state.is_scheduled() for r in runs)


def test_resume_waits_for_the_input_form_not_just_the_paused_state(stack):
    """A resume before the run's input schema is stored is rejected ("Run input schema not
    found"), and one before the suspending process has stored its description (its last act)
    can reach a worker that still holds the run; so the CLI waits for both."""
    import json
    import threading

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.input.run_input import keyset_from_paused_state
    from prefect.states import Suspended

    from offboard.service import _wait_until_paused

    @flow(name="resume-race-probe")
    def probe() -> None:  # never runs: no deployment serves it
        return None

    with get_client(sync_client=True) as client:
        run = client.create_flow_run(probe)
        state = Suspended(timeout_seconds=600, pause_key="race")
        keyset = keyset_from_paused_state(state)
        state.state_details.run_input_keyset = keyset
        client.set_flow_run_state(run.id, state, force=True)
        assert client.read_flow_run(run.id).state.is_paused()

        outcome: list[BaseException | None] = []

        def wait() -> None:
            try:
                _wait_until_paused(str(run.id), timeout=budget(runs=1))
                outcome.append(None)
            except BaseException as exc:  # reported to the test thread
                outcome.append(exc)

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        waiter.join(2.0)
        assert waiter.is_alive() and outcome == []  # paused, but no form yet: still waiting
        client.create_flow_run_input(run.id, keyset["schema"], json.dumps({"type": "object"}))
        waiter.join(2.0)
        assert waiter.is_alive() and outcome == []  # the schema, but the process not done yet
        client.create_flow_run_input(run.id, keyset["description"], json.dumps("the form"))
        waiter.join(20)
        assert outcome == [None]
