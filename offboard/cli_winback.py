"""Win-back commands (§10–§11, §13): signals in, the nightly scan, owner review, outcomes.

offboard sample-signals --accounts 1000000 --signals 10000000 [--out DIR]
offboard signals ingest FILE            # .csv or .parquet, local or s3://bucket/key
offboard signal add --type T --account A --source S [...]
offboard winback run [--on DATE]
offboard winback review | approve ID | decline ID     # strategic accounts: owner first
offboard winback opt-out ACCOUNT [--clean-break]
offboard winback won-back CASE --on DATE --by EMAIL
offboard winback rates [--as-of DATE]
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from offboard.cli import JsonOpt, _guard, _out, console, err
from offboarding.cases import OffboardingError

winback_app = typer.Typer(
    help="Win-back: the nightly scan, owner review, outcomes.", no_args_is_help=True
)
signals_app = typer.Typer(help="Win-back signals: ingest files.", no_args_is_help=True)
signal_app = typer.Typer(help="Win-back signals: add one by hand.", no_args_is_help=True)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OffboardingError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def _session():  # noqa: ANN202
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope

    return session_scope(get_settings().db_url)


def _table(rows: list[dict], columns: list[str], title: str | None = None) -> None:
    t = Table(*columns, title=title)
    for r in rows:
        t.add_row(*[str(r.get(c, ""))[:70] for c in columns])
    console.print(t)


# ------------------------------------------------------------------------ sample data


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
    from offboarding.winback_sample import generate, load_into_store, write_sample

    def body() -> dict[str, Any]:
        when = _date(night, "--night") or date.today()
        sample = generate(accounts, signals, when, seed)
        meta = write_sample(sample, out)
        meta["out"] = str(out)
        if into_store:
            with _session() as s:
                meta["store"] = load_into_store(s, sample)
        return meta

    result = _guard(body, as_json)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"{d['accounts']} accounts, {d['signals']} signals for the night of {d['night']} "
            f"in {d['out']}" + (f"; stored: {d['store']}" if "store" in d else "")
        ),
    )


# ---------------------------------------------------------------------------- signals


@signals_app.command("ingest")
def signals_ingest(
    location: str = typer.Argument(..., help="A .csv or .parquet file, local or s3://bucket/key"),
    as_json: bool = JsonOpt,
) -> None:
    """Ingest a signal file; every row is checked first, a bad row rejects the whole file."""
    from offboarding.signals import read_signal_file
    from offboarding.winback_store import ingest_signals

    def body() -> dict[str, Any]:
        frame = read_signal_file(location)
        with _session() as s:
            return {"file": location, **ingest_signals(s, frame)}

    result = _guard(body, as_json)
    _out(
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
    from offboarding.signals import WinbackSignal
    from offboarding.winback_store import add_signal

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
        signal = WinbackSignal(
            type=type_,
            account_id=account,
            domain=domain,
            competitor=competitor,
            codes=codes,
            observed_at=at,
            source=source,
            details=details,
        )
        with _session() as s:
            return add_signal(s, signal)

    result = _guard(body, as_json)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"signal {d['signal_id']} " + ("recorded" if d["new"] else "was already recorded")
        ),
    )


# ---------------------------------------------------------------------------- winback


@winback_app.command("run")
def winback_run(
    on: str = typer.Option(None, help="The night to evaluate (default: tonight)"),
    as_json: bool = JsonOpt,
) -> None:
    """Run the nightly scan now (a rerun of the same night creates nothing new)."""
    from flows.winback_flow import winback_flow

    night = _guard(lambda: _date(on, "--on"), as_json)
    result = winback_flow(on=night)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"night {d['night']}: {d['created']} new outreach"
            + (" (already evaluated)" if d["already_recorded"] else "")
            + f", {d['sent']} sent, {d['outreach']} in total tonight"
        ),
    )


@winback_app.command("outreach")
def winback_outreach(
    night: str = typer.Option(None, help="Only this night (YYYY-MM-DD)"),
    status: str = typer.Option(None, help="to_send, sent, awaiting_review, declined or lead"),
    as_json: bool = JsonOpt,
) -> None:
    """Outreach records: the account, the signal and reason, where it stands."""
    from offboarding.winback_store import outreach_rows, outreach_view

    def body() -> list[dict]:
        when = _date(night, "--night")
        with _session() as s:
            return [outreach_view(o) for o in outreach_rows(s, when, status)]

    rows = _guard(body, as_json)
    _out(
        rows,
        as_json,
        lambda r: _table(r, ["outreach_id", "owner", "signal_type", "status", "why"]),
    )


@winback_app.command("review")
def winback_review(
    owner: str = typer.Option(None, help="Only this owner's accounts"),
    as_json: bool = JsonOpt,
) -> None:
    """Strategic outreach waiting for the owner's review (nothing is sent before)."""
    from offboarding.winback_store import outreach_rows, outreach_view

    def body() -> list[dict]:
        with _session() as s:
            rows = [outreach_view(o) for o in outreach_rows(s, status="awaiting_review")]
        return [r for r in rows if owner is None or r["owner"] == owner.strip().lower()]

    rows = _guard(body, as_json)
    _out(
        rows,
        as_json,
        lambda r: _table(
            r, ["outreach_id", "account_id", "owner", "signal_type", "why"], "Awaiting review"
        ),
    )


