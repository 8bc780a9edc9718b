"""Win-back signals in (§10): generated sample data, files, or one seen by hand.

offboard sample-signals --accounts 1000000 --signals 10000000 [--out DIR]
offboard signals ingest FILE            # .csv or .parquet, local or s3://bucket/key
offboard signal add --type T --account A --source S [...]
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

from offboard.cli.options import JsonOpt, parse_date
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service.winback import add_signal, ingest_signal_file
from offboard.service.winback import sample_signals as write_sample_signals
from offboarding.cases.store import OffboardingError

signals_app = typer.Typer(help="Win-back signals: ingest files.", no_args_is_help=True)
signal_app = typer.Typer(help="Win-back signals: add one by hand.", no_args_is_help=True)


def sample_signals(
    accounts: int = typer.Option(1_000, min=1, help="Churned accounts to generate"),
    signals: int = typer.Option(10_000, min=1, help="Signals to generate"),
    out: Path = typer.Option(Path(".state/winback-sample"), help="Folder for the Parquet files"),
    night: str = typer.Option(None, help="The night the data is made for (default: today)"),
    seed: int = typer.Option(5, help="Same seed, same data"),
    into_store: bool = typer.Option(
        False,
        "--into-store",
        help="Also load the accounts as churned cases and ingest the signals into the "
        "database (demos and tests; keep it small)",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Generate churned accounts and win-back signals as Parquet (vectorised: 10 M in seconds)."""

    def body() -> dict[str, Any]:
        when = parse_date(night, "--night") or date.today()
        return write_sample_signals(accounts, signals, when, seed, out, into_store)

    result = run_or_fail(body, as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"{d['accounts']} accounts, {d['signals']} signals for the night of {d['night']} "
            f"in {d['out']}" + (f"; stored: {d['store']}" if "store" in d else "")
        ),
    )


@signals_app.command("ingest")
def signals_ingest(
    location: str = typer.Argument(..., help="A .csv or .parquet file, local or s3://bucket/key"),
    as_json: bool = JsonOpt,
) -> None:
    """Ingest a signal file; every row is checked first, a bad row rejects the whole file."""
    result = run_or_fail(lambda: ingest_signal_file(location), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"{d['rows']} signals read, {d['new']} new, {d['already_stored']} already stored"
        ),
    )


@signal_app.command("add")
def signal_add(
    type_: str = typer.Option(..., "--type", help="e.g. growth_phase, feature_shipped"),
    account: str = typer.Option(None, "--account", help="Account id the signal is about"),
    domain: str = typer.Option(None, help="Company domain the signal is about"),
    competitor: str = typer.Option(None, help="Competitor the news is about"),
    codes: str = typer.Option("", help="feature_shipped: feature/reason codes, comma-separated"),
    observed_at: str = typer.Option(None, "--observed-at", help="ISO date-time (default: now)"),
    source: str = typer.Option(..., help="Where it was seen (news, crm, linkedin, ...)"),
    detail: list[str] = typer.Option(
        [], "--detail", help="key=value, repeatable (champion_moved: person, new_company)"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Record one win-back signal by hand."""

    def body() -> dict[str, Any]:
        details = {}
        for item in detail:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise OffboardingError(f"--detail {item!r} is not key=value")
            details[key.strip()] = value.strip()
        try:
            at = datetime.fromisoformat(observed_at) if observed_at else datetime.now(UTC)
        except ValueError:
            raise OffboardingError(f"--observed-at {observed_at!r} is not ISO 8601") from None
        return add_signal(type_, at, source, account, domain, competitor, codes, details)

    result = run_or_fail(body, as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"signal {d['signal_id']} " + ("recorded" if d["new"] else "was already recorded")
        ),
    )


def register(root: typer.Typer) -> None:
    root.command("sample-signals")(sample_signals)
    root.add_typer(signals_app, name="signals")
    root.add_typer(signal_app, name="signal")
