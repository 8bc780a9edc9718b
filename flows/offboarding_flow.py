"""One run per cancellation: intake to the scheduled later stages (PLAYBOOK §1–§10).

The run suspends (no process held) at each human decision and restarts from the top when
resumed; every stage before a suspension is an idempotent task, so nothing repeats. The
flow body itself does no I/O outside tasks.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.flow_runs import suspend_flow_run

from flows.export_flow import export_flow
from flows.inputs import ApprovalInput, SaveOutcomeInput, VerificationInput
from tasks import case_steps as steps
from tasks.artifacts import publish_case_summary
from tasks.stages import knowledge_transfer, schedule_stages

MAX_ASKS = 10  # a refused answer is asked again; this bounds a run that is being misused


def ask(
    case_id: str,
    step: str,
    model: type,
    status: str,
    what: str,
    command: str,
    record: Any,
    role: str | None = None,
    **record_kwargs: Any,
) -> dict[str, Any]:
    """Suspend for a person's decision; a refused decision is recorded and asked again."""
    for attempt in range(1, MAX_ASKS + 1):
        key = step if attempt == 1 else f"{step}-{attempt}"
        steps.open_wait(case_id, key, status, what, command, role)
        prompt = (
            f"**Case {case_id}: {what}.**\n\n"
            f"Or from the CLI: `offboard {command} {case_id} ...`. "
            "Your email is checked against the roles in the policy."
        )
        value = suspend_flow_run(
            wait_for_input=model.with_initial_data(description=prompt), key=key
        )
        if role is not None:
            record_kwargs["role"] = role
        verdict = record(case_id, key, value=value.model_dump(mode="json"), **record_kwargs)
        if verdict["accepted"]:
            return verdict
        get_run_logger().warning("refused %s: %s; asking again", key, verdict["why"])
    raise RuntimeError(f"case {case_id}: {step} refused {MAX_ASKS} times; see the audit log")


def save_conversations(case_id: str, max_conversations: int) -> str:
    """§3: at most one conversation (two for strategic); a decline ends the attempt."""
    from tasks.messaging import send_message

    send_message(case_id, "save_invitation")
    outcome = "not_saved"
    for number in range(1, max_conversations + 1):
        verdict = ask(
            case_id,
            f"save-{number}",
            SaveOutcomeInput,
            "awaiting_save_outcome",
            f"outcome of save conversation {number} of at most {max_conversations}",
            "save-outcome",
            steps.record_save_outcome,
            number=number,
        )
        outcome = verdict["decision"]
        if outcome != "not_saved" or not verdict["data"].get("another_conversation_agreed"):
            break
    return outcome


@flow(
    name="offboarding",
    flow_run_name="{account_id}-{case_id}",
    persist_result=True,
    log_prints=True,
)
def offboarding_flow(case_id: str, account_id: str) -> dict[str, Any]:
    steps.intake(case_id)
    steps.acknowledge(case_id)

    verification = ask(
        case_id,
        "verification",
        VerificationInput,
        "awaiting_verification",
        "verify the cancellation and its reason",
        "verify",
        steps.record_verification,
    )
    if verification["decision"] == "not_a_cancellation":
        result = steps.close_not_a_cancellation(case_id)
        publish_case_summary(case_id, "not a cancellation: back to support")
        return result

    decision = steps.save_decision(case_id, verification)
    if decision["attempt"]:
        outcome = save_conversations(case_id, decision["max_conversations"])
        if outcome == "saved":
            result = steps.mark_saved(case_id)
            publish_case_summary(case_id, "saved")
            return result

    routed = steps.plan_and_route(case_id, verification)
    for route in routed["approvals"]:
        role = route["role"]
        for rnd in range(1, MAX_ASKS + 1):
            # A rejection never proceeds: it escalates and the run waits for a new decision.
            step = f"approval-{role}" if rnd == 1 else f"approval-{role}-round{rnd}"
            verdict = ask(
                case_id,
                step,
                ApprovalInput,
                "awaiting_approval" if rnd == 1 else "escalated",
                f"{role} approval ({', '.join(route['reasons'])})",
                "approve",
                steps.record_approval,
                role=role,
            )
            if verdict["decision"] == "approve":
                break
            steps.notify_escalation(
                case_id, step, f"{role} rejected the plan", verdict["data"].get("comment", "")
            )
        else:
            raise RuntimeError(f"case {case_id}: {role} approval never given")

    steps.start_offboarding(case_id)
    export_flow(account_id=account_id, case_id=case_id)
    knowledge_transfer(case_id, verification["data"].get("needs_knowledge_transfer", False))
    scheduled = schedule_stages(case_id)
    publish_case_summary(case_id, "offboarding: later stages scheduled")
    return {"case_id": case_id, "status": "offboarding", "stages": scheduled}
