"""`offboard messages list CASE | release CASE KIND [--seq N] [--by EMAIL] (--delivered |
--send-again)`: what a case was sent, and a person's decision on a held message (issue 4)."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service.messages import message_rows, release_message

app = typer.Typer(
    help="Messages of a case: what went, and decide on refused or unknown ones.",
    no_args_is_help=True,
)


@app.command("list")
def messages_list(case: str, as_json: bool = JsonOpt) -> None:
    """The messages of a case with their status, attempts and any error."""
    rows = run_or_fail(lambda: message_rows(case), as_json)

    def render(rows: list[dict[str, Any]]) -> None:
        t = Table("kind", "seq", "status", "locale", "attempts", "subject", "error")
        for r in rows:
            t.add_row(
                r["kind"],
                str(r["seq"]),
                r["status"],
                r["locale"],
                str(r["attempts"]),
                escape(r["subject"][:60]),
                escape((r["error"] or "")[:80]),
            )
        console.print(t)

    print_result(rows, as_json, render)


@app.command("release")
def messages_release(
    case: str,
    kind: str,
    seq: int = typer.Option(1, "--seq", help="Sequence number of the message"),
    by: str = typer.Option(
        None, "--by", help="Your email, checked against your API token (OFFBOARDING_TOKEN)"
    ),
    delivered: bool = typer.Option(
        None,
        "--delivered/--send-again",
        help="It did arrive (mark sent) / it did not: send it again on the next run",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Decide on a refused (4xx) or unknown-outcome message; the automation never resends
    those by itself. You are who your API token says (recorded in the audit log)."""
    result = run_or_fail(lambda: release_message(case, kind, seq, by, delivered), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(f"{d['case_id']}: {d['kind']} #{d['seq']} is now {d['status']}"),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="messages")
