"""Send a playbook message once per (case, kind, sequence) through the configured mailer."""

from __future__ import annotations

from typing import Any

from prefect import task
from sqlalchemy import select

from offboarding.cases import audit, get_account, get_case
from offboarding.messages import INTERNAL_KINDS, render
from offboarding.outbox import FileOutbox
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import InvoiceRow, MessageRow
from tasks.common import RETRYING, db


def message_context(session, case_id: str, extra: dict[str, Any] | None = None) -> dict:  # noqa: ANN001
    case = get_case(session, case_id)
    account = get_account(session, case.account_id)
    reason = case.reason or {}
    invoice = session.get(InvoiceRow, case_id)
    contact = next((c for c in account.contacts), None)
    policy = get_settings().policy()
    return {
        "account": account.model_dump(mode="json"),
        "owner": account.owner.model_dump(mode="json"),
        "contact_name": contact.name if contact else "Customer",
        "case": {
            "case_id": case.case_id,
            "external_ref": case.external_ref,
            "requested_at": case.requested_at.isoformat(),
            "reason_category": reason.get("category", "not recorded"),
            "reason_detail": reason.get("detail", ""),
            "competitor_name": reason.get("competitor_name"),
            "preventable": reason.get("preventable"),
            "missed_warning_signs": reason.get("missed_warning_signs", ""),
        },
        "plan": case.plan or {},
        "invoice": invoice.data if invoice else None,
        "export": (extra or {}).get("export"),
        "executive": policy.comms.executive,
        "extra": extra or {},
    }


def recipients(session, case_id: str, kind: str) -> list[str]:  # noqa: ANN001
    case = get_case(session, case_id)
    account = get_account(session, case.account_id)
    policy = get_settings().policy()
    if kind in INTERNAL_KINDS:
        team = list(policy.comms.team_notify)
        if kind == "escalation_notice":
            team += sorted(policy.holders("manager"))
        return [*dict.fromkeys(team + [account.owner.email])]
    return [*dict.fromkeys([str(case.requested_by)] + [c.email for c in account.contacts])]


@task(name="send-message", **RETRYING)
def send_message(
    case_id: str, kind: str, seq: int = 1, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Exactly once: an existing outbox row means the message has already gone."""
    with db() as session:
        existing = session.scalar(
            select(MessageRow).where(
                MessageRow.case_id == case_id, MessageRow.kind == kind, MessageRow.seq == seq
            )
        )
        if existing is not None:
            return {"kind": kind, "sent_now": False, "location": existing.location}
        case = get_case(session, case_id)
        account = get_account(session, case.account_id)
        message = render(kind, message_context(session, case_id, extra), account.locale)
        to = recipients(session, case_id, kind)
        outbox = FileOutbox(get_settings().outbox)
        path = outbox.send(
            case_id,
            seq,
            message,
            to,
            (account.owner.name, str(account.owner.email)),
            attachments=(extra or {}).get("attachments"),
        )
        session.add(
            MessageRow(
                case_id=case_id,
                kind=kind,
                seq=seq,
                to_addr=", ".join(to),
                subject=message.subject,
                locale=message.locale,
                location=str(path),
                sent_at=utcnow(),
            )
        )
        audit(session, case_id, "offboarding-flow", "message_sent", f"{kind} to {len(to)}")
    return {"kind": kind, "sent_now": True, "location": str(path)}
