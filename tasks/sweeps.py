"""The daily sweeper's work: nothing falls through the cracks (escalations, missed stages,
runs orphaned by a killed worker)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.filters import EventFilter, EventOccurredFilter, EventResourceFilter
from prefect.exceptions import ObjectNotFound
from prefect.states import Scheduled
from sqlalchemy import select

from offboarding.cases.deadlines import deadline_verdict
from offboarding.cases.run_recovery import orphaned
from offboarding.cases.store import audit, get_case
from offboarding.domain import OPEN_STATUSES
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import CaseRow, StageRow
from tasks.common import RETRYING, db, run_logger
from tasks.decisions import notify_escalation
from tasks.requester import KEY as REQUESTER_KEY
from tasks.requester import close_unconfirmed

SWEEPER = "daily-sweeper"
#: A RUNNING run with no event (heartbeat or state) for this long is orphaned.
ORPHAN_AFTER_SECONDS = 100
DEAD_STATES = {StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


@task(name="escalate-if-still-waiting", **RETRYING)
def escalate_if_still_waiting(case_id: str, input_key: str) -> dict[str, Any]:
    """Escalate a wait still open at its deadline. The runner may start this check early:
    it then waits out the remainder (or, for a deadline moved later, schedules itself again),
    so the escalation happens at the deadline, not a day later at the sweeper's backstop."""
    while True:
        with db() as s:
            case = get_case(s, case_id)
            waiting = case.waiting_for == input_key
            due = as_utc(case.decision_due) if case.decision_due else None
        verdict = deadline_verdict(waiting, due, utcnow())
        if verdict.action != "wait":
            break
        time.sleep(verdict.seconds + 0.05)
    if verdict.action == "done":
        return {"escalated": False, "why": verdict.why}
    if verdict.action == "reschedule":
        from tasks.decisions import schedule_escalation_check

        schedule_escalation_check(case_id, input_key, due, again=True)
        return {"escalated": False, "why": verdict.why, "decision_due": due.isoformat()}
    return deadline_passed(case_id, input_key)


def deadline_passed(case_id: str, input_key: str) -> dict[str, Any]:
    """What a missed deadline does: a stranger's unconfirmed request ends (§1); any other wait
    escalates (§4). The deadline run and the sweeper's backstop both come here."""
    if input_key.startswith(REQUESTER_KEY):
        return close_unconfirmed(case_id, input_key)
    notify_escalation.fn(case_id, input_key, f"no decision on {input_key} in time")
    return {"escalated": True}


@task(name="escalate-overdue", **RETRYING)
def escalate_overdue() -> list[str]:
    """Backstop for a lost escalation run: every wait past its deadline escalates."""
    with db() as s:
        rows = s.scalars(select(CaseRow).where(CaseRow.waiting_for.is_not(None))).all()
        overdue = [
            (r.case_id, r.waiting_for)
            for r in rows
            if r.decision_due and as_utc(r.decision_due) <= utcnow()
        ]
    for case_id, key in overdue:
        deadline_passed(case_id, key)
    return [c for c, _ in overdue]


def _log():  # noqa: ANN202 - a run logger inside a run, the module logger outside (tests)
    return run_logger(__name__)


