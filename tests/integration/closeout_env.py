"""Shared by the HubSpot and Slack tests: a case brought to the internal close-out (§10), the
vendor-call ledger read back, and the task retry policy played by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from offboarding.cases.store import get_case
from offboarding.domain import Reason
from offboarding.integrations import ledger
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models.integrations import VendorCallAttemptRow, VendorCallRow
from tasks.common import is_transient
from tests.integration.comms_env import give_plan_and_invoice, open_test_case


def closed_case(account_id: str, ref: str, reason: Reason) -> str:
    """A case closed today with its plan, final invoice and verified reason."""
    case_id = open_test_case(account_id, ref)
    give_plan_and_invoice(case_id)
    with session_scope(get_settings().db_url) as s:
        case = get_case(s, case_id)
        case.reason = reason.model_dump(mode="json")
        case.status = "closed"
        case.closed_on = date.fromisoformat(case.plan["closure_on"])
    return case_id


def call_row(case_id: str, vendor: str, step: str) -> VendorCallRow | None:
    with session_scope(get_settings().db_url) as s:
        row = s.scalar(
            select(VendorCallRow).where(
                VendorCallRow.case_id == case_id,
                VendorCallRow.vendor == vendor,
                VendorCallRow.step == step,
            )
        )
        s.expunge_all()
        return row


def outcomes(case_id: str, vendor: str, step: str) -> list[tuple[str, int | None]]:
    row = call_row(case_id, vendor, step)
    with session_scope(get_settings().db_url) as s:
        q = select(VendorCallAttemptRow).where(VendorCallAttemptRow.call_id == row.id)
        return [(a.outcome, a.status) for a in s.scalars(q.order_by(VendorCallAttemptRow.id))]


def attention(case_id: str) -> str | None:
    with session_scope(get_settings().db_url) as s:
        return get_case(s, case_id).needs_attention


def retried(fn: Callable[[], Any], tries: int = 5) -> Any:
    """What the task retry policy does: a transient fault is tried again, anything else is not."""
    for attempt in range(tries):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or attempt == tries - 1:
                raise


def age_claim(case_id: str, vendor: str, step: str) -> None:
    """The worker that claimed the call is gone: its lease ran out."""
    old = utcnow() - timedelta(seconds=ledger.LEASE_SECONDS + 1)
    with session_scope(get_settings().db_url) as s:
        s.execute(
            update(VendorCallRow)
            .where(
                VendorCallRow.case_id == case_id,
                VendorCallRow.vendor == vendor,
                VendorCallRow.step == step,
            )
            .values(claimed_at=old)
        )


def dies_before_done(step: str) -> Callable[..., None]:
    """A `ledger.complete` that kills the worker after the vendor acted on `step`."""
    real = ledger.complete

    def complete(session, c, result, now=None):  # noqa: ANN001, ANN202
        if session.get(VendorCallRow, c.call_id).step == step:
            raise SystemExit("worker killed")
        return real(session, c, result, now)

    return complete
