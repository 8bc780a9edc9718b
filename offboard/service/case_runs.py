"""A case's flow run: open a request and start its run, decide on a waiting case through the
same resume API the Prefect UI uses, and wait for the run to get where a caller needs it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import select

from offboard.service.database import store_session
from offboard.service.errors import validation_message
from offboard.service.pause_delivery import PAUSE_WAIT_SECONDS, deliver
from offboarding.cases.approvals import check_approver
from offboarding.cases.store import (
    OffboardingError,
    audit,
    decision_for,
    get_account,
    get_case,
    open_case,
)
from offboarding.cases.timeline import PlanError, plan_timeline
from offboarding.domain import CancellationRequest
from offboarding.settings import get_settings
from offboarding.storage.models import CaseRow, StageRow
from tasks.common import is_transient
from tasks.runs import NoStackReachable, start_case_run

#: CLI verb -> the prefix of the input key it answers.
VERBS = {
    "verify": "verification",
    "save-outcome": "save",
    "approve": "approval",
    "reject": "approval",
    "confirm-requester": "requester-confirmation",
}


def submit_request(request: CancellationRequest, start_run: bool = True) -> dict[str, Any]:
    """Intake (§1): validate, open or join the case, start its one flow run."""
    policy = get_settings().policy()
    with store_session() as s:
        account = get_account(s, request.account_id)
        if request.wished_date is not None:
            try:
                plan_timeline(account, date.today(), policy, wished_date=request.wished_date)
            except PlanError as exc:
                raise OffboardingError(str(exc)) from exc
        case, created = open_case(s, request)
        case_id, run_id, segment = case.case_id, case.flow_run_id, str(account.segment)
    result: dict[str, Any] = {"case_id": case_id, "created": created, "flow_run_id": run_id}
    if start_run and run_id is None:
        try:
            result["flow_run_id"] = start_case_run(case_id, request.account_id, segment)
        except Exception as exc:  # noqa: BLE001 - the case is safe in our store either way
            if not isinstance(exc, NoStackReachable) and not is_transient(exc):
                raise
            result["not_started"] = (
                f"{exc}. The case is recorded; its run starts when the stack is up "
                "(the sweeper starts every open case that has no run; or `offboard sweep`)."
            )
    return result


def decide(
    case_id: str,
    verb: str,
    payload: dict[str, Any],
    wait: float = 120,
    token: str | None = None,
) -> dict[str, Any]:
    """Resume the waiting run with typed input, as the UI form does; refuse bad input first.

    The decider is the owner of the personal API token (given, or OFFBOARDING_TOKEN), never
    the `decided_by` typed in; the token's proof travels as a one-time decision code that the
    run checks before any rule reads the decision."""
    from flows.inputs import input_model_for
    from offboard.service.tokens import token_proof, whoami

    with store_session() as s:
        case = get_case(s, case_id)
        key = case.waiting_for
        if key is None:
            raise OffboardingError(f"case {case_id} waits for no decision (status {case.status})")
        if not key.startswith(VERBS[verb]):
            raise OffboardingError(f"case {case_id} waits for {key!r}, not for `{verb}`")
        model = input_model_for(key)
        try:  # bad input is said before the token is asked for (decided_by comes from it)
            model.model_validate({"decided_by": "x@example.invalid", **payload})
        except ValidationError as exc:
            raise OffboardingError(f"invalid input: {validation_message(exc)}") from exc
    if verb == "confirm-requester":
        # the account's contact is proven by the code they were sent; whoever types it in is
        # proven by their own token, and both are in the audit log
        entered_by = whoami(token)
        with store_session() as s:
            audit(s, case_id, entered_by, "confirmation_entered", key, payload.get("decided_by"))
    else:
        payload = {**payload, **token_proof(case_id, key, payload.get("decided_by"), token)}
    value = model.model_validate(payload)
    with store_session() as s:
        case = get_case(s, case_id)
        refused = None
        if VERBS[verb] == "approval":
            role = _role_of(key)
            check = check_approver(
                value.decided_by, role, case.requested_by, get_settings().policy().holders(role)
            )
            if not check.allowed:
                audit(
                    s,
                    case_id,
                    value.decided_by,
                    "approval_refused",
                    key,
                    check.why,
                    data={"via": "cli"},
                )
                refused = check.why
        run_id = case.flow_run_id
    if refused is not None:  # raised after the commit, so the refusal stays in the audit log
        raise OffboardingError(f"refused: {refused}")
    return resume_with(case_id, key, run_id, value.model_dump(mode="json"), wait)


def resume_with(
    case_id: str, key: str, run_id: str, run_input: dict[str, Any], wait: float
) -> dict[str, Any]:
    """Resume the waiting run with this input (as the UI form does) and, with `wait`, return
    what the run recorded for it. The CLI and the decision page both come through here."""
    # the run pauses right after recording the wait; give a stalled server time to catch up
    deliver(run_id, key, run_input, timeout=max(PAUSE_WAIT_SECONDS, wait))
    if not wait:
        return {"case_id": case_id, "input_key": key, "resumed": True}
    return wait_for_decision(case_id, key, wait)


def _role_of(key: str) -> str:
    """`approval-manager-1` -> `manager`."""
    return key.split("-")[1]


def wait_for_decision(case_id: str, key: str, timeout: float) -> dict[str, Any]:
    """What the run recorded for the input it was resumed with (the flow, not the caller, judges
    it); `recorded: False` when it has not within the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (recorded := recorded_decision(case_id, key)) is not None:
            return recorded
        time.sleep(0.5)
    return {"case_id": case_id, "input_key": key, "resumed": True, "recorded": False}


