"""One run per cancellation: intake to the scheduled later stages (PLAYBOOK §1–§10).

The run suspends (no process held) at each human decision and restarts from the top when
resumed; every stage before a suspension is an idempotent task, so nothing repeats. The
flow body itself does no I/O outside tasks.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.inputs import (
    ApprovalInput,
    RequesterConfirmationInput,
    SaveOutcomeInput,
    VerificationInput,
)
from flows.suspension import suspend_for_input
from offboarding.trust.standing import ACCOUNT_ROLE
from tasks.approvals import plan_and_route, record_approval, start_offboarding
from tasks.artifacts import publish_case_summary
from tasks.decisions import notify_escalation, open_wait, withdraw_escalation_check
from tasks.intake import acknowledge, intake
from tasks.proofs import prove_decider, send_decision_requests
from tasks.requester import KEY as REQUESTER_KEY
from tasks.requester import record_requester_confirmation
from tasks.save_attempts import mark_saved, record_save_outcome, save_decision
from tasks.stage_schedule import schedule_stages
from tasks.stages import knowledge_transfer
from tasks.verification import close_not_a_cancellation, record_verification

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
        open_wait(case_id, key, status, what, command, role)
        send_decision_requests(case_id, key, what, command, role)
        prompt = (
            f"**Case {case_id}: {what}.**\n\n"
            "Enter your work email and the one-time code from your decision email; a decision "
            "without the decider's own code is refused. "
            f"Or from the CLI, with your API token: `offboard {command} {case_id} ...`. "
            "Your email is checked against the roles in the policy."
        )
        value = suspend_for_input(model.with_initial_data(description=prompt), key)
        withdraw_escalation_check(case_id, key)
        given = value.model_dump(mode="json")
        proof = prove_decider(case_id, key, given)
        if not proof["accepted"]:
            # why is in the audit log; logs carry no personal data (they outlive a purge)
            get_run_logger().warning("refused %s (identity not proven); asking again", key)
            continue
        given.pop("decision_code", None)
        given["decided_by"], given["proven_by"] = proof["person"], proof["method"]
        if role is not None:
            record_kwargs["role"] = role
        verdict = record(case_id, key, value=given, **record_kwargs)
        if verdict["accepted"]:
            return verdict
        get_run_logger().warning("refused %s (see the audit log); asking again", key)
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
            record_save_outcome,
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
    received = intake(case_id)
    acknowledge(case_id)
    requester = f"requester {received.get('requester')}: {received.get('standing_text')}"
    if received.get("standing", "authorised") != "authorised":
        # §1 trust boundary: a stranger's request waits for the account's own confirmation
        answer = ask(
            case_id,
            REQUESTER_KEY,
            RequesterConfirmationInput,
            "awaiting_requester_confirmation",
            f"confirmation by the account's authorised contacts ({requester})",
            "confirm-requester",
            record_requester_confirmation,
            role=ACCOUNT_ROLE,
        )
        if answer["decision"] != "confirm":
            publish_case_summary(case_id, "refused by the account: nothing changed")
            return {"case_id": case_id, "status": "refused_by_account"}
        requester += ", confirmed by the account"

    verification = ask(
        case_id,
        "verification",
        VerificationInput,
        "awaiting_verification",
        f"verify the cancellation and its reason ({requester})",
        "verify",
        record_verification,
    )
    if verification["decision"] == "not_a_cancellation":
        result = close_not_a_cancellation(case_id)
        publish_case_summary(case_id, "not a cancellation: back to support")
        return result

    decision = save_decision(case_id, verification)
    if decision["attempt"]:
        outcome = save_conversations(case_id, decision["max_conversations"])
        if outcome == "saved":
            result = mark_saved(case_id)
            publish_case_summary(case_id, "saved")
            return result

    routed = plan_and_route(case_id, verification)
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
                record_approval,
                role=role,
            )
            if verdict["decision"] == "approve":
                break
            notify_escalation(
                case_id, step, f"{role} rejected the plan", verdict["data"].get("comment", "")
            )
        else:
            raise RuntimeError(f"case {case_id}: {role} approval never given")

    start_offboarding(case_id)
    # imported here: the export stack (pyarrow, polars, reportlab, boto3) costs ~1 s of CPU per
    # process, and most runs of a case (every resume before this point) never export
    from flows.export_flow import export_flow

    export_flow(account_id=account_id, case_id=case_id)
    knowledge_transfer(case_id, verification["data"].get("needs_knowledge_transfer", False))
    scheduled = schedule_stages(case_id)
    publish_case_summary(case_id, "offboarding: later stages scheduled")
    return {"case_id": case_id, "status": "offboarding", "stages": scheduled}
