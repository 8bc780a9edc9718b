"""CLI commands of issue 3: sample product data, a standalone data export, purge, legal holds
and deletion certificates. Registered by `offboard/cli.py`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from offboard.cli import JsonOpt, _fail, _guard, _out, console, err
from offboarding.cases import OffboardingError

SAMPLE_ACCOUNTS = Path(__file__).resolve().parent.parent / "offboarding" / "sample_data"


def sample_account_ids(n: int) -> list[str]:
    """The sample accounts first (the demo's), then generated ids."""
    known = json.loads((SAMPLE_ACCOUNTS / "accounts.json").read_text(encoding="utf-8"))
    ids = [a["account_id"] for a in known][:n]
    return ids + [f"ACCT-{i:05d}" for i in range(1, n - len(ids) + 1)]


def sample_data(
    accounts: int = typer.Option(6, "--accounts", help="Number of accounts (sample ones first)"),
    usage_rows: int = typer.Option(
        120_000, "--usage-rows", help="Usage events in total, interleaved across the accounts"
    ),
    out: Path = typer.Option(None, "--out", help="Folder (default: <state dir>/sample-data)"),
    seed: int = typer.Option(7, help="Random seed: the same seed writes the same data"),
    as_json: bool = JsonOpt,
) -> None:
    """Write a realistic product dataset (Parquet) and its catalogue.yaml for exports."""
    from offboarding.catalogue import SAMPLE_DIR_NAME
    from offboarding.product_data import write_sample_dataset
    from offboarding.settings import get_settings

    def body() -> dict[str, Any]:
        if accounts < 1:
            raise OffboardingError("--accounts must be at least 1")
        if usage_rows < 0:
            raise OffboardingError("--usage-rows must be >= 0")
        folder = out or get_settings().state_dir / SAMPLE_DIR_NAME
        return write_sample_dataset(
            folder, sample_account_ids(accounts), usage_rows, seed
        ).as_dict()

    result = _guard(body, as_json)

    def render(d: dict[str, Any]) -> None:
        t = Table("file", "bytes", title=f"Sample dataset in {d['out_dir']}")
        for name, f in d["files"].items():
            t.add_row(name, f"{f['bytes']:,}")
        console.print(t)
        console.print(
            f"{len(d['accounts'])} accounts, {d['usage_rows']:,} usage rows; "
            f"catalogue: {d['catalogue']}"
        )
        if out is not None:
            console.print(f"use it with: OFFBOARDING_CATALOGUE_FILE={d['catalogue']}")

    _out(result, as_json, render)


def export(
    account: str = typer.Argument(..., help="Account id"),
    export_id: str = typer.Option(
        None, "--export-id", help="Rerun an interrupted export (finished objects are skipped)"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Export an account's data now (data portability, no cancellation); prints the manifest."""
    from offboarding.cases import get_account
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope

    def body() -> dict[str, Any]:
        with session_scope(get_settings().db_url) as s:
            get_account(s, account)
        from flows.export_flow import export_flow

        return export_flow(account_id=account, export_id=export_id)

    manifest = _guard(body, as_json)

    def render(m: dict[str, Any]) -> None:
        t = Table("object", "kind", "rows", "bytes", "sha256", title=f"Export {m['export_id']}")
        for o in m["objects"]:
            rows = "" if o["rows"] is None else f"{o['rows']:,}"
            t.add_row(o["name"], o["kind"], rows, f"{o['bytes']:,}", o["sha256"][:16] + "…")
        console.print(t)
        console.print(f"manifest: s3://{m['bucket']}/{m['manifest_key']}")

    _out(manifest, as_json, render)


def purge(
    case: str = typer.Argument(..., help="Case id"),
    now: bool = typer.Option(
        False, "--now", help="Before the retention date (an erasure request): purge anyway"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Purge a closed case's account data now and issue the deletion certificate."""
    from tasks.purge import run_purge

    result = _guard(
        lambda: run_purge(case, trigger="manual", allow_early=now, run_id=f"cli-{uuid.uuid4()}"),
        as_json,
    )
    if not result.get("purged"):
        _out(result, as_json, lambda d: err.print(f"[red]refused:[/red] {d['why']}"))
        raise typer.Exit(3)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"purged {d['objects_deleted']} objects under {d['prefix']}; certificate "
            f"{d['certificate_id']} at {d['certificate_pdf']} (backups expire "
            f"{d['backups_expire_on']})"
        ),
    )


def legal_hold(
    case: str = typer.Argument(..., help="Case id"),
    on: bool = typer.Option(None, "--on/--off", help="Set or lift the hold"),
    by: str = typer.Option(..., "--by", help="Email of the person (legal role)"),
    reason: str = typer.Option(..., "--reason", help="Why (litigation, regulator request, ...)"),
    as_json: bool = JsonOpt,
) -> None:
    """Set or lift a legal hold: while set, the case's data is never purged."""
    from offboarding.legal_hold import set_legal_hold
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope

    if on is None:
        _fail("say --on or --off", as_json)

    def body() -> dict[str, Any]:
        settings = get_settings()
        holders = settings.policy().holders("legal")
        with session_scope(settings.db_url) as s:
            return set_legal_hold(s, case, on, by, reason, holders)

    result = _guard(body, as_json)
    if result["refused"]:
        _out(result, as_json, lambda d: err.print(f"[red]refused:[/red] {d['why']}"))
        raise typer.Exit(3)
    _out(
        result,
        as_json,
        lambda d: console.print(
            f"{d['case_id']}: legal hold {'on' if d['legal_hold'] else 'off'}"
            + ("" if d["changed"] else " (unchanged)")
        ),
    )


def certificate(
    case: str = typer.Argument(..., help="Case id"),
    link_days: int = typer.Option(7, "--link-days", help="Download links valid for (1-7 days)"),
    as_json: bool = JsonOpt,
) -> None:
    """The deletion certificate of a purged case, with fresh download links."""
    from tasks.purge import certificate_of

    def body() -> dict[str, Any]:
        if not 1 <= link_days <= 7:
            raise OffboardingError("--link-days must be 1 to 7")
        return certificate_of(case, link_days * 86_400)

    result = _guard(body, as_json)

    def render(d: dict[str, Any]) -> None:
        c = d["certificate"]
        console.print(
            f"[bold]{d['certificate_id']}[/bold] {c['account_name']} ({c['account_id']}): "
            f"{c['objects']['count']} objects deleted {c['deleted_at'][:19]}, backups expire "
            f"{c['retention']['backups_expire_on']}"
        )
        console.print(f"PDF:  {d['links']['pdf']}")
        console.print(f"JSON: {d['links']['json']}")

    _out(result, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("sample-data")(sample_data)
    app.command("export")(export)
    app.command("purge")(purge)
    app.command("legal-hold")(legal_hold)
    app.command("certificate")(certificate)
