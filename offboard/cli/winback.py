"""`offboard winback ...` (§10–§11, §13): the nightly scan, owner review, outcomes.

offboard winback run [--on DATE]
offboard winback review | approve ID | decline ID     # strategic accounts: owner first
offboard winback opt-out ACCOUNT [--clean-break]
offboard winback won-back CASE --on DATE --by EMAIL
offboard winback rates [--as-of DATE]
"""

from __future__ import annotations

from datetime import date
from typing import Any

import typer
from rich.table import Table

from offboard.cli.options import JsonOpt, parse_date
from offboard.cli.output import console, print_refusal, print_result, run_or_fail
from offboard.service import winback as service

app = typer.Typer(help="Win-back: the nightly scan, owner review, outcomes.", no_args_is_help=True)


def _table(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> None:
    t = Table(*columns, title=title)
    for r in rows:
        t.add_row(*[str(r.get(c, ""))[:70] for c in columns])
    console.print(t)


@app.command("run")
def winback_run(
    on: str = typer.Option(None, help="The night to evaluate (default: tonight)"),
    as_json: bool = JsonOpt,
) -> None:
    """Run the nightly scan now (a rerun of the same night creates nothing new)."""
    night = run_or_fail(lambda: parse_date(on, "--on"), as_json)
    result = service.run_night(night)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"night {d['night']}: {d['created']} new outreach"
            + (" (already evaluated)" if d["already_recorded"] else "")
            + f", {d['sent']} sent, {d['outreach']} in total tonight"
        ),
    )


@app.command("outreach")
def winback_outreach(
    night: str = typer.Option(None, help="Only this night (YYYY-MM-DD)"),
    status: str = typer.Option(None, help="to_send, sent, awaiting_review, declined or lead"),
    as_json: bool = JsonOpt,
) -> None:
    """Outreach records: the account, the signal and reason, where it stands."""
    rows = run_or_fail(lambda: service.outreach(parse_date(night, "--night"), status), as_json)
    print_result(
        rows,
        as_json,
        lambda r: _table(r, ["outreach_id", "owner", "signal_type", "status", "why"]),
    )


@app.command("review")
def winback_review(
    owner: str = typer.Option(None, help="Only this owner's accounts"),
    as_json: bool = JsonOpt,
) -> None:
    """Strategic outreach waiting for the owner's review (nothing is sent before)."""
    rows = run_or_fail(lambda: service.awaiting_review(owner), as_json)
    print_result(
        rows,
        as_json,
        lambda r: _table(
            r, ["outreach_id", "account_id", "owner", "signal_type", "why"], "Awaiting review"
        ),
    )


def _review(outreach: str, by: str, approve: bool, note: str, as_json: bool) -> None:
    result = run_or_fail(lambda: service.review_outreach(outreach, by, approve, note), as_json)
    if result.get("accepted") is False:
        print_refusal(result, as_json)
    print_result(result, as_json, lambda d: console.print(f"{d['outreach_id']}: {d['status']}"))


@app.command("approve")
def winback_approve(
    outreach: str = typer.Argument(..., help="Outreach id (see `offboard winback review`)"),
    by: str = typer.Option(..., "--by", help="Your email: the account owner or a manager"),
    note: str = typer.Option("", help="A personal line for the message"),
    as_json: bool = JsonOpt,
) -> None:
    """Approve a strategic outreach: the message goes now, with your note."""
    _review(outreach, by, True, note, as_json)


@app.command("decline")
def winback_decline(
    outreach: str = typer.Argument(..., help="Outreach id"),
    by: str = typer.Option(..., "--by", help="Your email: the account owner or a manager"),
    why: str = typer.Option(..., help="Why not now (recorded)"),
    as_json: bool = JsonOpt,
) -> None:
    """Decline a strategic outreach: nothing is sent; the account rests for the contact gap."""
    _review(outreach, by, False, why, as_json)


@app.command("opt-out")
def winback_opt_out(
    account: str = typer.Argument(..., help="Account id"),
    by: str = typer.Option(..., "--by", help="Who records it"),
    clean_break: bool = typer.Option(False, "--clean-break", help="They asked for a clean break"),
    note: str = typer.Option("", help="What they said"),
    as_json: bool = JsonOpt,
) -> None:
    """Never contact this account for win-back again (§11: respect a clean break)."""
    result = run_or_fail(lambda: service.opt_out(account, by, clean_break, note), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(f"{d['account_id']}: no win-back contact from now on"),
    )


@app.command("won-back")
def winback_won_back(
    case: str = typer.Argument(..., help="The churned case whose account came back"),
    on: str = typer.Option(..., help="When they came back (YYYY-MM-DD)"),
    by: str = typer.Option(..., "--by", help="Who records it"),
    outreach: str = typer.Option(None, help="The outreach that preceded it (default: latest)"),
    note: str = typer.Option(""),
    as_json: bool = JsonOpt,
) -> None:
    """Record a won-back account, with the outreach and signal that preceded it."""
    result = run_or_fail(
        lambda: service.won_back(case, parse_date(on, "--on"), by, outreach, note), as_json
    )
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"{d['account_id']} won back on {d['won_back_on']}"
            + (f" after {d['signal_type']} ({d['outreach_id']})" if d["outreach_id"] else "")
        ),
    )


@app.command("rates")
def winback_rates_cmd(
    as_of: str = typer.Option(None, "--as-of", help="Date to measure at (default: today)"),
    as_json: bool = JsonOpt,
) -> None:
    """Win-back rate: share of churned accounts back within 12, 24 and 36 months (§13)."""
    rows = run_or_fail(
        lambda: service.winback_rates(parse_date(as_of, "--as-of") or date.today()), as_json
    )

    def render(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            r["rate"] = "n/a" if r["rate"] is None else f"{r['rate']:.1%}"
        _table(rows, ["months", "churned", "won_back", "rate"], "Win-back rate")

    print_result(rows, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="winback")
