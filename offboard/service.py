"""What the CLI, the demo and the tests do to the system: open a request, decide on a waiting
case through the same resume API the Prefect UI uses, and read a case back."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import select

from deployments.names import OFFBOARDING
from offboarding.approvals import check_approver
from offboarding.cases import (
    OffboardingError,
    audit,
    audit_of,
    decision_for,
    get_account,
    get_case,
    open_case,
    steps_of,
    upsert_accounts,
)
from offboarding.domain import Account, CancellationRequest, CaseStatus
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models import (
    ApprovalRow,
    CaseRow,
    DecisionRow,
    ExportRow,
    InvoiceRow,
    MessageRow,
    SaveAttemptRow,
    StageRow,
)
from offboarding.timeline import PlanError, plan_timeline

#: CLI verb -> the prefix of the input key it answers.
VERBS = {
    "verify": "verification",
    "save-outcome": "save",
    "approve": "approval",
    "reject": "approval",
}


def _session():  # noqa: ANN202
    return session_scope(get_settings().db_url)


def load_accounts(path: Path) -> list[Account]:
    """CSV or JSON; every row is validated before anything is written."""
    if not path.exists():
        raise OffboardingError(f"no such file: {path}")
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix.lower() == ".csv":
        import csv

        rows = []
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                owner = {
                    k.removeprefix("owner_"): r.pop(k) for k in list(r) if k.startswith("owner_")
                }
                contacts = json.loads(r.pop("contacts", "") or "[]")
                rows.append(
                    {
                        **{k: v for k, v in r.items() if v != ""},
                        "owner": owner,
                        "contacts": contacts,
                    }
                )
    else:
        raise OffboardingError(f"{path}: accounts must be .csv or .json")
    accounts, errors = [], []
    for i, row in enumerate(rows, 1):
        try:
            accounts.append(Account.model_validate(row))
        except ValidationError as exc:
            errors.append(f"row {i}: {_short(exc)}")
    if errors:
        raise OffboardingError("no accounts imported; fix these rows:\n" + "\n".join(errors))
    return accounts


def _short(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def import_accounts(path: Path) -> int:
    accounts = load_accounts(path)
    with _session() as s:
        return upsert_accounts(s, accounts)


def submit_request(request: CancellationRequest, start_run: bool = True) -> dict[str, Any]:
    """Intake (§1): validate, open or join the case, start its one flow run."""
    policy = get_settings().policy()
    with _session() as s:
        account = get_account(s, request.account_id)
        if request.wished_date is not None:
            try:
                plan_timeline(account, date.today(), policy, wished_date=request.wished_date)
            except PlanError as exc:
                raise OffboardingError(str(exc)) from exc
        case, created = open_case(s, request)
        case_id, run_id, segment = case.case_id, case.flow_run_id, str(account.segment)
    if start_run and run_id is None:
        run_id = start_case_run(case_id, request.account_id, segment)
    return {"case_id": case_id, "created": created, "flow_run_id": run_id}


def start_case_run(case_id: str, account_id: str, segment: str) -> str:
    from prefect.deployments import run_deployment

    run = run_deployment(
        OFFBOARDING,
        parameters={"case_id": case_id, "account_id": account_id},
        timeout=0,
        as_subflow=False,
        idempotency_key=f"offboarding-{case_id}",
        tags=[f"account:{account_id}", f"segment:{segment}", f"case:{case_id}"],
    )
    with _session() as s:
        case = get_case(s, case_id)
        case.flow_run_id = case.flow_run_id or str(run.id)
    return str(run.id)


def _wait_until_paused(run_id: str, timeout: float = 60) -> None:
    """Wait until the run is paused *and* its input form is stored.

    Prefect sets the Paused/Suspended state first and saves the run's input schema right after;
    a resume in between is rejected ("Run input schema not found"), so both are awaited.
    """
    from httpx import HTTPStatusError
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(UUID(run_id))
            if run.state and run.state.is_paused():
                keyset = run.state.state_details.run_input_keyset
                if not keyset:
                    return
                try:
                    client.read_flow_run_input(UUID(run_id), keyset["schema"])
                    return
                except ObjectNotFound:
                    pass
                except HTTPStatusError as exc:
                    if exc.response.status_code != 404:
                        raise
            if time.monotonic() > deadline:
                raise OffboardingError(
                    f"run {run_id} is {run.state.name if run.state else 'unknown'}, "
                    "not waiting for input; try again in a moment"
                )
            time.sleep(0.5)


def decide(case_id: str, verb: str, payload: dict[str, Any], wait: float = 120) -> dict[str, Any]:
    """Resume the waiting run with typed input, as the UI form does; refuse bad input first."""
    from prefect.flow_runs import resume_flow_run

    from flows.inputs import input_model_for

    with _session() as s:
        case = get_case(s, case_id)
        key = case.waiting_for
        if key is None:
            raise OffboardingError(f"case {case_id} waits for no decision (status {case.status})")
        if not key.startswith(VERBS[verb]):
            raise OffboardingError(f"case {case_id} waits for {key!r}, not for `{verb}`")
        model = input_model_for(key)
        try:
            value = model.model_validate(payload)
        except ValidationError as exc:
            raise OffboardingError(f"invalid input: {_short(exc)}") from exc
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
    # the run pauses right after recording the wait; a busy Prefect server on SQLite has been
    # seen to stall its writes for ~65 s (its 60 s busy timeout), so wait as long as allowed
    _wait_until_paused(run_id, timeout=max(60.0, wait))
    try:
        resume_flow_run(UUID(run_id), run_input=value.model_dump(mode="json"))
    except Exception as exc:  # the server answers REJECT for input it will not take
        raise OffboardingError(f"the server rejected the input: {exc}") from exc
    if not wait:
        return {"case_id": case_id, "input_key": key, "resumed": True}
    return wait_for_decision(case_id, key, wait)


def _role_of(key: str) -> str:
    return key.split("-")[1]


def wait_for_decision(case_id: str, key: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _session() as s:
            row = decision_for(s, case_id, key)
            if row is not None:
                case = get_case(s, case_id)
                return {
                    "case_id": case_id,
                    "input_key": key,
                    "accepted": row.accepted,
                    "decision": row.decision,
                    "why": row.why,
                    "status": case.status,
                }
        time.sleep(0.5)
    return {"case_id": case_id, "input_key": key, "resumed": True, "recorded": False}


def failed_runs(case_id: str) -> list[str]:
    """Runs of this case (main and stages) that ended Failed or Crashed."""
    from prefect.client.orchestration import get_client

    with _session() as s:
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
    predicate,
    timeout: float = 120,
    poll: float = 0.5,
    fail_fast: bool = True,  # noqa: ANN001
) -> CaseRow:
    """Poll the case until predicate(case) holds; the demo and tests use it.

    With fail_fast, a failed or crashed run of the case raises at once instead of timing out.
    """
    deadline = time.monotonic() + timeout
    checks = 0
    while True:
        with _session() as s:
            case = get_case(s, case_id)
            if predicate(case):
                return case
        checks += 1
        if fail_fast and checks % 10 == 0 and (bad := failed_runs(case_id)):
            raise RuntimeError(f"case {case_id}: run failed: {bad[0]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"case {case_id} still {case.status} (waiting {case.waiting_for})")
        time.sleep(poll)


def _ack(s, c: CaseRow, zones: dict[str, str] | None = None) -> dict[str, Any]:  # noqa: ANN001
    """§1 acknowledgement against its target, in the account's business hours."""
    from offboarding.ack_sla import ack_status

    zones = {} if zones is None else zones
    if c.account_id not in zones:
        zones[c.account_id] = get_account(s, c.account_id).timezone
    target = get_settings().policy().comms.acknowledgement_target_hours
    status = ack_status(c.requested_at, c.acknowledged_at, zones[c.account_id], target)
    return {**status.to_dict(), "target_hours": target}


