"""The offboarding flow's stages before the plan: intake, acknowledgement, human decisions.

Each task is idempotent on (case, step) or (case, input key): when a suspended run resumes
from the top, every stage already done returns its recorded result and does nothing else.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from prefect import task
from sqlalchemy import select

from offboarding.approvals import ApprovalNeeds, check_approver, route_approvals
from offboarding.billing import prorata_refund
from offboarding.cases import (
    audit,
    decision_for,
    get_account,
    get_case,
    record_step,
    set_status,
    step_result,
    steps_of,
)
from offboarding.domain import CancellationRequest, CaseStatus, Reason, ReasonCategory
from offboarding.save_protocol import decide_save
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import ApprovalRow, DecisionRow, SaveAttemptRow
from offboarding.timeline import PlanError, plan_timeline
from tasks.common import RETRYING, chaos_hold, current_flow_run_id, db

FLOW = "offboarding-flow"


@task(name="intake", **RETRYING)
def intake(case_id: str) -> dict[str, Any]:
    """Link the case to this run; the case itself was opened (deduplicated) at request time."""
    with db() as s:
        case = get_case(s, case_id)
        run_id = current_flow_run_id()
        if run_id and case.flow_run_id != run_id:
            case.flow_run_id = run_id
        done = step_result(s, case_id, "intake")
        if done is None:
            done = {"account_id": case.account_id, "channel": case.channel}
            record_step(s, case_id, "intake", done, flow_run_id=run_id)
        return done


@task(name="acknowledge", **RETRYING)
def acknowledge(case_id: str) -> dict[str, Any]:
    """§1: acknowledge once, and measure it against the 24 h target in the account's business
    hours. A support ticket that mentions cancelling is acknowledged with the verification
    question (§2: cancel, or fix the problem?) instead of a plain acknowledgement."""
    from offboarding.ack_sla import OVERDUE_MARKER, ack_status
    from offboarding.mailer_ledger import unflag_case
    from tasks.messaging import send_message

    with db() as s:
        done = step_result(s, case_id, "acknowledge")
        if done is not None:
            return done
        case = get_case(s, case_id)
        kind = "verification_question" if case.channel == "support_ticket" else "acknowledgement"
    sent = send_message.fn(case_id, kind)
    with db() as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        case.acknowledged_at = case.acknowledged_at or utcnow()
        target = get_settings().policy().comms.acknowledgement_target_hours
        status = ack_status(case.requested_at, case.acknowledged_at, account.timezone, target)
        result = {
            "kind": kind,
            "hours": status.hours,
            "target_hours": target,
            "due_at": status.due_at.isoformat(),
            "met": status.met,
            "message": sent["location"],
        }
        unflag_case(s, case_id, OVERDUE_MARKER)
        record_step(s, case_id, "acknowledge", result)
        return result


@task(name="open-wait", **RETRYING)
def open_wait(
    case_id: str, input_key: str, status: str, what: str, command: str, role: str | None = None
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
        timeout = settings.policy().approvals.decision_timeout_days * settings.day_seconds
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
    _schedule_escalation_check(case_id, input_key, due)
    return {"input_key": input_key, "decision_due": due.isoformat()}


def _schedule_escalation_check(case_id: str, input_key: str, due) -> None:  # noqa: ANN001
    from prefect.deployments import run_deployment

    from deployments.names import ESCALATION

    run_deployment(
        ESCALATION,
        parameters={"case_id": case_id, "input_key": input_key},
        scheduled_time=due,
        timeout=0,
        as_subflow=False,
        idempotency_key=f"{case_id}-escalate-{input_key}",
        tags=[f"case:{case_id}"],
    )


def _store_decision(
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


def _previous(s, case_id: str, input_key: str) -> dict[str, Any] | None:  # noqa: ANN001
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


def _is_staff(email: str) -> tuple[bool, str]:
    """Verification is done by our own people: anyone holding a role or owning an account."""
    return (True, "") if "@" in email else (False, f"{email!r} is not an email address")


@task(name="record-verification", **RETRYING)
def record_verification(case_id: str, input_key: str, value: dict[str, Any]) -> dict[str, Any]:
    """§2: intent confirmed or not, reason captured; a plan that breaks a rule is re-asked."""
    with db() as s:
        prev = _previous(s, case_id, input_key)
        if prev is not None:
            return prev
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        by = value["decided_by"]
        ok, why = _is_staff(by)
        if ok and value["is_cancellation"]:
            try:
                plan_timeline(
                    account,
                    date.today(),
                    get_settings().policy(),
                    wished_date=_date(value.get("agreed_closure_date")),
                    waive_notice=value.get("waive_notice", False),
                )
            except PlanError as exc:
                ok, why = False, f"timeline not possible: {exc}"
        if not ok:
            return _store_decision(
                s, case_id, input_key, "verification", None, by, "invalid", False, why, value
            )
        if value["is_cancellation"]:
            case.reason = Reason(
                category=ReasonCategory(value["reason"]),
                detail=value.get("reason_detail", ""),
                competitor_name=value.get("competitor_name") or None,
                competitor_contract_signed=value.get("competitor_contract_signed", False),
                product_gap=value.get("product_gap") or None,
                preventable=value.get("preventable"),
                missed_warning_signs=value.get("missed_warning_signs", ""),
            ).model_dump(mode="json")
            decision = "confirmed"
        else:
            case.reason = {
                "category": "not_a_cancellation",
                "detail": value.get("reason_detail", ""),
            }
            decision = "not_a_cancellation"
        return _store_decision(
            s,
            case_id,
            input_key,
            "verification",
            None,
            by,
            decision,
            True,
            "intent verified",
            value,
        )


def _date(v: Any) -> date | None:
    if not v:
        return None
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


@task(name="not-a-cancellation", **RETRYING)
def close_not_a_cancellation(case_id: str) -> dict[str, Any]:
    from tasks.messaging import send_message

    send_message.fn(case_id, "back_to_support", extra={})
    return _finish(case_id, CaseStatus.not_a_cancellation, "misrouted; back to support")


def _finish(case_id: str, status: CaseStatus, why: str) -> dict[str, Any]:
    """End a case that leaves the offboarding path (saved, not a cancellation)."""
    with db() as s:
        case = get_case(s, case_id)
        set_status(s, case, status, FLOW, why)
        case.completed_at = case.completed_at or utcnow()
    return {"status": str(status)}


@task(name="save-decision", **RETRYING)
def save_decision(case_id: str, verification: dict[str, Any]) -> dict[str, Any]:
    """§3 by policy: attempt or accept, with every criterion that decided it."""
    with db() as s:
        done = step_result(s, case_id, "save_decision")
        if done is not None:
            return done
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        request = CancellationRequest.model_validate(case.request)
        v = verification["data"]
        request = request.model_copy(
            update={
                "declines_sales_conversation": request.declines_sales_conversation
                or v.get("customer_declines_sales_conversation", False),
                "firm_decision": request.firm_decision or v.get("firm_decision", False),
            }
        )
        d = decide_save(
            account,
            request,
            Reason.model_validate(case.reason),
            get_settings().policy().save,
            date.today(),
        )
        result = {
            "attempt": d.attempt,
            "max_conversations": d.max_conversations,
            "attempt_criteria": list(d.attempt_criteria),
            "accept_criteria": list(d.accept_criteria),
            "why": d.why,
        }
        case.save_decision = result
        record_step(s, case_id, "save_decision", result)
        audit(s, case_id, "policy", "save_decision", "attempt" if d.attempt else "accept", d.why)
        return result


@task(name="record-save-outcome", **RETRYING)
def record_save_outcome(
    case_id: str, input_key: str, number: int, value: dict[str, Any]
) -> dict[str, Any]:
    """§3: every attempt is recorded, saved or not, with what was offered and said."""
    with db() as s:
        prev = _previous(s, case_id, input_key)
        if prev is not None:
            return prev
        by = value["decided_by"]
        ok, why = _is_staff(by)
        if not ok:
            return _store_decision(
                s, case_id, input_key, "save_outcome", None, by, "invalid", False, why, value
            )
        s.add(
            SaveAttemptRow(
                case_id=case_id,
                number=number,
                led_by=by,
                offered=value.get("offered", ""),
                customer_said=value.get("customer_said", ""),
                outcome=value["outcome"],
                why=value.get("why", ""),
                at=utcnow(),
            )
        )
        return _store_decision(
            s,
            case_id,
            input_key,
            "save_outcome",
            None,
            by,
            value["outcome"],
            True,
            value.get("why", ""),
            value,
        )


@task(name="mark-saved", **RETRYING)
def mark_saved(case_id: str) -> dict[str, Any]:
    return _finish(case_id, CaseStatus.saved, "the customer stays")


@task(name="plan-and-route", **RETRYING)
def plan_and_route(case_id: str, verification: dict[str, Any]) -> dict[str, Any]:
    """§5 plan from the agreed date, then §4 routing from what the plan changes."""
    with db() as s:
        done = step_result(s, case_id, "plan")
        if done is not None:
            return done
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        policy = get_settings().policy()
        v = verification["data"]
        plan = plan_timeline(
            account,
            date.today(),
            policy,
            wished_date=_date(v.get("agreed_closure_date")),
            waive_notice=v.get("waive_notice", False),
        )
        refund_terms = float(prorata_refund(account, plan.closure_on))
        refund = float(v.get("refund_amount") or refund_terms)
        needs = ApprovalNeeds(
            arr=account.arr,
            unusual=v.get("unusual", False),
            early_termination=plan.early_termination,
            notice_waived=plan.notice_waived,
            refund_amount=refund,
            refund_due_by_terms=refund_terms,
        )
        routes = route_approvals(needs, policy.approvals)
        result = {
            "plan": plan.to_dict(),
            "refund_amount": refund,
            "refund_by_terms": refund_terms,
            "approvals": [{"role": r.role, "reasons": list(r.reasons)} for r in routes],
        }
        case.plan = plan.to_dict()
        for r in routes:
            if (
                s.scalar(
                    select(ApprovalRow).where(
                        ApprovalRow.case_id == case_id, ApprovalRow.role == r.role
                    )
                )
                is None
            ):
                s.add(
                    ApprovalRow(
                        case_id=case_id, role=r.role, reasons=list(r.reasons), status="pending"
                    )
                )
        record_step(s, case_id, "plan", result)
        return result


@task(name="record-approval", **RETRYING)
def record_approval(
    case_id: str, input_key: str, role: str, value: dict[str, Any]
) -> dict[str, Any]:
    """§4: only a holder of the role, never the requester; a refusal is kept and re-asked."""
    with db() as s:
        prev = _previous(s, case_id, input_key)
        if prev is not None:
            return prev
        case = get_case(s, case_id)
        by = value["decided_by"]
        check = check_approver(by, role, case.requested_by, get_settings().policy().holders(role))
        if not check.allowed:
            return _store_decision(
                s,
                case_id,
                input_key,
                "approval",
                role,
                by,
                value["decision"],
                False,
                check.why,
                value,
                value.get("comment", ""),
            )
        row = s.scalar(
            select(ApprovalRow).where(ApprovalRow.case_id == case_id, ApprovalRow.role == role)
        )
        approved = value["decision"] == "approve"
        if row is not None:
            row.status = "approved" if approved else "rejected"
            row.decided_by, row.comment, row.at = by, value.get("comment", ""), utcnow()
        result = _store_decision(
            s,
            case_id,
            input_key,
            "approval",
            role,
            by,
            value["decision"],
            True,
            check.why,
            value,
            value.get("comment", ""),
        )
        if not approved:
            set_status(
                s, case, CaseStatus.escalated, by, f"{role} rejected: {value.get('comment', '')}"
            )
        return result


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
    return send_message.fn(case_id, "escalation_notice", seq=done["seq"], extra=done)


@task(name="start-offboarding", **RETRYING)
def start_offboarding(case_id: str) -> dict[str, Any]:
    """Approved (or no approval needed): the customer gets the dated plan."""
    from tasks.messaging import send_message

    with db() as s:
        case = get_case(s, case_id)
        set_status(s, case, CaseStatus.offboarding, FLOW, "plan agreed and approved")
    chaos_hold("start_offboarding")
    return send_message.fn(case_id, "offboarding_plan")
