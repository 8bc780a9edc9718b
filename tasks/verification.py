"""§2 verification: the CSM confirms intent and reason, or sends a misrouted ticket back."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task

from offboarding.cases.store import (
    get_account,
    get_case,
)
from offboarding.cases.timeline import PlanError, plan_timeline
from offboarding.domain import CaseStatus, Reason, ReasonCategory
from offboarding.integrations.webhook_events import CASE_VERIFIED, record_event
from offboarding.settings import get_settings
from tasks.common import RETRYING, db
from tasks.decisions import (
    as_date,
    finish_case,
    is_staff,
    previous_decision,
    store_decision,
)


@task(name="record-verification", **RETRYING)
def record_verification(case_id: str, input_key: str, value: dict[str, Any]) -> dict[str, Any]:
    """§2: intent confirmed or not, reason captured; a plan that breaks a rule is re-asked."""
    with db() as s:
        prev = previous_decision(s, case_id, input_key)
        if prev is not None:
            return prev
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        by = value["decided_by"]
        ok, why = is_staff(by)
        if ok and value.get("is_cancellation") is None:  # untouched: the decider must choose
            ok, why = False, "say whether this is a cancellation (yes or no): nothing was chosen"
        if ok and value["is_cancellation"]:
            try:
                plan_timeline(
                    account,
                    date.today(),
                    get_settings().policy(),
                    wished_date=as_date(value.get("agreed_closure_date")),
                    waive_notice=value.get("waive_notice", False),
                )
            except PlanError as exc:
                ok, why = False, f"timeline not possible: {exc}"
        if not ok:
            return store_decision(
                s, case_id, input_key, "verification", None, by, "invalid", False, why, value
            )
        if value["is_cancellation"]:
            case.reason = Reason(
                category=ReasonCategory(value["reason"]),
                detail=value.get("reason_detail", ""),
                competitor_name=value.get("competitor_name") or None,
                competitor_contract_signed=value.get("competitor_contract_signed", False),
                product_gap=value.get("product_gap") or None,
                preventable=value.get("preventable"),
                missed_warning_signs=value.get("missed_warning_signs", ""),
            ).model_dump(mode="json")
            decision = "confirmed"
            record_event(s, CASE_VERIFIED, {"case_id": case_id, "account_id": case.account_id,
                         "reason": case.reason["category"]}, case_id)  # fmt: skip
        else:
            case.reason = {
                "category": "not_a_cancellation",
                "detail": value.get("reason_detail", ""),
            }
            decision = "not_a_cancellation"
        return store_decision(
            s,
            case_id,
            input_key,
            "verification",
            None,
            by,
            decision,
            True,
            "intent verified",
            value,
        )


@task(name="not-a-cancellation", **RETRYING)
def close_not_a_cancellation(case_id: str) -> dict[str, Any]:
    from tasks.messaging import send_message

    send_message.fn(case_id, "back_to_support", extra={})
    return finish_case(case_id, CaseStatus.not_a_cancellation, "misrouted; back to support")