def recorded_decision(case_id: str, key: str) -> dict[str, Any] | None:
    """What the run recorded for this input key, or None while it has not."""
    with store_session() as s:
        row = decision_for(s, case_id, key)
        if row is None:
            return None
        case = get_case(s, case_id)
        return {
            "case_id": case_id,
            "input_key": key,
            "accepted": row.accepted,
            "decision": row.decision,
            "why": row.why,
            "status": case.status,
        }


def failed_runs(case_id: str) -> list[str]:
    """Runs of this case (main and stages) that ended Failed or Crashed."""
    from prefect.client.orchestration import get_client

    with store_session() as s:
        case = get_case(s, case_id)
        ids = [case.flow_run_id] + [
            r.flow_run_id for r in s.scalars(select(StageRow).where(StageRow.case_id == case_id))
        ]
    bad = []
    with get_client(sync_client=True) as client:
        for run_id in filter(None, ids):
            run = client.read_flow_run(UUID(run_id))
            if run.state and (run.state.is_failed() or run.state.is_crashed()):
                bad.append(f"{run.name}: {run.state.message}")
    return bad


def wait_for(
    case_id: str,
    predicate: Callable[[CaseRow], bool],
    timeout: float = 120,
    poll: float = 0.5,
    fail_fast: bool = True,
) -> CaseRow:
    """Poll the case until predicate(case) holds; the demo and tests use it.

    With fail_fast, a failed or crashed run of the case raises at once instead of timing out.
    """
    deadline = time.monotonic() + timeout
    checks = 0
    while True:
        with store_session() as s:
            case = get_case(s, case_id)
            if predicate(case):
                return case
        checks += 1
        if fail_fast and checks % 10 == 0 and (bad := failed_runs(case_id)):
            raise RuntimeError(f"case {case_id}: run failed: {bad[0]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"case {case_id} still {case.status} (waiting {case.waiting_for})")
        time.sleep(poll)


def retry_case(case_id: str, token: str | None = None) -> dict[str, Any]:
    """Hand a case the sweeper gave up on back to its flow, as the token's owner (audited)."""
    from offboard.service.tokens import whoami
    from offboarding.domain import OPEN_STATUSES
    from tasks.recovery import give_back

    actor = whoami(token)
    with store_session() as s:
        status = get_case(s, case_id).status
    if status not in {str(x) for x in OPEN_STATUSES}:
        raise OffboardingError(f"case {case_id} is {status}: nothing to retry")
    try:
        return give_back(case_id, actor)
    except NoStackReachable as exc:
        raise OffboardingError(f"{exc}; nothing was changed in Prefect") from exc
