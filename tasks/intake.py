"""The first stages of a case: intake and the acknowledgement (§1), both done once."""

from __future__ import annotations

from typing import Any

from prefect import task

from offboarding.cases.store import (
    audit,
    get_account,
    get_case,
    record_step,
    step_result,
)
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.trust.standing import requester_standing
from offboarding.trust.store import requester_may_receive
from tasks.common import FLOW, RETRYING, current_flow_run_id, db


@task(name="intake", **RETRYING)
def intake(case_id: str) -> dict[str, Any]:
    """Link the case to this run; the case itself was opened (deduplicated) at request time."""
    with db() as s:
        case = get_case(s, case_id)
        run_id = current_flow_run_id()
        if run_id and case.flow_run_id != run_id:
            case.flow_run_id = run_id
        done = step_result(s, case_id, "intake")
        if done is None:
            account = get_account(s, case.account_id)
            roles = get_settings().policy().trust.authorised_roles
            standing = requester_standing(account, case.requested_by, roles)
            done = {
                "account_id": case.account_id,
                "channel": case.channel,
                "requester": case.requested_by,
                "standing": standing.level,
                "standing_text": standing.describe(),
            }
            record_step(s, case_id, "intake", done, flow_run_id=run_id)
            audit(s, case_id, FLOW, "requester_standing", case.requested_by, standing.describe())
        return done


@task(name="acknowledge", **RETRYING)
def acknowledge(case_id: str) -> dict[str, Any]:
    """§1: acknowledge once, and measure it against the 24 h target in the account's business
    hours. A support ticket that mentions cancelling is acknowledged with the verification
    question (§2: cancel, or fix the problem?) instead of a plain acknowledgement."""
    from offboarding.cases.acknowledgement import OVERDUE_MARKER, ack_status
    from offboarding.comms.ledger import unflag_case
    from tasks.messaging import send_message

    with db() as s:
        done = step_result(s, case_id, "acknowledge")
        if done is not None:
            return done
        case = get_case(s, case_id)
        kind = "verification_question" if case.channel == "support_ticket" else "acknowledgement"
        extra = None
        if not requester_may_receive(
            s, case, get_settings().policy()
        ):  # a stranger learns nothing of the account
            kind, extra = "request_received", {"to": [case.requested_by]}
    sent = send_message.fn(case_id, kind, extra=extra)
    with db() as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        case.acknowledged_at = case.acknowledged_at or utcnow()
        target = get_settings().policy().comms.acknowledgement_target_hours
        status = ack_status(case.requested_at, case.acknowledged_at, account.timezone, target)
        result = {
            "kind": kind,
            "hours": status.hours,
            "target_hours": target,
            "due_at": status.due_at.isoformat(),
            "met": status.met,
            "message": sent["location"],
        }
        unflag_case(s, case_id, OVERDUE_MARKER)
        record_step(s, case_id, "acknowledge", result)
        return result
