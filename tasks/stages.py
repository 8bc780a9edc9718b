"""Stages after the plan (§5–§10): knowledge transfer, the scheduled later stages, close-out.

When they run is `tasks.stage_schedule`'s: shared slot runs (upcoming in the UI), due times in
our database so the daily sweeper can run any missed. Every stage is idempotent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from prefect import task
from sqlalchemy import select

from offboarding.cases.billing import final_invoice
from offboarding.cases.store import (
    audit,
    get_account,
    get_case,
    record_step,
    set_status,
    step_result,
)
from offboarding.domain import CaseStatus, Reason
from offboarding.settings import get_settings
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import InvoiceRow, StageRow
from offboarding.winback.tag import winback_tag
from tasks.common import RETRYING, chaos_hold, db
from tasks.messaging import send_message

FLOW = "offboarding-flow"
STAGES = ("access_reduction", "closure", "deactivation", "purge")
SYSTEMS = ("admin_portal", "crm", "support_tools", "chat_channels", "mail_groups")


@task(name="knowledge-transfer", **RETRYING)
def knowledge_transfer(case_id: str, needed: bool) -> dict[str, Any]:
    """§5 days 4–7, only if needed: offer a walkthrough of workflows and configuration."""
    with db() as s:
        done = step_result(s, case_id, "knowledge_transfer")
        if done is not None:
            return done
    chaos_hold("knowledge_transfer")
    sent = send_message.fn(case_id, "knowledge_transfer_offer") if needed else None
    result = {"needed": needed, "offer": sent["location"] if sent else None}
    with db() as s:
        record_step(s, case_id, "knowledge_transfer", result)
    return result


@task(name="due-stages", **RETRYING)
def due_stages(case_id: str) -> list[str]:
    """Stages of this case due now and not done: after a late closure they run right away."""
    with db() as s:
        rows = s.scalars(select(StageRow).where(StageRow.case_id == case_id)).all()
        now = utcnow()
        return [r.stage for r in rows if r.status != "done" and as_utc(r.due_at) <= now]


def _closed(s, case_id: str) -> bool:  # noqa: ANN001
    """Deactivation and purge come after closure, whatever their clocks say: after the whole
    closure stage (billing, closure, communications, internal close-out), not only after the
    account's status turned closed, or a deactivation running beside the close-out would
    overtake it."""
    if get_case(s, case_id).status not in (CaseStatus.closed, CaseStatus.purged):
        return False
    row = s.scalar(select(StageRow).where(StageRow.case_id == case_id, StageRow.stage == "closure"))
    return row is None or row.status == "done"


def _stage_done(s, case_id: str, stage: str) -> None:  # noqa: ANN001
    row = s.scalar(select(StageRow).where(StageRow.case_id == case_id, StageRow.stage == stage))
    if row is not None and row.status != "done":
        row.status, row.done_at = "done", utcnow()


@task(name="access-reduction", **RETRYING)
def access_reduction(case_id: str) -> dict[str, Any]:
    """§5 day 8: reduce permissions step by step; access stays active until closure. With
    SCIM on, the account's users are deactivated in the product's directory first."""
    from offboarding.integrations.settings import integration_settings

    with db() as s:
        done = step_result(s, case_id, "access_reduction")
    directory = None
    if done is None and integration_settings().scim_on:  # the SCIM client only when it is on
        from tasks.vendor_scim import deactivate_directory_users

        directory = deactivate_directory_users(case_id)
    with db() as s:
        done = step_result(s, case_id, "access_reduction")
        if done is None:
            case = get_case(s, case_id)
            done = {
                "admin_write": "revoked",
                "read_and_export": "active",
                "active_until": case.plan["closure_on"],
            }
            if directory is not None:
                done["directory"] = directory
            record_step(s, case_id, "access_reduction", done)
    send_message.fn(case_id, "access_change_notice")
    with db() as s:
        _stage_done(s, case_id, "access_reduction")
    return done


@task(name="final-billing", **RETRYING)
def final_billing(case_id: str) -> dict[str, Any]:
    """§7: one final invoice per case; pro-rata refund of prepaid time, nothing after closure.
    With Stripe on, the subscription's end is made sure of and the refund given there, once."""
    data = _final_invoice(case_id)
    from tasks.vendor_billing import refund_final_invoice, schedule_cancellation

    schedule_cancellation(case_id)
    refund_final_invoice(case_id)
    return data


def _final_invoice(case_id: str) -> dict[str, Any]:
    with db() as s:
        row = s.get(InvoiceRow, case_id)
        if row is not None:
            return row.data
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        plan = step_result(s, case_id, "plan") or {}
        refund = plan.get("refund_amount")
        invoice = final_invoice(
            account, date.fromisoformat(case.plan["closure_on"]), refund_override=refund
        )
        data = invoice.to_dict()
        s.add(
            InvoiceRow(
                case_id=case_id,
                issued_on=invoice.issued_on,
                total=str(invoice.total),
                refund_due=str(invoice.refund_due),
                data=data,
            )
        )
        audit(
            s,
            case_id,
            "billing",
            "final_invoice",
            f"total {invoice.total}",
            data={"refund_due": str(invoice.refund_due)},
        )
        return data


