"""`offboard risk ...` (§14): the daily early-warning scan and the at-risk queue.

offboard risk scan [--on DATE]                 # the daily scan now (a rerun opens nothing)
offboard risk list [--status open|resolved|all] [--owner EMAIL]
offboard risk show ACCOUNT                     # its episodes and its karte
offboard risk resolve ACCOUNT --note "..." [--cause CAUSE]   # as your API token proves
"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from offboard.cli.karte import render_karte
from offboard.cli.options import JsonOpt, parse_date
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service import risk as service

app = typer.Typer(help="Early warning: the daily at-risk scan and queue.", no_args_is_help=True)


def _table(rows: list[dict[str, Any]], title: str) -> None:
    t = Table("account", "cause", "priority", "respond by", "owner", "told", "evidence",
              title=title)  # fmt: skip
    for r in rows:
        t.add_row(
            r["account_id"], r["cause"], r["priority"], (r["respond_by"] or "")[:16], r["owner"],
            "yes" if r["notified_at"] else "no", escape(r["latest_evidence"][:90]),
        )  # fmt: skip
    console.print(t)


@app.command("scan")
def risk_scan(
    on: str = typer.Option(None, help="The day to scan (default: today)"),
    as_json: bool = JsonOpt,
) -> None:
    """Run the daily scan now: new episodes opened, each owner told once."""
    day = run_or_fail(lambda: parse_date(on, "--on"), as_json)
    result = service.run_scan(day)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"{d['day']}: {d['population']} accounts, {d['findings']} findings, "
            f"{d['opened']} new episodes, {d['alerted']} owners told, {d['open_episodes']} open"
            + (f"; stale feeds skipped: {', '.join(d['stale'])}" if d["stale"] else "")
        ),
    )


@app.command("list")
def risk_list(
    status: str = typer.Option("open", help="open, resolved or all"),
    owner: str = typer.Option(None, help="Only this owner's accounts"),
    as_json: bool = JsonOpt,
) -> None:
    """The at-risk queue, most pressing first (priority, impact × urgency, response due)."""
    rows = run_or_fail(lambda: service.queue(None if status == "all" else status, owner), as_json)
    print_result(rows, as_json, lambda r: _table(r, f"At risk ({status})"))


@app.command("show")
def risk_show(
    account: str = typer.Argument(..., help="Account id"),
    as_json: bool = JsonOpt,
) -> None:
    """One account: every episode with its evidence and priority, then its karte."""
    view = run_or_fail(lambda: service.account_risk(account), as_json)

    def render(v: dict[str, Any]) -> None:
        for e in v["episodes"]:
            head = f"[bold]{e['episode_id']}[/bold] {e['cause']} — {e['status']}, {e['priority']}"
            console.print(head + f" (opened {e['opened_on']}, respond by {e['respond_by'][:16]})")
            console.print(f"  evidence: {escape(e['latest_evidence'])}")
            if e["context"]:
                console.print(f"  context: {escape(', '.join(e['context']))}")
            console.print(f"  first sentence: {escape(e['opening'])}")
            if e["status"] == "resolved":
                console.print(f"  resolved by {e['resolved_by']}: {escape(e['resolution_note'])}")
        if not v["episodes"]:
            console.print(f"{v['account_id']}: no at-risk episode")
        render_karte(v["karte"])

    print_result(view, as_json, render)


@app.command("resolve")
def risk_resolve(
    account: str = typer.Argument(..., help="Account id"),
    note: str = typer.Option(..., "--note", help="What was done (recorded)"),
    cause: str = typer.Option(None, help="Only this cause's episode"),
    by: str = typer.Option(None, "--by", help="Your email (checked against your API token)"),
    as_json: bool = JsonOpt,
) -> None:
    """Resolve the account's open episodes, as the person your API token proves."""
    result = run_or_fail(lambda: service.resolve_risk(account, note, cause, by), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"{d['account_id']}: resolved {', '.join(r['cause'] for r in d['resolved'])} "
            f"(by {d['resolved_by']})"
        ),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="risk")
