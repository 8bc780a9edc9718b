"""`offboard karte ACCOUNT` (seed 003): the retention karte, for whoever takes the call."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail


def render_karte(k: dict[str, Any]) -> None:
    """The karte as a two-column table (the usage trend as a sparkline)."""
    t = Table("", "", title=f"Retention karte: {k['name']}", show_header=False)
    for row in k["rows"]:
        t.add_row(row["label"], escape(str(row["value"])))
    console.print(t)


def karte(
    account: str = typer.Argument(..., help="Account id"),
    as_json: bool = JsonOpt,
) -> None:
    """The retention karte: tenure, plan, usage trend, open episodes, tickets, earlier save
    attempts, similar churned accounts' reasons, the pattern with its talk track and offer."""
    from offboard.service.risk import karte as account_karte

    view = run_or_fail(lambda: account_karte(account), as_json)
    print_result(view, as_json, render_karte)


def register(root: typer.Typer) -> None:
    root.command("karte")(karte)
