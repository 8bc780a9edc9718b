"""Case records: intake with dedupe, status changes, steps done once, decisions, audit.

Every change here writes its audit entry in the same transaction, so the log and the state
can never disagree. Functions take an open Session; callers own the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases.audit_chain import Break, ChainRow, audit_hash, first_break
from offboarding.domain import OPEN_STATUSES, Account, CancellationRequest, CaseStatus
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import (
    AccountRow,
    AuditRow,
    CaseRow,
    DecisionRow,
    StepRow,
)
from offboarding.storage.models.integrations import WebhookEventRow

#: The audit log outlives the customer's data (§6), so it names the customer by role only;
#: who asked is on the case row, which the purge erases.
CUSTOMER = "customer"


class OffboardingError(Exception):
    """A user-facing error: the message says what is wrong and what to do."""


class UnknownAccount(OffboardingError):
    pass


class UnknownCase(OffboardingError):
    pass


def audit(
    session: Session,
    case_id: str | None,
    actor: str,
    action: str,
    what: str = "",
    why: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    at, data = utcnow(), data or {}
    prev = _chain_head(session, case_id)
    session.add(
        AuditRow(
            at=at,
            case_id=case_id,
            actor=actor,
            action=action,
            what=what,
            why=why,
            data=data,
            prev_hash=prev,
            row_hash=audit_hash(prev, at, case_id, actor, action, what, why, data),
        )
    )


def _chain_head(session: Session, case_id: str | None) -> str:
    """The hash of the case's latest audit row. Writers of one case are serialised first (an
    advisory lock on PostgreSQL, the write lock on SQLite), so two never link to the same row."""
    if session.get_bind().dialect.name == "postgresql":
        key = f"audit:{case_id or '-'}"
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
    else:
        session.execute(text("UPDATE audit_log SET id = id WHERE 0"))  # takes the write lock
    q = select(AuditRow.row_hash).where(AuditRow.row_hash.is_not(None))
    q = q.where(AuditRow.case_id == case_id) if case_id else q.where(AuditRow.case_id.is_(None))
    return session.scalar(q.order_by(AuditRow.id.desc()).limit(1)) or ""


def audit_break(session: Session, case_id: str | None = None) -> Break | None:
    """The first broken link of the audit chain (of one case, or of every case), or None."""
    q = select(AuditRow).order_by(AuditRow.id)
    if case_id is not None:
        q = q.where(AuditRow.case_id == case_id)
    rows = (
        ChainRow(
            r.id,
            r.case_id,
            as_utc(r.at),
            r.actor,
            r.action,
            r.what,
            r.why,
            r.data,
            r.prev_hash,
            r.row_hash,
        )  # fmt: skip
        for r in session.scalars(q)
    )
    return first_break(rows)


def upsert_accounts(session: Session, accounts: Iterable[Account], actor: str = "import") -> int:
    n = 0
    for acc in accounts:
        row = session.get(AccountRow, acc.account_id)
        data = acc.model_dump(mode="json")
        if row is None:
            row = AccountRow(account_id=acc.account_id)
            session.add(row)
        row.name, row.segment, row.arr = acc.name, str(acc.segment), acc.arr
        row.region, row.locale, row.data, row.updated_at = acc.region, acc.locale, data, utcnow()
        n += 1
    audit(session, None, actor, "accounts_imported", f"{n} accounts")
    return n


def get_account(session: Session, account_id: str) -> Account:
    row = session.get(AccountRow, account_id)
    if row is None:
        raise UnknownAccount(
            f"unknown account {account_id!r}: import it first with `offboard accounts import`"
        )
    return Account.model_validate(row.data)


def get_case(session: Session, case_id: str) -> CaseRow:
    row = session.get(CaseRow, case_id)
    if row is None:
        raise UnknownCase(f"unknown case {case_id!r}: see `offboard cases`")
    return row


def new_case_id() -> str:
    return "C-" + uuid.uuid4().hex[:8].upper()


def find_duplicate(session: Session, request: CancellationRequest) -> CaseRow | None:
    """The same external reference is one case; so is a second request for an open case."""
    if request.external_ref:
        row = session.scalar(select(CaseRow).where(CaseRow.external_ref == request.external_ref))
        if row is not None:
            return row
    return session.scalar(
        select(CaseRow)
        .where(CaseRow.account_id == request.account_id)
        .where(CaseRow.status.in_([str(s) for s in OPEN_STATUSES]))
        .order_by(CaseRow.created_at)
        .limit(1)
    )


def open_case(session: Session, request: CancellationRequest) -> tuple[CaseRow, bool]:
    """Intake (§1): returns (case, created). A duplicate request returns the existing case."""
    get_account(session, request.account_id)
    existing = find_duplicate(session, request)
    if existing is not None:
        audit(
            session,
            existing.case_id,
            CUSTOMER,
            "duplicate_request",
            f"request via {request.channel} joined the existing case",
            data={"external_ref": request.external_ref},
        )
        return existing, False
    now = utcnow()
    case = CaseRow(
        case_id=new_case_id(),
        account_id=request.account_id,
        external_ref=request.external_ref,
        status=str(CaseStatus.received),
        channel=str(request.channel),
        requested_by=str(request.requested_by),
        requested_at=as_utc(request.requested_at),
        request=request.model_dump(mode="json"),
        legal_hold=False,
        winback_candidate=False,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError:  # a concurrent intake of the same external reference won the race
        session.rollback()
        row = find_duplicate(session, request)
        if row is None:
            raise
        return row, False
    audit(
        session,
        case.case_id,
        CUSTOMER,
        "case_received",
        f"cancellation request via {request.channel}",
        "",
        data={"external_ref": request.external_ref},
    )
    session.add(WebhookEventRow.new("case.opened", {**_event_data(case), "status": case.status,
                                    "channel": case.channel}, case.case_id))  # fmt: skip
    return case, True


def set_status(
    session: Session, case: CaseRow, status: CaseStatus, actor: str, why: str = ""
) -> None:
    if case.status == str(status):
        return
    audit(session, case.case_id, actor, "status_changed", f"{case.status} -> {status}", why)
    # the webhook outbox, in this transaction (integrations sits above cases: its model here)
    session.add(WebhookEventRow.new(f"case.{status}", {**_event_data(case), "status": str(status),
                                    "previous_status": case.status}, case.case_id))  # fmt: skip
    case.status = str(status)
    case.updated_at = utcnow()


def _event_data(case: CaseRow) -> dict[str, Any]:
    """What a case's webhook event says: ids only, no personal data (receivers look it up)."""
    return {"case_id": case.case_id, "account_id": case.account_id}


def step_result(session: Session, case_id: str, step: str) -> dict | None:
    row = session.scalar(select(StepRow).where(StepRow.case_id == case_id, StepRow.step == step))
    return None if row is None else row.result


def record_step(
    session: Session,
    case_id: str,
    step: str,
    result: dict[str, Any],
    actor: str = "offboarding-flow",
    flow_run_id: str | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        StepRow(
            case_id=case_id,
            step=step,
            result=result,
            done_at=at or utcnow(),
            flow_run_id=flow_run_id,
        )
    )
    audit(session, case_id, actor, f"step_{step}", "done", data=result)


def decision_for(session: Session, case_id: str, input_key: str) -> DecisionRow | None:
    return session.scalar(
        select(DecisionRow).where(
            DecisionRow.case_id == case_id, DecisionRow.input_key == input_key
        )
    )


def steps_of(session: Session, case_id: str) -> list[StepRow]:
    return list(
        session.scalars(select(StepRow).where(StepRow.case_id == case_id).order_by(StepRow.id))
    )


def audit_of(session: Session, case_id: str) -> list[AuditRow]:
    return list(
        session.scalars(select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.id))
    )
