"""§3 save protocol: the policy decides whether to try, a person records each conversation."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task

from offboarding.cases.save_protocol import decide_save
from offboarding.cases.store import (
    audit,
    get_account,
    get_case,
    record_step,
    step_result,
)
from offboarding.domain import CancellationRequest, CaseStatus, Reason
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import SaveAttemptRow
from tasks.common import RETRYING, db
from tasks.decisions import (
    finish_case,
    is_staff,
    previous_decision,
    store_decision,
)


@task(name="save-decision", **RETRYING)
def save_decision(case_id: str, verification: dict[str, Any]) -> dict[str, Any]:
    """§3 by policy: attempt or accept, with every criterion that decided it."""
    with db() as s:
        done = step_result(s, case_id, "save_decision")
        if done is not None:
            return done
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        request = CancellationRequest.model_validate(case.request)
        v = verification["data"]
        request = request.model_copy(
            update={
                "declines_sales_conversation": request.declines_sales_conversation
                or v.get("customer_declines_sales_conversation", False),
                "firm_decision": request.firm_decision or v.get("firm_decision", False),
            }
        )
        d = decide_save(
            account,
            request,
            Reason.model_validate(case.reason),
            get_settings().policy().save,
            date.today(),
        )
        result = {
            "attempt": d.attempt,
            "max_conversations": d.max_conversations,
            "attempt_criteria": list(d.attempt_criteria),
            "accept_criteria": list(d.accept_criteria),
            "why": d.why,
        }
        case.save_decision = result
        record_step(s, case_id, "save_decision", result)
        audit(s, case_id, "policy", "save_decision", "attempt" if d.attempt else "accept", d.why)
        return result


@task(name="record-save-outcome", **RETRYING)
def record_save_outcome(
    case_id: str, input_key: str, number: int, value: dict[str, Any]
) -> dict[str, Any]:
    """§3: every attempt is recorded, saved or not, with what was offered and said."""
    with db() as s:
        prev = previous_decision(s, case_id, input_key)
        if prev is not None:
            return prev
        by = value["decided_by"]
        ok, why = is_staff(by)
        if not ok:
            return store_decision(
                s, case_id, input_key, "save_outcome", None, by, "invalid", False, why, value
            )
        s.add(
            SaveAttemptRow(
                case_id=case_id,
                number=number,
                led_by=by,
                offered=value.get("offered", ""),
                customer_said=value.get("customer_said", ""),
                outcome=value["outcome"],
                why=value.get("why", ""),
                at=utcnow(),
            )
        )
        return store_decision(
            s,
            case_id,
            input_key,
            "save_outcome",
            None,
            by,
            value["outcome"],
            True,
            value.get("why", ""),
            value,
        )


@task(name="mark-saved", **RETRYING)
def mark_saved(case_id: str) -> dict[str, Any]:
    return finish_case(case_id, CaseStatus.saved, "the customer stays")
