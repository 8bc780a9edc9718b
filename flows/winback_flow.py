"""Win-back reminders (§10–§11): cases tagged at close-out whose 6–12 month reminder is due.

The trigger-signal scan of §11 builds on this; here the reminder itself is surfaced to the
owner as a table artifact, never sent to the customer automatically.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from sqlalchemy import select

from offboarding.storage.models import CaseRow
from tasks.common import RETRYING, db


@task(name="due-winback-reminders", **RETRYING)
def due_winback_reminders(on: date) -> list[dict]:
    with db() as s:
        rows = s.scalars(
            select(CaseRow).where(
                CaseRow.winback_candidate.is_(True), CaseRow.winback_remind_on <= on
            )
        ).all()
        return [
            {
                "case_id": r.case_id,
                "account_id": r.account_id,
                "remind_on": r.winback_remind_on.isoformat(),
                "reason": (r.reason or {}).get("category", ""),
            }
            for r in rows
        ]


@flow(name="winback-reminders", flow_run_name="winback-{on}")
def winback_flow(on: date | None = None) -> list[dict]:
    due = due_winback_reminders(on or date.today())
    create_table_artifact(
        due or [{"case_id": "", "account_id": "none due"}],
        key="winback-reminders",
        description="Win-back reminders due",
    )
    return due
