"""Human steps, shared by every stage that waits for a person (§2-§4): open a wait with its
escalation deadline, store a decision once per input key, escalate when nobody decides."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

from prefect import task

from offboarding.cases.store import (
    audit,
    decision_for,
    get_case,
    record_step,
    set_status,
    step_result,
    steps_of,
)
from offboarding.domain import CaseStatus
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import DecisionRow
from offboarding.trust.standing import ACCOUNT_ROLE
from tasks.common import FLOW, RETRYING, db


@task(name="open-wait", **RETRYING)
def open_wait(
    case_id: str,
    input_key: str,
    status: str,
    what: str,
    command: str,
    role: str | None = None,
    timeout_days: float | None = None,
) -> dict[str, Any]:
    """Record that the case now waits for a person, and when it must escalate.

    Does nothing when this input key already has a decision (a resumed run passing by).
    """
    settings = get_settings()
    with db() as s:
        case = get_case(s, case_id)
        if decision_for(s, case_id, input_key) is not None:
            return {"input_key": input_key, "already_decided": True}
        if case.waiting_for == input_key:
            return {"input_key": input_key, "decision_due": case.decision_due.isoformat()}
        policy = settings.policy()
        # the account's own contacts get the policy's confirmation window (§1), staff the
        # decision timeout (§4)
        default = policy.trust.confirmation_days if role == ACCOUNT_ROLE else None
        days = timeout_days or default or policy.approvals.decision_timeout_days
        timeout = days * settings.day_seconds
        now = utcnow()
        case.waiting_for, case.waiting_since = input_key, now
        case.decision_due = now + timedelta(seconds=timeout)
        set_status(s, case, CaseStatus(status), FLOW, f"waiting for {what}")
        audit(
            s,
            case_id,
            FLOW,
            "waiting",
            what,
            data={"input_key": input_key, "role": role, "command": command},
        )
        due = case.decision_due
    schedule_escalation_check(case_id, input_key, due)
    return {"input_key": input_key, "decision_due": due.isoformat()}


def schedule_escalation_check(case_id: str, input_key: str, due, again: bool = False) -> None:  # noqa: ANN001
    """A scheduled run at `due` that escalates if the case still waits; `again` for a check
    rescheduled by an earlier one (its own idempotency key, tied to the new deadline)."""
    from prefect.deployments import run_deployment

    from tasks.deployment_names import ESCALATION

    run_deployment(
        ESCALATION,
        parameters={"case_id": case_id, "input_key": input_key},
        scheduled_time=due,
        timeout=0,
        as_subflow=False,
        idempotency_key=f"{case_id}-escalate-{input_key}"
        + (f"-{due:%Y%m%dT%H%M%S%f}" if again else ""),
        tags=[f"case:{case_id}"],
    )


@task(name="withdraw-escalation-check", **RETRYING)
def withdraw_escalation_check(case_id: str, input_key: str) -> int:
    """The wait is answered: delete its escalation check while it is still only scheduled, so
    no process starts at the deadline just to find nothing to do (the UI's upcoming runs then
    show only the waits still open). A check that already ran or runs is left alone. Done once
    per wait: the run restarts from the top at every resume and finds it recorded."""
    step = f"escalation_withdrawn:{input_key}"
    with db() as s:
        if (done := step_result(s, case_id, step)) is not None:
            return int(done.get("withdrawn", 0))
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound

    from tasks.deployment_names import ESCALATION

    withdrawn = 0
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(ESCALATION)
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
                tags=FlowRunFilterTags(all_=[f"case:{case_id}"]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
            )
        )
        for run in runs:
            if run.parameters.get("input_key") == input_key:
                with contextlib.suppress(ObjectNotFound):  # gone already: a retried DELETE
                    client.delete_flow_run(run.id)  # whose first answer was lost under load
                withdrawn += 1
    with db() as s:
        if step_result(s, case_id, step) is None:
            record_step(s, case_id, step, {"withdrawn": withdrawn})
    return withdrawn


def store_decision(
    s,
    case_id: str,
    input_key: str,
    kind: str,
    role: str | None,
    decided_by: str,  # noqa: ANN001
    decision: str,
    accepted: bool,
    why: str,
    data: dict,
    comment: str = "",
) -> dict[str, Any]:
    s.add(
        DecisionRow(
            case_id=case_id,
            input_key=input_key,
            kind=kind,
            role=role,
            decided_by=decided_by,
            decision=decision,
            comment=comment,
            accepted=accepted,
            why=why,
            data=data,
            at=utcnow(),
        )
    )
    audit(
        s,
        case_id,
        decided_by,
        f"{kind}_{'accepted' if accepted else 'refused'}",
        f"{decision} ({input_key})",
        why,
        data=data,
    )
    case = get_case(s, case_id)
    if case.waiting_for == input_key:
        case.waiting_for = case.waiting_since = case.decision_due = None
    return {
        "accepted": accepted,
        "why": why,
        "decision": decision,
        "data": data,
        "decided_by": decided_by,
    }


def previous_decision(s, case_id: str, input_key: str) -> dict[str, Any] | None:  # noqa: ANN001
    row = decision_for(s, case_id, input_key)
    if row is None:
        return None
    return {
        "accepted": row.accepted,
        "why": row.why,
        "decision": row.decision,
        "data": row.data,
        "decided_by": row.decided_by,
    }


def is_staff(email: str) -> tuple[bool, str]:
    """Verification is done by our own people: anyone holding a role or owning an account."""
    return (True, "") if "@" in email else (False, f"{email!r} is not an email address")


def as_date(v: Any) -> date | None:
    if not v:
        return None
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def finish_case(case_id: str, status: CaseStatus, why: str) -> dict[str, Any]:
    """End a case that leaves the offboarding path (saved, not a cancellation)."""
    with db() as s:
        case = get_case(s, case_id)
        set_status(s, case, status, FLOW, why)
        case.completed_at = case.completed_at or utcnow()
    return {"status": str(status)}


@task(name="notify-escalation", **RETRYING)
def notify_escalation(case_id: str, input_key: str, why: str, comment: str = "") -> dict:
    """Status `escalated` plus one notice per waiting input; never proceeds by itself."""
    from tasks.messaging import send_message

    step = f"escalation-{input_key}"
    with db() as s:
        case = get_case(s, case_id)
        done = step_result(s, case_id, step)
        if done is None:
            seq = 1 + sum(1 for st in steps_of(s, case_id) if st.step.startswith("escalation-"))
            done = {
                "why": why,
                "seq": seq,
                "waiting_for": input_key,
                "comment": comment,
                "waiting_since": str(case.waiting_since),
                "decision_due": str(case.decision_due),
                "command": "approve" if input_key.startswith("approval") else "decide",
            }
            set_status(s, case, CaseStatus.escalated, FLOW, why)
            audit(s, case_id, FLOW, "escalated", input_key, why)
            record_step(s, case_id, step, done)
    sent = send_message.fn(case_id, "escalation_notice", seq=done["seq"], extra=done)
    from contextlib import suppress

    from offboarding.integrations.errors import CallBlocked
    from tasks.vendor_slack import post_escalation

    with suppress(CallBlocked):  # the managers' Slack channel too; a refusal flags the case
        post_escalation(case_id, done)
    return sent