@task(name="check-acknowledgements", **RETRYING)
def check_acknowledgements() -> list[str]:
    """§1 backstop: an open request not acknowledged by its target (24 h in the account's
    business hours) is flagged on the case (`offboard cases` shows it) and the team and
    managers get one notice per case."""
    from offboarding.cases.acknowledgement import OVERDUE_MARKER, ack_status
    from offboarding.comms.ledger import flag_case
    from offboarding.settings import get_settings
    from offboarding.storage.models import AccountRow
    from tasks.messaging import send_message

    target = get_settings().policy().comms.acknowledgement_target_hours
    overdue = []
    with db() as s:
        rows = s.execute(
            select(CaseRow, AccountRow.data)
            .join(AccountRow, AccountRow.account_id == CaseRow.account_id)
            .where(
                CaseRow.acknowledged_at.is_(None),
                CaseRow.status.in_([str(x) for x in OPEN_STATUSES]),
            )
        ).all()
        for case, account in rows:
            status = ack_status(case.requested_at, None, account.get("timezone"), target)
            if status.overdue:
                flag_case(
                    s, case.case_id, f"{OVERDUE_MARKER} (due {status.due_at:%Y-%m-%d %H:%M} UTC)"
                )
                overdue.append((case.case_id, status.due_at.isoformat()))
    for case_id, due in overdue:
        try:  # one undeliverable notice must not hide the others; the next sweep tries again
            send_message.fn(
                case_id, "acknowledgement_overdue", extra={"due_at": due, "target_hours": target}
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the case by the ledger, logged here
            _log().warning("acknowledgement notice for %s not sent: %s", case_id, exc)
    return [c for c, _ in overdue]


def _run_state(client, run_id: str | None):  # noqa: ANN001, ANN202
    if not run_id:
        return None
    try:
        return client.read_flow_run(UUID(run_id))
    except ObjectNotFound:
        return None


@task(name="find-missed-stages", **RETRYING)
def find_missed_stages() -> list[tuple[str, str]]:
    """Stages due and not done whose scheduled run is gone or dead; each is recorded as
    missed, and the sweeper flow runs it now."""
    with db() as s:
        due = s.scalars(
            select(StageRow).where(StageRow.status != "done", StageRow.due_at <= utcnow())
        ).all()
        candidates = [(r.case_id, r.stage, r.flow_run_id) for r in due]
    missed = []
    with get_client(sync_client=True) as client:
        for case_id, stage, run_id in candidates:
            run = _run_state(client, run_id)
            if (
                run is None
                or run.state_type in DEAD_STATES
                or run.state_type == StateType.COMPLETED
            ):
                missed.append((case_id, stage))
    for case_id, stage in missed:
        with db() as s:
            audit(s, case_id, SWEEPER, "stage_missed", stage, "due and not done; running now")
    return missed


def _last_event_age(client, run_id: UUID, since_seconds: float) -> bool:  # noqa: ANN001
    """True when the run emitted any event (heartbeat, state change) in the window."""
    import asyncio

    from prefect.client.orchestration import get_client as get_async_client

    async def _read() -> int:
        async with get_async_client() as ac:
            page = await ac.read_events(
                filter=EventFilter(
                    occurred=EventOccurredFilter(since=utcnow() - timedelta(seconds=since_seconds)),
                    resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]),
                ),
                limit=1,
            )
            return len(page.events)

    return asyncio.run(_read()) > 0


@task(name="recover-orphaned-runs", **RETRYING)
def recover_orphaned_runs(orphan_after_seconds: float = ORPHAN_AFTER_SECONDS) -> list[str]:
    """A killed worker leaves its run RUNNING forever; reschedule it so a live worker
    resumes the case. Every stage is idempotent, so nothing is repeated."""
    with db() as s:
        runs = {
            r.flow_run_id: r.case_id
            for r in s.scalars(
                select(CaseRow).where(CaseRow.status.in_([str(x) for x in OPEN_STATUSES]))
            ).all()
            if r.flow_run_id
        }
        runs.update(
            {
                r.flow_run_id: r.case_id
                for r in s.scalars(select(StageRow).where(StageRow.status != "done")).all()
                if r.flow_run_id
            }
        )
    recovered = []
    with get_client(sync_client=True) as client:
        for run_id, case_id in runs.items():
            run = _run_state(client, run_id)
            if run is None or run.state_type != StateType.RUNNING:
                continue
            # Running since its latest start or resume, not since its first start (days ago
            # for a run resumed after a decision): a run just resumed is not an orphan
            since = run.state.timestamp
            if not orphaned(since, utcnow(), False, orphan_after_seconds):
                continue
            heard = _last_event_age(client, run.id, orphan_after_seconds)
            if not orphaned(since, utcnow(), heard, orphan_after_seconds):
                continue
            again = _run_state(client, run_id)  # still the same Running state, not moved on
            if again is None or again.state is None or again.state.id != run.state.id:
                continue
            client.set_flow_run_state(run.id, Scheduled(), force=True)
            with db() as s:
                audit(
                    s,
                    case_id,
                    SWEEPER,
                    "run_recovered",
                    str(run.id),
                    f"RUNNING with no heartbeat for {orphan_after_seconds:.0f}s; rescheduled",
                )
            recovered.append(str(run.id))
    return recovered
