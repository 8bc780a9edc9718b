"""The system of record: business state of every case, in SQLAlchemy 2 (SQLite or PostgreSQL).

Prefect holds run state; these tables hold what the business needs to prove later.
Schema changes go through Alembic migrations in `offboarding/storage/migrations`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    __tablename__ = "accounts"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(20))
    arr: Mapped[float] = mapped_column(Float)
    region: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseRow(Base):
    __tablename__ = "cases"
    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    request: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[dict | None] = mapped_column(JSON)
    save_decision: Mapped[dict | None] = mapped_column(JSON)
    plan: Mapped[dict | None] = mapped_column(JSON)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    waiting_for: Mapped[str | None] = mapped_column(String(64))
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_on: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_attention: Mapped[str | None] = mapped_column(Text)
    winback_candidate: Mapped[bool] = mapped_column(Boolean, default=False)
    winback_remind_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StepRow(Base):
    """One row per side effect done: the idempotency key is (case, step)."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("case_id", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    step: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class DecisionRow(Base):
    """A human decision given to a waiting run: accepted or refused, always kept."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("case_id", "input_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    input_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    role: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str] = mapped_column(String(320))
    decision: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    accepted: Mapped[bool] = mapped_column(Boolean)
    why: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SaveAttemptRow(Base):
    __tablename__ = "save_attempts"
    __table_args__ = (UniqueConstraint("case_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    led_by: Mapped[str] = mapped_column(String(320))
    offered: Mapped[str] = mapped_column(Text, default="")
    customer_said: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(32))
    why: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("case_id", "role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(320))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MessageRow(Base):
    """The outbox: one message per (case, kind, sequence), never sent twice.

    The row is written (status `sending`) before the transport is called and marked `sent`
    after; see `offboarding.comms.ledger` for the states (migration 0004 added them). Its
    subject is a case, or an at-risk episode ("EW-...": an owner's alert, no case yet), so
    `case_id` has no foreign key since migration 0010.
    """

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("case_id", "kind", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    seq: Mapped[int] = mapped_column(Integer, default=1)
    to_addr: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(8))
    location: Mapped[str] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(
        String(16), default="sent", server_default="sent", index=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExportRow(Base):
    __tablename__ = "exports"
    export_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    manifest_key: Mapped[str | None] = mapped_column(String(1000))
    manifest: Mapped[dict | None] = mapped_column(JSON)


class InvoiceRow(Base):
    __tablename__ = "invoices"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), primary_key=True)
    issued_on: Mapped[date] = mapped_column(Date)
    total: Mapped[str] = mapped_column(String(32))
    refund_due: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON)


class StageRow(Base):
    """Later stages with their due time: the sweeper runs any that are due and missed."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("case_id", "stage"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see the migration)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text, default="")
    why: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON)
    #: The hash chain per case (`cases.audit_chain`): the previous row's hash and this one's.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
