"""Reading cases back: the list ops staff scan, and everything about one case with links to
its runs in the UI that is actually running."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from offboard.service.database import store_session
from offboard.service.run_links import flow_run_link, stack_ui_url
from offboarding.cases.acknowledgement import ack_status
from offboarding.cases.store import audit_of, get_account, get_case, step_result, steps_of
from offboarding.domain import CaseStatus
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import (
    ApprovalRow,
    CaseRow,
    DecisionRow,
    ExportRow,
    InvoiceRow,
    MessageRow,
    SaveAttemptRow,
    StageRow,
    StepRow,
)
from offboarding.trust.store import standing_text


def _ack(s: Session, c: CaseRow, zones: dict[str, str] | None = None) -> dict[str, Any]:
    """§1 acknowledgement against its target, in the account's business hours."""
    zones = {} if zones is None else zones
    if c.account_id not in zones:
        zones[c.account_id] = get_account(s, c.account_id).timezone
    target = get_settings().policy().comms.acknowledgement_target_hours
    status = ack_status(c.requested_at, c.acknowledged_at, zones[c.account_id], target)
    return {**status.to_dict(), "target_hours": target}


def list_cases(status: str | None = None) -> list[dict[str, Any]]:
    """Every case (or those in one status), oldest first, with what it waits for."""
    with store_session() as s:
        q = select(CaseRow).order_by(CaseRow.created_at)
        if status:
            q = q.where(CaseRow.status == CaseStatus(status))
        zones: dict[str, str] = {}
        policy = get_settings().policy()
        intakes = {  # one query for every case's recorded standing, not one per case
            r.case_id: r.result for r in s.scalars(select(StepRow).where(StepRow.step == "intake"))
        }
        return [
            {
                "case_id": c.case_id,
                "account_id": c.account_id,
                "status": c.status,
                "waiting_for": c.waiting_for,
                "requested_by": c.requested_by,
                "requester_standing": standing_text(s, c, policy, intakes.get(c.case_id, {})),
                "requested_at": c.requested_at.isoformat(),
                "needs_attention": c.needs_attention,
                "acknowledgement": _ack(s, c, zones),
            }
            for c in s.scalars(q)
        ]


def _export_delivery(s: Session, case_id: str, export_id: str) -> dict[str, Any]:
    """Requested -> delivered against the §6 target, as the export's delivery step recorded it."""
    done = step_result(s, case_id, "export_delivered") or {}
    if done.get("export_id") != export_id:
        return {"delivery_hours": None, "target_hours": None, "met": None}
    return {
        "delivery_hours": done["hours"],
        "target_hours": done["target_hours"],
        "met": done["met"],
    }


def case_view(case_id: str) -> dict[str, Any]:
    """Everything about one case: timeline, decisions, what it waits for, run links."""
    ui_url = stack_ui_url()
    with store_session() as s:
        c = get_case(s, case_id)
        stages = s.scalars(select(StageRow).where(StageRow.case_id == case_id)).all()
        return {
            "case_id": c.case_id,
            "account_id": c.account_id,
            "status": c.status,
            "requested_by": c.requested_by,
            "requester_standing": standing_text(s, c, get_settings().policy()),
            "requested_at": c.requested_at.isoformat(),
            "external_ref": c.external_ref,
            "reason": c.reason,
            "save_decision": c.save_decision,
            "plan": c.plan,
            "waiting_for": c.waiting_for
            and {
                "input_key": c.waiting_for,
                "since": str(c.waiting_since),
                "decision_due": str(c.decision_due),
            },
            "acknowledged_at": c.acknowledged_at and c.acknowledged_at.isoformat(),
            "acknowledgement": _ack(s, c),
            "closed_on": c.closed_on and c.closed_on.isoformat(),
            "legal_hold": c.legal_hold,
            "needs_attention": c.needs_attention,
            "winback": {
                "candidate": c.winback_candidate,
                "remind_on": c.winback_remind_on and c.winback_remind_on.isoformat(),
            },
            "flow_run": flow_run_link(ui_url, c.flow_run_id),
            "steps": [
                {"step": x.step, "at": x.done_at.isoformat(), "result": x.result}
                for x in steps_of(s, case_id)
            ],
            "decisions": [
                {
                    "key": d.input_key,
                    "kind": d.kind,
                    "role": d.role,
                    "by": d.decided_by,
                    "decision": d.decision,
                    "accepted": d.accepted,
                    "why": d.why,
                    "proven_by": (d.data or {}).get("proven_by"),
                    "at": d.at.isoformat(),
                }
                for d in s.scalars(
                    select(DecisionRow)
                    .where(DecisionRow.case_id == case_id)
                    .order_by(DecisionRow.id)
                )
            ],
            "save_attempts": [
                {
                    "number": a.number,
                    "led_by": a.led_by,
                    "outcome": a.outcome,
                    "offered": a.offered,
                    "customer_said": a.customer_said,
                    "why": a.why,
                }
                for a in s.scalars(select(SaveAttemptRow).where(SaveAttemptRow.case_id == case_id))
            ],
            "approvals": [
                {"role": a.role, "reasons": a.reasons, "status": a.status, "by": a.decided_by}
                for a in s.scalars(select(ApprovalRow).where(ApprovalRow.case_id == case_id))
            ],
            "stages": [
                {
                    "stage": x.stage,
                    "due_at": x.due_at.isoformat(),
                    "status": x.status,
                    "run": flow_run_link(ui_url, x.flow_run_id),
                }
                for x in stages
            ],
            "messages": [
                {
                    "kind": m.kind,
                    "seq": m.seq,
                    "status": m.status,
                    "to": m.to_addr,
                    "subject": m.subject,
                    "locale": m.locale,
                    "sent_at": m.sent_at and m.sent_at.isoformat(),
                    "attempts": m.attempts,
                    "error": m.last_error if m.status != "sent" else None,
                    "file": m.location,
                }
                for m in s.scalars(
                    select(MessageRow).where(MessageRow.case_id == case_id).order_by(MessageRow.id)
                )
            ],
            "exports": [
                {
                    "export_id": e.export_id,
                    "status": e.status,
                    "manifest": e.manifest_key,
                    "requested_at": e.requested_at.isoformat(),
                    "delivered_at": e.delivered_at and e.delivered_at.isoformat(),
                    **_export_delivery(s, case_id, e.export_id),
                }
                for e in s.scalars(select(ExportRow).where(ExportRow.case_id == case_id))
            ],
            "invoice": (inv.data if (inv := s.get(InvoiceRow, case_id)) else None),
            "audit": [
                {
                    "at": a.at.isoformat(),
                    "actor": a.actor,
                    "action": a.action,
                    "what": a.what,
                    "why": a.why,
                }
                for a in audit_of(s, case_id)
            ],
            "karte": _karte(s, c),
            "viewed_at": utcnow().isoformat(),
        }


def _karte(s: Session, c: CaseRow) -> dict[str, Any] | None:
    """§14 the retention karte of the case's account, with the case's reason (if any yet)."""
    from datetime import date

    from offboarding.early_warning.store.karte import account_karte, current_catalogue

    if c.status == "purged":
        return None  # the account's data is gone; so is its karte
    settings = get_settings()
    try:
        k = account_karte(
            s,
            c.account_id,
            date.today(),
            settings.policy(),
            current_catalogue(settings.state_dir),
            (c.reason or {}).get("category"),
        )
    except Exception as exc:  # noqa: BLE001 - a case view never fails on its karte
        return {"error": f"no karte: {exc}", "rows": []}
    return k.to_dict()