def _review(outreach: str, by: str, approve: bool, note: str, as_json: bool) -> None:
    from offboarding.settings import get_settings
    from offboarding.winback_store import review
    from tasks.winback import send_one

    def body() -> dict[str, Any]:
        reviewers = get_settings().policy().holders("manager")
        with _session() as s:
            row, refused = review(
                s, outreach, by=by, approve=approve, note=note, reviewers=reviewers
            )
            oid = row.outreach_id
        if refused is not None:  # after the commit: the refusal stays in the audit log
            return {"outreach_id": oid, "accepted": False, "why": refused}
        if not approve:
            return {"outreach_id": oid, "status": "declined"}
        return send_one(oid)

    result = _guard(body, as_json)
    if result.get("accepted") is False:
        _out(result, as_json, lambda d: err.print(f"[red]refused:[/red] {d['why']}"))
        raise typer.Exit(3)
    _out(result, as_json, lambda d: console.print(f"{d['outreach_id']}: {d['status']}"))


@winback_app.command("approve")
def winback_approve(
    outreach: str = typer.Argument(..., help="Outreach id (see `offboard winback review`)"),
    by: str = typer.Option(..., "--by", help="Your email: the account owner or a manager"),
    note: str = typer.Option("", help="A personal line for the message"),
    as_json: bool = JsonOpt,
) -> None:
    """Approve a strategic outreach: the message goes now, with your note."""
    _review(outreach, by, True, note, as_json)


@winback_app.command("decline")
def winback_decline(
    outreach: str = typer.Argument(..., help="Outreach id"),
    by: str = typer.Option(..., "--by", help="Your email: the account owner or a manager"),
    why: str = typer.Option(..., help="Why not now (recorded)"),
    as_json: bool = JsonOpt,
) -> None:
    """Decline a strategic outreach: nothing is sent; the account rests for the contact gap."""
    _review(outreach, by, False, why, as_json)


@winback_app.command("opt-out")
def winback_opt_out(
    account: str = typer.Argument(..., help="Account id"),
    by: str = typer.Option(..., "--by", help="Who records it"),
    clean_break: bool = typer.Option(False, "--clean-break", help="They asked for a clean break"),
    note: str = typer.Option("", help="What they said"),
    as_json: bool = JsonOpt,
) -> None:
    """Never contact this account for win-back again (§11: respect a clean break)."""
    from offboarding.winback_store import set_preference

    def body() -> dict[str, Any]:
        with _session() as s:
            return set_preference(
                s, account, by=by, opted_out=True, clean_break=clean_break, note=note
            )

    result = _guard(body, as_json)
    _out(
        result,
        as_json,
        lambda d: console.print(f"{d['account_id']}: no win-back contact from now on"),
    )


@winback_app.command("won-back")
def winback_won_back(
    case: str = typer.Argument(..., help="The churned case whose account came back"),
    on: str = typer.Option(..., help="When they came back (YYYY-MM-DD)"),
    by: str = typer.Option(..., "--by", help="Who records it"),
    outreach: str = typer.Option(None, help="The outreach that preceded it (default: latest)"),
    note: str = typer.Option(""),
    as_json: bool = JsonOpt,
) -> None:
    """Record a won-back account, with the outreach and signal that preceded it."""
    from offboarding.winback_store import record_won_back

    def body() -> dict[str, Any]:
        when = _date(on, "--on")
        with _session() as s:
            return record_won_back(s, case, on=when, by=by, outreach=outreach, note=note)

    result = _guard(body, as_json)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"{d['account_id']} won back on {d['won_back_on']}"
            + (f" after {d['signal_type']} ({d['outreach_id']})" if d["outreach_id"] else "")
        ),
    )


@winback_app.command("rates")
def winback_rates_cmd(
    as_of: str = typer.Option(None, "--as-of", help="Date to measure at (default: today)"),
    as_json: bool = JsonOpt,
) -> None:
    """Win-back rate: share of churned accounts back within 12, 24 and 36 months (§13)."""
    from offboarding.winback_store import rates

    def body() -> list[dict]:
        when = _date(as_of, "--as-of") or date.today()
        with _session() as s:
            return [r.to_dict() for r in rates(s, when)]

    rows = _guard(body, as_json)

    def render(rows: list[dict]) -> None:
        for r in rows:
            r["rate"] = "n/a" if r["rate"] is None else f"{r['rate']:.1%}"
        _table(rows, ["months", "churned", "won_back", "rate"], "Win-back rate")

    _out(rows, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("sample-signals")(sample_signals)
    app.add_typer(signals_app, name="signals")
    app.add_typer(signal_app, name="signal")
    app.add_typer(winback_app, name="winback")
