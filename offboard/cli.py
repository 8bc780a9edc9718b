"""`offboard`: the command line for ops staff, approvers and engineers. Every command has --json.

Bad input exits non-zero with a one-line reason and changes nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from offboarding.cases import OffboardingError

app = typer.Typer(
    help="Customer cancellations as orchestrated, auditable workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
accounts_app = typer.Typer(help="Accounts: import from CSV or JSON.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
console = Console()
err = Console(stderr=True)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


@app.callback()
def _main() -> None:
    """Customer cancellations as orchestrated, auditable workflows."""
    from offboard.stack import load_stack_env

    if load_stack_env():
        from offboarding.settings import get_settings

        get_settings.cache_clear()


def _out(data: Any, as_json: bool, render=None) -> None:  # noqa: ANN001
    if as_json or render is None:
        print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        render(data)


def _fail(message: str, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False))
    else:
        # One line whatever the width (no wrapping), and the message is text, not markup.
        err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def _guard(fn, as_json: bool):  # noqa: ANN001, ANN202
    """Run a command body, turning our errors into a clear message and exit code 2."""
    try:
        return fn()
    except (OffboardingError, ValidationError, ValueError, FileNotFoundError) as exc:
        msg = str(exc)
        if isinstance(exc, ValidationError):
            from offboard.service import _short

            msg = f"invalid input: {_short(exc)}"
        _fail(msg, as_json)


@accounts_app.command("import")
def accounts_import(path: Path, as_json: bool = JsonOpt) -> None:
    """Import (or update) accounts from a CSV or JSON file; all rows valid or none written."""
    from offboard.service import import_accounts

    n = _guard(lambda: import_accounts(path), as_json)
    _out({"imported": n}, as_json, lambda d: console.print(f"imported {d['imported']} accounts"))


@app.command()
def request(
    account: str = typer.Argument(..., help="Account id"),
    by: str = typer.Option(..., "--by", help="Email of the person asking to cancel"),
    channel: str = typer.Option("email", help="support_ticket, email, portal or csm"),
    reason: str = typer.Option("", help="Reason text as given"),
    wished_date: str = typer.Option(None, "--wished-date", help="YYYY-MM-DD"),
    external_ref: str = typer.Option(None, "--external-ref", help="Ticket id; dedupes"),
    declines_sales: bool = typer.Option(False, "--declines-sales-conversation"),
    as_json: bool = JsonOpt,
) -> None:
    """Open a cancellation case (or join the existing one) and start its flow run."""
    from offboard.service import submit_request
    from offboarding.domain import CancellationRequest

    def body() -> dict:
        try:
            wished = date.fromisoformat(wished_date) if wished_date else None
        except ValueError as exc:
            raise OffboardingError(
                f"--wished-date {wished_date!r} is not YYYY-MM-DD: {exc}"
            ) from exc
        req = CancellationRequest(
            account_id=account,
            channel=channel,
            requested_by=by,
            requested_at=datetime.now(UTC),
            reason_text=reason,
            wished_date=wished,
            external_ref=external_ref,
            declines_sales_conversation=declines_sales,
        )
        return submit_request(req)

    result = _guard(body, as_json)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"case [bold]{d['case_id']}[/bold] "
            f"{'opened' if d['created'] else 'already open (same request)'}; run {d['flow_run_id']}"
        ),
    )


@app.command()
def cases(
    status: str = typer.Option(None, help="Filter by status, e.g. awaiting_approval"),
    as_json: bool = JsonOpt,
) -> None:
    """List cases, oldest first."""
    from offboard.service import list_cases

    rows = _guard(lambda: list_cases(status), as_json)

    def render(rows: list[dict]) -> None:
        t = Table("case", "account", "status", "waiting for", "requested", "attention")
        for r in rows:
            t.add_row(
                r["case_id"],
                r["account_id"],
                r["status"],
                r["waiting_for"] or "",
                r["requested_at"][:16],
                r["needs_attention"] or "",
            )
        console.print(t)

    _out(rows, as_json, render)


@app.command()
def show(case: str, as_json: bool = JsonOpt) -> None:
    """One case: status, what it waits for, plan, decisions, timeline, messages, run links."""
    from offboard.service import case_view

    view = _guard(lambda: case_view(case), as_json)

    def render(v: dict) -> None:
        console.print(
            f"[bold]{v['case_id']}[/bold] account {v['account_id']} — [bold]{v['status']}[/bold]"
        )
        if v["waiting_for"]:
            w = v["waiting_for"]
            console.print(
                f"waits for [yellow]{w['input_key']}[/yellow] since {w['since'][:19]}"
                f", escalates at {w['decision_due'][:19]}"
            )
        if v.get("needs_attention"):
            console.print(f"[red]needs attention:[/red] {escape(v['needs_attention'])}")
        if ack := v.get("acknowledgement"):
            met = {True: "met", False: "missed", None: "overdue" if ack["overdue"] else "open"}
            console.print(
                f"acknowledgement: {met[ack['met']]} (due {ack['due_at'][:16]}"
                + (f", took {ack['hours']} h)" if ack["hours"] is not None else ")")
            )
        if v["flow_run"]:
            console.print(f"run: {v['flow_run']}")
        if v["plan"]:
            p = v["plan"]
            console.print(
                f"plan: export by {p['export_due']}, access reduced {p['access_reduction_on']}"
                f", closure {p['closure_on']}, deactivation {p['deactivation_on']}"
                f", purge {p['purge_on']}"
            )
        for e in v.get("exports", []):
            if e.get("delivery_hours") is not None:
                console.print(
                    f"export {e['export_id']}: delivered in {e['delivery_hours']:.2f} h"
                    f" (target {e['target_hours']:g} h, {'met' if e['met'] else 'MISSED'})"
                )
            else:
                console.print(f"export {e['export_id']}: {e['status']}")
        for title, rows, cols in (
            ("Decisions", v["decisions"], ["key", "by", "decision", "accepted", "why"]),
            ("Stages", v["stages"], ["stage", "due_at", "status"]),
            ("Messages", v["messages"], ["kind", "seq", "status", "subject"]),
            ("Timeline", v["audit"], ["at", "actor", "action", "what", "why"]),
        ):
            if rows:
                t = Table(*cols, title=title)
                for r in rows:
                    t.add_row(*[str(r[c])[:60] for c in cols])
                console.print(t)

    _out(view, as_json, render)


def _decide(case: str, verb: str, payload: dict, as_json: bool, wait: float) -> None:
    from offboard.service import decide

    result = _guard(lambda: decide(case, verb, payload, wait), as_json)
    if result.get("accepted") is False:
        _out(result, as_json, lambda d: err.print(f"[red]refused:[/red] {d['why']}"))
        raise typer.Exit(3)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"{d['case_id']}: {d.get('decision', 'resumed')} recorded; "
            f"status {d.get('status', '?')}"
        ),
    )


WaitOpt = typer.Option(120.0, help="Seconds to wait for the run to record the decision (0: no)")


@app.command()
def verify(
    case: str,
    by: str = typer.Option(..., "--by"),
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


@app.command("save-outcome")
def save_outcome(
    case: str,
    by: str = typer.Option(..., "--by"),
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


@app.command()
def approve(
    case: str,
    by: str = typer.Option(..., "--by"),
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


@app.command()
def reject(
    case: str,
    by: str = typer.Option(..., "--by"),
    comment: str = typer.Option(...),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """§4: reject; the case escalates and never silently proceeds."""
    _decide(
        case, "reject", {"decided_by": by, "decision": "reject", "comment": comment}, as_json, wait
    )


@app.command()
def sweep(as_json: bool = JsonOpt) -> None:
    """Run the daily sweeper now (escalations, missed stages, orphaned runs)."""
    from flows.sweeper_flow import sweeper_flow

    _out(sweeper_flow(), as_json)


@app.command()
def up(
    state_dir: Path = typer.Option(Path(".state"), help="Project-local state folder"),
    port: int = typer.Option(4200, help="Prefect server port"),
    as_json: bool = JsonOpt,
) -> None:
    """Run the embedded stack (Prefect server, local S3, served deployments) until Ctrl-C."""
    import signal
    import time

    from offboard.stack import Stack

    stack = Stack(state_dir, prefect_port=port)
    with console.status("starting the embedded stack…"):
        stack.start()
    ready = {
        "ui": stack.ui_url,
        "api": stack.api_url,
        "s3": stack.s3.endpoint,
        "env_file": str(stack.env_file),
    }
    _out(
        ready,
        as_json,
        lambda d: console.print(
            f"Prefect UI: [bold]{d['ui']}[/bold]   S3: {d['s3']}\n"
            f"`offboard` in another shell finds this stack through {d['env_file']}"
        ),
    )
    if not as_json:
        console.print("Ctrl-C to stop.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        with console.status("stopping…"):
            stack.stop()


@app.command()
def demo(
    state_dir: Path = typer.Option(Path(".state/demo"), help="Demo state (wiped first)"),
    day_seconds: float = typer.Option(1.0, help="Length of one playbook day in the demo"),
    port: int = typer.Option(None, help="Prefect server port (default: a free one)"),
    as_json: bool = JsonOpt,
) -> None:
    """Start the stack, run the scripted cancellations to their end, print a summary, stop."""
    from offboard.demo import run_demo

    rows = run_demo(state_dir, day_seconds, port, console, as_json)
    if any(r["ok"] is False for r in rows):
        raise typer.Exit(1)


def _register_extensions() -> None:
    """Command groups that live in their own modules register themselves here."""
    import importlib

    for name in ("cli_export", "cli_templates", "cli_winback", "cli_dashboard"):
        try:
            module = importlib.import_module(f"offboard.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"offboard.{name}":
                raise
            continue
        module.register(app)


if __name__ == "__main__":
    # `python -m offboard.cli`: run the importable module, so extensions register once
    from offboard.cli import app as _app

    _app()
else:
    _register_extensions()
