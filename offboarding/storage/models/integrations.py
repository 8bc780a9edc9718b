"""Integrations (issue 14): one row per call to a vendor that changes something there.

The row is the intent, written before the call: (vendor, case, step) is unique, so two
workers never both make the call, and a rerun finds the result instead of calling again.
Every try is kept in `vendor_call_attempts`, so "why did Stripe not get it" is answered
from the database rather than from a worker's log.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.db import utcnow
from offboarding.storage.models import Base


class VendorCallRow(Base):
    __tablename__ = "vendor_calls"
    __table_args__ = (UniqueConstraint("vendor", "case_id", "step", name="uq_vendor_calls_step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: a case id, or another subject's id (an at-risk episode, a webhook event)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    vendor: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(120))
    #: the vendor's idempotency key where it has one (Stripe's Idempotency-Key), else ours
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    request: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VendorCallAttemptRow(Base):
    __tablename__ = "vendor_call_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("vendor_calls.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(24))
    status: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class WebhookEventRow(Base):
    """The transactional outbox of outbound webhooks: one row per lifecycle event, written in
    the same transaction as the change that causes it, so no event is lost with a worker."""

    __tablename__ = "webhook_events"
    #: stable and unique ("evt_..."): sent in every delivery so receivers dedupe by it
    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: when the deliveries (one per matching endpoint) were created; null: not yet
    fanned_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    @classmethod
    def new(cls, event_type: str, data: dict, case_id: str | None = None) -> WebhookEventRow:
        """A new event; the caller adds it to the session of the change it reports."""
        return cls(event_id=f"evt_{uuid.uuid4().hex}", type=event_type, case_id=case_id,
                   data=data, created_at=utcnow(), fanned_out_at=None)  # fmt: skip


class WebhookDeliveryRow(Base):
    """One event to one endpoint: pending → delivering → delivered | failed, with its log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint", name="uq_webhook_deliveries_event_endpoint"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.event_id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_try_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: every try: {"at", "status_code", "outcome", "detail"}
    log: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
