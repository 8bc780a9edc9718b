"""No case is left behind by a failed run (the sweeper's and the recovery flow's work).

Every open case is looked at: a case with no run gets one, a run that ended Failed or Crashed is
restarted from where it stopped (steps are idempotent and a fired suspend key returns its stored
input, so nothing repeats), and when restarts are spent the case is flagged `needs_attention`
and the owner and the team are told once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import task
from prefect.client.orchestration import get_client
from prefect.states import Scheduled
from sqlalchemy import func, select

from offboarding.cases.run_recovery import DEAD, GAVE_UP, RESTARTED, run_verdict
from offboarding.cases.store import audit, get_case
from offboarding.comms.ledger import flag_case
from offboarding.domain import OPEN_STATUSES
from offboarding.settings import get_settings
from offboarding.storage.models import AccountRow, AuditRow, CaseRow
from tasks.common import RETRYING, db
from tasks.runs import start_case_run

ACTOR = "run-recovery"
HANDED_OVER = "run_handed_over"
GIVEN_BACK = "run_given_back"


def _open_cases() -> list[tuple[str, str, str | None, str, str]]:
    with db() as s:
        rows = s.execute(
            select(
                CaseRow.case_id,
                CaseRow.account_id,
                CaseRow.flow_run_id,
                CaseRow.needs_attention,
                AccountRow.segment,
            )
            .join(AccountRow, AccountRow.account_id == CaseRow.account_id)
            .where(CaseRow.status.in_([str(x) for x in OPEN_STATUSES]))
        ).all()
    return [(c, a, r, n or "", str(seg)) for c, a, r, n, seg in rows]


def _count(case_id: str, action: str, since_action: str | None = None) -> int:
    """Audit rows of `action` for the case (after its last `since_action`, when given)."""
    with db() as s:
        where = [AuditRow.case_id == case_id, AuditRow.action == action]
        if since_action is not None:
            last = s.scalar(
                select(func.max(AuditRow.id)).where(
                    AuditRow.case_id == case_id, AuditRow.action == since_action
                )
            )
            where.append(AuditRow.id > (last or 0))
        return s.scalar(select(func.count()).select_from(AuditRow).where(*where))


def _states(client, run_ids: list[str]) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    """Each run's (state type, message), read in a few filtered calls rather than one per case;
    a run Prefect no longer has is simply absent."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(run_ids), 200):
        ids = [UUID(r) for r in run_ids[i : i + 200]]
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
        )
        for run in runs:
            if run.state is not None:
                out[str(run.id)] = (run.state.type.value, run.state.message or "")
    return out


@task(name="restart-failed-runs", **RETRYING)
def restart_failed_runs(max_restarts: int | None = None) -> dict[str, list[str]]:
    """Start, restart or hand over the run of every open case; what was done, by case."""
    from tasks.messaging import send_message

    limit = get_settings().max_run_restarts if max_restarts is None else max_restarts
    done: dict[str, list[str]] = {"started": [], "restarted": [], "handed_over": []}
    cases = [c for c in _open_cases() if GAVE_UP not in c[3]]  # people have those given up
    with get_client(sync_client=True) as client:
        states = _states(client, [c[2] for c in cases if c[2]])
        for case_id, account_id, run_id, _attention, segment in cases:
            state, message = states.get(run_id or "", (None, ""))
            dead = state in DEAD  # only a dead run's restarts are counted
            restarts = _count(case_id, RESTARTED, since_action=GIVEN_BACK) if dead else 0
            verdict = run_verdict(state, run_id is not None, restarts, limit)
            if verdict.action == "none":
                continue
            if verdict.action == "start":
                new = start_case_run(case_id, account_id, segment, replace=run_id is not None)
                with db() as s:
                    audit(s, case_id, ACTOR, "run_started", new, verdict.why)
                done["started"].append(case_id)
            elif verdict.action == "restart":
                client.set_flow_run_state(UUID(run_id), Scheduled(), force=True)
                with db() as s:
                    audit(s, case_id, ACTOR, RESTARTED, run_id, f"{verdict.why}: {message}"[:500])
                done["restarted"].append(case_id)
            else:
                seq = hand_over(case_id, f"{verdict.why}: {message}"[:300])
                extra = {"why": verdict.why, "run_id": run_id}
                send_message.fn(case_id, "case_needs_attention", seq=seq, extra=extra)
                done["handed_over"].append(case_id)
    return done


def hand_over(case_id: str, why: str) -> int:
    """Flag the case for people (once per hand-over); the sweeper leaves it alone from now on.
    Returns the hand-over's number, which is also its notice's sequence (told once each)."""
    with db() as s:
        case = get_case(s, case_id)
        if GAVE_UP not in (case.needs_attention or ""):
            flag_case(s, case_id, why)
            audit(s, case_id, ACTOR, HANDED_OVER, case.flow_run_id or "", why)
    return _count(case_id, HANDED_OVER)


def give_back(case_id: str, actor: str) -> dict[str, Any]:
    """`offboard retry CASE`: clear the hand-over, count restarts afresh, reschedule the run."""
    from offboarding.comms.ledger import unflag_case

    with db() as s:
        case = get_case(s, case_id)
        unflag_case(s, case_id, GAVE_UP)
        audit(s, case_id, actor, GIVEN_BACK, case.flow_run_id or "", "retry by hand")
        run_id, account_id = case.flow_run_id, case.account_id
        segment = str(s.get(AccountRow, account_id).segment)
    if run_id is None:
        return {"case_id": case_id, "flow_run_id": start_case_run(case_id, account_id, segment)}
    with get_client(sync_client=True) as client:
        state, _ = _states(client, [run_id]).get(run_id, (None, ""))
        if state is None:
            run_id = start_case_run(case_id, account_id, segment, replace=True)
        elif state in DEAD:
            client.set_flow_run_state(UUID(run_id), Scheduled(), force=True)
    return {"case_id": case_id, "flow_run_id": run_id, "was": state}