def list_cases(status: str | None = None) -> list[dict[str, Any]]:
    with _session() as s:
        q = select(CaseRow).order_by(CaseRow.created_at)
        if status:
            q = q.where(CaseRow.status == CaseStatus(status))
        zones: dict[str, str] = {}
        return [
            {
                "case_id": c.case_id,
                "account_id": c.account_id,
                "status": c.status,
                "waiting_for": c.waiting_for,
                "requested_at": c.requested_at.isoformat(),
                "needs_attention": c.needs_attention,
                "acknowledgement": _ack(s, c, zones),
            }
            for c in s.scalars(q)
        ]


def _export_delivery(s, case_id: str, export_id: str) -> dict[str, Any]:  # noqa: ANN001
    """Requested -> delivered against the §6 target, as the export's delivery step recorded it."""
    from offboarding.cases import step_result

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
    settings = get_settings()
    with _session() as s:
        c = get_case(s, case_id)
        run_link = f"{settings.ui_url}/runs/flow-run/{c.flow_run_id}" if c.flow_run_id else None
        stages = s.scalars(select(StageRow).where(StageRow.case_id == case_id)).all()
        return {
            "case_id": c.case_id,
            "account_id": c.account_id,
            "status": c.status,
            "requested_by": c.requested_by,
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
            "flow_run": run_link,
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
                    "run": x.flow_run_id and f"{settings.ui_url}/runs/flow-run/{x.flow_run_id}",
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
            "viewed_at": utcnow().isoformat(),
        }
