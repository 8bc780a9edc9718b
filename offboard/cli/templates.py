"""`offboard templates list | preview KIND [--locale ja] [--case CASE] [--out DIR]`: review the
playbook's message templates (issue 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service.messages import preview_message, template_rows

app = typer.Typer(help="Message templates: list them, preview one.", no_args_is_help=True)


@app.command("list")
def templates_list(as_json: bool = JsonOpt) -> None:
    """Every message of the playbook, who reads it, and its locales."""

    def render(rows: list[dict[str, Any]]) -> None:
        t = Table("kind", "audience", "locales", "purpose", title="Message templates")
        for r in rows:
            t.add_row(r["kind"], r["audience"], ", ".join(r["locales"]), r["purpose"])
        console.print(t)

    print_result(template_rows(), as_json, render)


@app.command("preview")
def templates_preview(
    kind: str = typer.Argument(..., help="Message kind, see `offboard templates list`"),
    locale: str = typer.Option(None, "--locale", help="en, ja or ms (default: the account's)"),
    case: str = typer.Option(None, "--case", help="Render with this case's data"),
    out: Path = typer.Option(None, "--out", help="Folder for the .html and .txt"),
    as_json: bool = JsonOpt,
) -> None:
    """Render one message to HTML and text for review (sample data unless --case)."""
    result = run_or_fail(lambda: preview_message(kind, locale, case, out), as_json)

    def render(d: dict[str, Any]) -> None:
        console.print(f"[bold]Subject:[/bold] {escape(d['subject'])}\n")
        console.print(escape(d["text"]))
        console.print(f"HTML: {d['html_file']}\ntext: {d['text_file']}")

    print_result(result, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="templates")
