"""§4-§5 plan and approvals: the dated plan, who must approve it, each approval recorded
and role-checked; approved cases start offboarding."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from sqlalchemy import select

from offboarding.cases.approvals import ApprovalNeeds, check_approver, route_approvals
from offboarding.cases.billing import prorata_refund
from offboarding.cases.store import (
    get_account,
    get_case,
    record_step,
    set_status,
    step_result,
)
from offboarding.cases.timeline import plan_timeline
from offboarding.domain import CaseStatus
from offboarding.integrations.webhook_events import CASE_APPROVED, record_event
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import ApprovalRow
from tasks.common import FLOW, RETRYING, chaos_hold, db
from tasks.decisions import (
    as_date,
    previous_decision,
    store_decision,
)


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
            wished_date=as_date(v.get("agreed_closure_date")),
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
        prev = previous_decision(s, case_id, input_key)
        if prev is not None:
            return prev
        case = get_case(s, case_id)
        by = value["decided_by"]
        check = check_approver(by, role, case.requested_by, get_settings().policy().holders(role))
        if not check.allowed:
            return store_decision(
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
        result = store_decision(
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
        if approved:
            record_event(s, CASE_APPROVED, {"case_id": case_id, "account_id": case.account_id,
                         "role": role}, case_id)  # fmt: skip
        if not approved:
            set_status(
                s, case, CaseStatus.escalated, by, f"{role} rejected: {value.get('comment', '')}"
            )
        return result


@task(name="start-offboarding", **RETRYING)
def start_offboarding(case_id: str) -> dict[str, Any]:
    """Approved (or no approval needed): the customer gets the dated plan."""
    from tasks.messaging import send_message

    with db() as s:
        case = get_case(s, case_id)
        set_status(s, case, CaseStatus.offboarding, FLOW, "plan agreed and approved")
    chaos_hold("start_offboarding")
    sent = send_message.fn(case_id, "offboarding_plan")
    _end_subscription_at_closure(case_id)
    return sent


def _end_subscription_at_closure(case_id: str) -> None:
    """Stripe (when on): the subscription ends at the agreed closure day, never before. A
    refusal has flagged the case for a person; the closure stage asks again before billing."""
    from contextlib import suppress

    from offboarding.integrations.errors import CallBlocked
    from tasks.vendor_billing import schedule_cancellation

    with suppress(CallBlocked):
        schedule_cancellation(case_id)