@task(name="close-account", **RETRYING)
def close_account(case_id: str) -> dict[str, Any]:
    with db() as s:
        case = get_case(s, case_id)
        if case.status == CaseStatus.offboarding:
            case.closed_on = date.fromisoformat(case.plan["closure_on"])
            set_status(s, case, CaseStatus.closed, FLOW, "final invoice issued; account closed")
            case.completed_at = case.completed_at or utcnow()
        return {"closed_on": case.plan["closure_on"]}


@task(name="closure-communications", **RETRYING)
def closure_communications(case_id: str) -> list[dict[str, Any]]:
    """§8–§9: survey invitation, closure confirmation with the invoice, executive note."""
    with db() as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        inv = s.get(InvoiceRow, case_id)
        from offboarding.cases.billing import FinalInvoice, InvoiceLine

        invoice = FinalInvoice(
            inv.data["account_id"],
            inv.data["currency"],
            date.fromisoformat(inv.data["issued_on"]),
            date.fromisoformat(inv.data["closure_on"]),
            tuple(InvoiceLine(x["description"], Decimal(x["amount"])) for x in inv.data["lines"]),
        )
    from offboarding.cases.invoice_pdf import invoice_pdf  # reportlab: only closure needs it

    pdf = invoice_pdf(invoice, account.name)
    sent = [send_message.fn(case_id, "exit_survey_invitation")]
    chaos_hold("closure_confirmation")
    sent.append(
        send_message.fn(
            case_id,
            "closure_confirmation",
            extra={"attachments": [(f"final-invoice-{case_id}.pdf", pdf, "application/pdf")]},
        )
    )
    if account.strategic:
        sent.append(send_message.fn(case_id, "executive_note"))
    return sent


@task(name="internal-closeout", **RETRYING)
def internal_closeout(case_id: str) -> dict[str, Any]:
    """§10: CRM churned with reason tags, ARR closed, team told, learnings, win-back tag."""
    with db() as s:
        done = step_result(s, case_id, "internal_closeout")
        if done is None:
            case = get_case(s, case_id)
            account = get_account(s, case.account_id)
            reason = Reason.model_validate(case.reason)
            policy = get_settings().policy()
            candidate, remind, why = winback_tag(account, reason, case.closed_on, policy)
            case.winback_candidate, case.winback_remind_on = candidate, remind
            done = {
                "crm": {
                    "status": "churned",
                    "reason_tags": [str(reason.category)]
                    + ([f"competitor:{reason.competitor_name}"] if reason.competitor_name else [])
                    + ([f"gap:{reason.product_gap}"] if reason.product_gap else []),
                    "removed_from_active": True,
                    "forecast_updated": True,
                },
                "revenue": {
                    "arr_closed": account.arr,
                    "mrr_closed": round(account.arr / 12, 2),
                    "currency": account.currency,
                },
                "learnings": {
                    "preventable": reason.preventable,
                    "missed_warning_signs": reason.missed_warning_signs,
                },
                "winback": {
                    "candidate": candidate,
                    "remind_on": remind.isoformat() if remind else None,
                    "why": why,
                },
            }
            record_step(s, case_id, "internal_closeout", done)
    send_message.fn(
        case_id,
        "internal_churn_notification",
        extra={
            "winback_candidate": done["winback"]["candidate"],
            "winback_remind_on": done["winback"]["remind_on"],
        },
    )
    vendors = _closeout_vendors(case_id, done)
    with db() as s:
        _stage_done(s, case_id, "closure")
    return {**done, "vendors": vendors} if vendors else done


def _closeout_vendors(case_id: str, done: dict[str, Any]) -> dict[str, Any]:
    """HubSpot and Slack when they are on (each once, through the ledger). A refusal of one
    does not keep the other from going; the first refusal is raised after both tried, so the
    closure stage stays not done until a person releases the call."""
    from offboarding.integrations.errors import CallBlocked
    from tasks.vendor_crm import crm_closeout
    from tasks.vendor_slack import post_churn_notice

    out, blocked = {}, None
    for name, push in (("hubspot", crm_closeout), ("slack", post_churn_notice)):
        if name == "slack":
            chaos_hold("closeout_slack")  # a test kills the worker here, between two vendors
        try:
            if (result := push(case_id, done)) is not None:
                out[name] = result
        except CallBlocked as exc:
            blocked = blocked or exc
    if blocked is not None:
        raise blocked
    return out


@task(name="deactivation", **RETRYING)
def deactivation(case_id: str) -> dict[str, Any]:
    """§10: revoke access everywhere; the result says, per system, what was done and the
    evidence (the SCIM directory's deletions and vendors' ledger rows when they are on)."""
    from tasks.deactivation_checklist import deactivation_checklist

    with db() as s:
        done = step_result(s, case_id, "deactivation")
        if done is None and not _closed(s, case_id):
            return {"deactivated": False, "why": "not closed yet; the sweeper retries"}
    checklist = deactivation_checklist(case_id, SYSTEMS) if done is None else None
    with db() as s:
        done = step_result(s, case_id, "deactivation")
        if done is None:
            done = checklist
            record_step(s, case_id, "deactivation", done)
        _stage_done(s, case_id, "deactivation")
    return done
