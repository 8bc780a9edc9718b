"""Cases: open one from a cancellation request, list them, show one with its run links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service.case_runs import submit_request
from offboard.service.case_views import case_view, list_cases
from offboarding.cases.store import OffboardingError
from offboarding.domain import CancellationRequest


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

    def body() -> dict[str, Any]:
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

    result = run_or_fail(body, as_json)
    print_result(
        result,
        as_json,
        _print_opened,
    )


def _print_opened(d: dict[str, Any]) -> None:
    opened = "opened" if d["created"] else "already open (same request)"
    if d.get("not_started"):
        console.print(f"case [bold]{d['case_id']}[/bold] {opened}; [yellow]no run yet[/yellow]")
        console.print(f"[yellow]{escape(d['not_started'])}[/yellow]")
        return
    console.print(f"case [bold]{d['case_id']}[/bold] {opened}; run {d['flow_run_id']}")


def cases(
    status: str = typer.Option(None, help="Filter by status, e.g. awaiting_approval"),
    as_json: bool = JsonOpt,
) -> None:
    """List cases, oldest first."""
    rows = run_or_fail(lambda: list_cases(status), as_json)

    def render(rows: list[dict[str, Any]]) -> None:
        t = Table(
            Column("case", no_wrap=True),
            Column("account", no_wrap=True),
            "status",
            "waiting for",
            "requested",
            "requester",
            "attention",
        )
        for r in rows:
            t.add_row(
                r["case_id"],
                r["account_id"],
                r["status"],
                r["waiting_for"] or "",
                r["requested_at"][:16],
                r.get("requester_standing") or "",
                r["needs_attention"] or "",
            )
        console.print(t)

    print_result(rows, as_json, render)


def show(case: str, as_json: bool = JsonOpt) -> None:
    """One case: status, what it waits for, plan, decisions, timeline, messages, run links."""
    view = run_or_fail(lambda: case_view(case), as_json)
    print_result(view, as_json, render_case)


def render_case(v: dict[str, Any]) -> None:
    """`offboard show` as text: the headline facts, then one table per kind of record."""
    console.print(
        f"[bold]{v['case_id']}[/bold] account {v['account_id']} — [bold]{v['status']}[/bold]"
    )
    console.print(
        f"requested by {escape(v['requested_by'])}: {escape(v.get('requester_standing') or '')}"
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
    if (k := v.get("karte")) and k.get("rows"):
        from offboard.cli.karte import render_karte

        render_karte(k)  # §14: the retention karte of the case's account


def register(root: typer.Typer) -> None:
    root.command()(request)
    root.command()(cases)
    root.command()(show)
