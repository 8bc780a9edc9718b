"""`offboard accounts import FILE`: the accounts cancellations are opened against."""

from __future__ import annotations

from pathlib import Path

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service.accounts import import_accounts

app = typer.Typer(help="Accounts: import from CSV or JSON.", no_args_is_help=True)


@app.command("import")
def accounts_import(path: Path, as_json: bool = JsonOpt) -> None:
    """Import (or update) accounts from a CSV or JSON file; all rows valid or none written."""
    n = run_or_fail(lambda: import_accounts(path), as_json)
    print_result(
        {"imported": n}, as_json, lambda d: console.print(f"imported {d['imported']} accounts")
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="accounts")
