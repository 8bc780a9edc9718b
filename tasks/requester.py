"""§1 with the trust boundary: a request from someone who is not an authorised contact of the
account waits for one of them to confirm it. "This wasn't us" ends it and tells the owner and
security; no answer in time ends it as unconfirmed. Nothing of the account moves meanwhile."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import task

from offboarding.cases.store import (
    audit,
    get_account,
    get_case,
    record_step,
    set_status,
    step_result,
)
from offboarding.domain import CaseStatus
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.trust.standing import authorised_contacts
from tasks.common import FLOW, RETRYING, db
from tasks.decisions import previous_decision, store_decision

KEY = "requester-confirmation"
KIND = "requester_confirmation"
UNCONFIRMED_STEP = "requester-unconfirmed"


@task(name="record-requester-confirmation", **RETRYING)
def record_requester_confirmation(
    case_id: str, input_key: str, value: dict[str, Any], role: str | None = None
) -> dict[str, Any]:
    """The account's answer, from one of its authorised contacts (proven by their code)."""
    from tasks.messaging import send_message

    policy = get_settings().policy()
    with db() as s:
        if (prev := previous_decision(s, case_id, input_key)) is not None:
            done = prev
        else:
            case = get_case(s, case_id)
            account = get_account(s, case.account_id)
            person = str(value["decided_by"]).lower()
            decision = str(value.get("decision"))
            if person not in authorised_contacts(account, policy.trust.authorised_roles):
                why = f"{person} is not an authorised contact of {account.account_id}"
                return store_decision(
                    s, case_id, input_key, KIND, None, person, decision, False, why, value
                )
            if decision == "confirm":
                case.request = {
                    **(case.request or {}),
                    "confirmed_by": person,
                    "confirmed_at": utcnow().isoformat(),
                }
                set_status(s, case, CaseStatus.received, person, "request confirmed by the account")
            else:
                why = "the account says it did not make this request"
                set_status(s, case, CaseStatus.refused_by_account, person, why)
                case.completed_at = case.completed_at or utcnow()
            comment = str(value.get("comment") or "")
            done = store_decision(
                s, case_id, input_key, KIND, None, person, decision, True, "", value, comment
            )
            done["requester"] = case.requested_by
            done["owner"] = str(account.owner.email)
    if done["decision"] == "deny" and done["accepted"]:
        case_requester, owner = _requester_and_owner(case_id)
        send_message.fn(
            case_id,
            "requester_refused",
            extra={
                "to": [owner, policy.trust.security_contact],
                "by": done["decided_by"],
                "requester": case_requester,
            },
        )
    return done


def _requester_and_owner(case_id: str) -> tuple[str, str]:
    with db() as s:
        case = get_case(s, case_id)
        return case.requested_by, str(get_account(s, case.account_id).owner.email)


def close_unconfirmed(case_id: str, input_key: str) -> dict[str, Any]:
    """No authorised contact answered in the policy's window: end the case as unconfirmed,
    tell the owner, and cancel the run that waited (it would otherwise wait forever)."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    from tasks.messaging import send_message

    days = get_settings().policy().trust.confirmation_days
    with db() as s:
        done = step_result(s, case_id, UNCONFIRMED_STEP)
        case = get_case(s, case_id)
        if done is None:
            if case.waiting_for != input_key:
                return {"closed": False, "why": "answered meanwhile"}
            case.waiting_for = case.waiting_since = case.decision_due = None
            why = f"no authorised contact confirmed the request within {days:g} days"
            set_status(s, case, CaseStatus.unconfirmed, FLOW, why)
            case.completed_at = case.completed_at or utcnow()
            done = {"requester": case.requested_by, "run_id": case.flow_run_id, "days": days}
            record_step(s, case_id, UNCONFIRMED_STEP, done)
            audit(s, case_id, FLOW, "requester_unconfirmed", input_key, why)
    send_message.fn(
        case_id,
        "requester_unconfirmed",
        extra={"requester": done["requester"], "days": f"{done['days']:g}"},
    )
    if done.get("run_id"):
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(done["run_id"]))
            if run.state and run.state.is_paused():
                client.set_flow_run_state(
                    run.id, Cancelled(message="request unconfirmed by the account"), force=True
                )
    return {"closed": True, **done}
