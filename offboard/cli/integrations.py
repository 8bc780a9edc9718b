"""`offboard integrations list [--case C] [--status S] | release ID (--done | --again) | check`:
every call made to a vendor, a person's decision on a refused one, and what is configured."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service.integrations import call_rows, check_integrations, release_call

app = typer.Typer(
    help="Integrations: vendor calls made once each, refused ones, and what is configured.",
    no_args_is_help=True,
)


@app.command("list")
def integrations_list(
    case: str = typer.Option(None, "--case", help="Only this case's calls"),
    status: str = typer.Option(None, "--status", help="done, calling, pending, failed, unknown"),
    as_json: bool = JsonOpt,
) -> None:
    """The vendor calls with their status, attempts and any vendor message."""
    rows = run_or_fail(lambda: call_rows(case, status), as_json)

    def render(rows: list[dict[str, Any]]) -> None:
        t = Table("id", "case", "vendor", "step", "status", "attempts", "error")
        for r in rows:
            t.add_row(str(r["id"]), r["case_id"], r["vendor"], escape(r["step"]), r["status"],
                      str(r["attempts"]), escape((r["error"] or "")[:80]))  # fmt: skip
        console.print(t)

    print_result(rows, as_json, render)


@app.command("release")
def integrations_release(
    call_id: int,
    done: bool = typer.Option(
        None, "--done/--again", help="It happened at the vendor (mark done) / make it again"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Decide on a refused (4xx) or unknown call; the automation never repeats those itself.
    You are the owner of your API token (OFFBOARDING_TOKEN), recorded in the audit log."""
    if done is None:
        from offboard.cli.output import fail

        fail("say what happened: --done or --again", as_json)
    result = run_or_fail(lambda: release_call(call_id, done), as_json)
    print_result(result, as_json, lambda d: console.print(
        f"{d['case_id']}: {d['vendor']} {d['step']} is now {d['status']}"))  # fmt: skip


@app.command("check")
def integrations_check(as_json: bool = JsonOpt) -> None:
    """What is configured, and one read-only call to each integration that is on."""
    rows = run_or_fail(check_integrations, as_json)

    def render(rows: list[dict[str, Any]]) -> None:
        t = Table("integration", "on", "check")
        for r in rows:
            mark = {None: "-", True: "[green]ok[/green]", False: "[red]fail[/red]"}[r["ok"]]
            t.add_row(r["vendor"], "yes" if r["on"] else "no", f"{mark} {escape(r['detail'])}")
        console.print(t)

    print_result(rows, as_json, render)
    if any(r["ok"] is False for r in rows):
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="integrations")
