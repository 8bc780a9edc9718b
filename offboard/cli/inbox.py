"""`offboard inbox ...`: the inbound messages (email, helpdesk) and their triage queue: what
arrived, what became of it, and a person's decision on the ones a rule could not take."""

from __future__ import annotations

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service import inbox as service

app = typer.Typer(help="Inbound email and helpdesk messages, and their triage.",
                  no_args_is_help=True)  # fmt: skip


def _line(m: dict) -> str:
    case = f" -> {m['case_id']}" if m.get("case_id") else ""
    return (f"{m['id']:>5}  {m['status']:<9} {m['source']:<16} {m['sender'] or '-':<32} "
            f"{(m['subject'] or '')[:40]}{case}")  # fmt: skip


@app.command("list")
def list_messages(
    status: str = typer.Option(None, help="Only this status: opened, joined, triage, dismissed"),
    limit: int = typer.Option(100, min=1, help="At most this many, newest first"),
    as_json: bool = JsonOpt,
) -> None:
    """Inbound messages, newest first (`--status triage`: those waiting for a person)."""
    rows = run_or_fail(lambda: service.list_inbox(status, limit), as_json)
    print_result(
        rows,
        as_json,
        lambda d: [console.print(_line(m), markup=False) for m in d] or console.print("none"),
    )


@app.command("show")
def show(message_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JsonOpt) -> None:
    """One message: sender, subject, body excerpt, attachments, why it is where it is."""
    m = run_or_fail(lambda: service.show_message(message_id), as_json)

    def render(d: dict) -> None:
        console.print(_line(d), markup=False)
        console.print(f"why: {d['why']}", markup=False)
        if d.get("decided_by"):
            console.print(f"decided by {d['decided_by']} at {d['decided_at']}", markup=False)
        for a in d.get("attachments") or []:
            console.print(f"attachment: {a['name']} ({a['type']}, {a['size']} bytes)",
                          markup=False)  # fmt: skip
        console.print("", d.get("body") or "", markup=False)

    print_result(m, as_json, render)


@app.command("open")
def open_case(
    message_id: int = typer.Argument(..., metavar="ID"),
    account: str = typer.Option(..., "--account", help="The account the message is about"),
    sender_confirmed: bool = typer.Option(
        False, help="The sender was not authenticated (SPF/DKIM) and you confirmed it with them"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Open (or join) the account's case from a triaged message, as your API token's owner."""
    result = run_or_fail(
        lambda: service.open_from_triage(message_id, account, sender_confirmed), as_json
    )
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"message {d['id']} {'opened' if d['created'] else 'joined'} case {d['case_id']} "
            f"of {d['account_id']} (by {d['decided_by']})",
            markup=False,
        ),
    )


@app.command("dismiss")
def dismiss(
    message_id: int = typer.Argument(..., metavar="ID"),
    why: str = typer.Option(..., "--why", help="Why it is not a cancellation"),
    as_json: bool = JsonOpt,
) -> None:
    """Dismiss a triaged message (kept on record with who and why)."""
    result = run_or_fail(lambda: service.dismiss_message(message_id, why), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"message {d['id']} dismissed by {d['decided_by']}", markup=False
        ),  # fmt: skip
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="inbox")
