"""`offboard dashboard [--json] [--html PATH]`: every §13 measure from the store (issue 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from offboard.cli.options import JsonOpt, parse_time
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service.dashboard import dashboard as build_dashboard
from offboarding.cases.store import OffboardingError

STATUS_COLOURS = {"met": "green", "missed": "red", "no data": "dim", "info": "cyan"}


def dashboard(
    as_json: bool = JsonOpt,
    html: Path = typer.Option(None, "--html", help="Also write the HTML page to this path"),
    since_days: int = typer.Option(None, "--since-days", help="Only the last N days"),
    as_of: str = typer.Option(None, "--as-of", help="Measure as of this ISO time (default now)"),
) -> None:
    """Every §13 measure from the store: rich tables, --json, or the HTML page with --html."""

    def body() -> dict[str, Any]:
        if since_days is not None and since_days < 1:
            raise OffboardingError("--since-days must be at least 1")
        return build_dashboard(parse_time(as_of, "--as-of"), since_days, html)

    result = run_or_fail(body, as_json)
    print_result(result, as_json, render_dashboard)


def render_dashboard(d: dict[str, Any]) -> None:
    """The measures table, then open requests, churn reasons, patterns and the audit line."""
    from tasks.dashboard import measure_rows

    t = Table(
        "measure", "value", "target", "status", "detail", title=f"Offboarding · {d['as_of'][:16]}"
    )
    for m in measure_rows(d):
        c = STATUS_COLOURS.get(m["status"], "white")
        t.add_row(m["measure"], m["value"], m["target"], f"[{c}]{m['status']}[/{c}]", m["detail"])
    console.print(t)
    op = d["open_requests"]
    t = Table("status", "open", title=f"Open requests ({op['total']})")
    for s, n in op["by_status"].items():
        if n:
            t.add_row(s, str(n))
    console.print(t)
    r = d["reasons"]
    t = Table("reason", "churned", "ARR", title=f"Churn reasons ({r['churned']})")
    for k, n in r["by_category"].items():
        t.add_row(k, str(n), f"{r['churned_arr_by_reason'].get(k, 0):,.0f}")
    console.print(t)
    p = r["preventable"]
    console.print(
        f"preventable: {p['preventable']} of {p['judged']} judged · missed warning signs in "
        f"{r['missed_warning_signs']['cases']} cases"
    )
    if d["patterns"]:
        t = Table("pattern", "gap / issue", "customers", "status", title="Patterns")
        for x in d["patterns"]:
            t.add_row(x["pattern_id"], x["label"], str(x["customers"]), x["status"])
        console.print(t)
    a = d["audit"]
    console.print(
        f"audit {a['quarter']}: {a['with_missing']} of {a['audited']} cases with a step missing; "
        f"spot check {d['spot_check']['week']}: {len(d['spot_check']['sample'])} messages to read"
    )
    if d.get("page"):
        console.print(f"page: {d['page']}")


def register(root: typer.Typer) -> None:
    root.command("dashboard")(dashboard)
