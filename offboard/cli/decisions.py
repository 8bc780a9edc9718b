"""Decisions on a waiting case (§2–§4): verify, save outcome, approve, reject. Each resumes the
case's paused run with typed input, exactly as the form in the Prefect UI does."""

from __future__ import annotations

from typing import Any

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_refusal, print_result, run_or_fail
from offboard.service.case_runs import decide

ByOpt = typer.Option(
    None, "--by", help="Your email, checked against your API token (OFFBOARDING_TOKEN)"
)
WaitOpt = typer.Option(120.0, help="Seconds to wait for the run to record the decision (0: no)")


def _decide(case: str, verb: str, payload: dict[str, Any], as_json: bool, wait: float) -> None:
    if payload.get("decided_by") is None:
        payload.pop("decided_by", None)  # the token says who decides
    result = run_or_fail(lambda: decide(case, verb, payload, wait), as_json)
    if result.get("accepted") is False:
        print_refusal(result, as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"{d['case_id']}: {d.get('decision', 'resumed')} recorded; "
            f"status {d.get('status', '?')}"
        ),
    )


def verify(
    case: str,
    by: str = ByOpt,
    reason: str = typer.Option("other", help="Reason category (§2)"),
    detail: str = typer.Option("", help="The reason in the customer's words"),
    not_a_cancellation: bool = typer.Option(False, "--not-a-cancellation"),
    competitor: str = typer.Option(""),
    competitor_signed: bool = typer.Option(False, "--competitor-signed"),
    product_gap: str = typer.Option(""),
    preventable: bool = typer.Option(False),
    missed_signs: str = typer.Option(""),
    closure_date: str = typer.Option(None, help="Agreed closure date YYYY-MM-DD"),
    waive_notice: bool = typer.Option(False),
    refund: float = typer.Option(None, help="Agreed refund if not pro rata"),
    unusual: bool = typer.Option(False),
    knowledge_transfer: bool = typer.Option(False, "--knowledge-transfer"),
    declines_sales: bool = typer.Option(False, "--declines-sales-conversation"),
    firm: bool = typer.Option(False, "--firm-decision"),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """§2: confirm the cancellation is intended and record the reason."""
    payload = {
        "decided_by": by,
        "is_cancellation": not not_a_cancellation,
        "reason": reason,
        "reason_detail": detail,
        "competitor_name": competitor,
        "competitor_contract_signed": competitor_signed,
        "product_gap": product_gap,
        "preventable": preventable,
        "missed_warning_signs": missed_signs,
        "agreed_closure_date": closure_date,
        "waive_notice": waive_notice,
        "refund_amount": refund,
        "unusual": unusual,
        "needs_knowledge_transfer": knowledge_transfer,
        "customer_declines_sales_conversation": declines_sales,
        "firm_decision": firm,
    }
    _decide(case, "verify", payload, as_json, wait)


def save_outcome(
    case: str,
    by: str = ByOpt,
    outcome: str = typer.Option(..., help="saved, not_saved or declined_conversation"),
    offered: str = typer.Option(""),
    customer_said: str = typer.Option(""),
    why: str = typer.Option(""),
    another: bool = typer.Option(False, "--another-conversation-agreed"),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """§3: record the outcome of a save conversation."""
    payload = {
        "decided_by": by,
        "outcome": outcome,
        "offered": offered,
        "customer_said": customer_said,
        "why": why,
        "another_conversation_agreed": another,
    }
    _decide(case, "save-outcome", payload, as_json, wait)


def approve(
    case: str,
    by: str = ByOpt,
    comment: str = typer.Option(""),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """§4: approve the waiting approval (role-checked; never the requester)."""
    _decide(
        case,
        "approve",
        {"decided_by": by, "decision": "approve", "comment": comment},
        as_json,
        wait,
    )


def reject(
    case: str,
    by: str = ByOpt,
    comment: str = typer.Option(...),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """§4: reject; the case escalates and never silently proceeds."""
    _decide(
        case, "reject", {"decided_by": by, "decision": "reject", "comment": comment}, as_json, wait
    )


def confirm_requester(
    case: str,
    by: str = typer.Option(..., "--by", help="The account's authorised contact who answered"),
    code: str = typer.Option(..., "--code", help="The confirmation code that contact was sent"),
    deny: bool = typer.Option(False, "--deny", help="They say nobody there made the request"),
    comment: str = typer.Option("", help="What they said"),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """§1: enter an authorised contact's answer to a stranger's request, with their code."""
    payload = {
        "decided_by": by,
        "decision_code": code,
        "decision": "deny" if deny else "confirm",
        "comment": comment,
    }
    _decide(case, "confirm-requester", payload, as_json, wait)


def register(root: typer.Typer) -> None:
    root.command()(verify)
    root.command("save-outcome")(save_outcome)
    root.command()(approve)
    root.command()(reject)
    root.command("confirm-requester")(confirm_requester)
