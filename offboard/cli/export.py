"""Data out and data gone (issue 3): sample product data, a standalone data export, purge,
legal holds and deletion certificates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, fail, print_refusal, print_result, run_or_fail
from offboard.service.exports import (
    deletion_certificate,
    export_account,
    purge_now,
    set_hold,
    write_sample_data,
)
from offboard.service.risk import write_product_sample
from offboarding.cases.store import OffboardingError


def sample_data(
    accounts: int = typer.Option(6, "--accounts", help="Number of accounts (sample ones first)"),
    usage_rows: int = typer.Option(
        120_000, "--usage-rows", help="Usage events in total, interleaved across the accounts"
    ),
    out: Path = typer.Option(None, "--out", help="Folder (default: <state dir>/sample-data)"),
    seed: int = typer.Option(7, help="Random seed: the same seed writes the same data"),
    as_json: bool = JsonOpt,
) -> None:
    """Write a realistic product dataset (Parquet) and its catalogue.yaml for exports, with
    the early-warning tables (usage events, logins, tickets, health, renewals, champions)."""

    def body() -> dict[str, Any]:
        if accounts < 1:
            raise OffboardingError("--accounts must be at least 1")
        if usage_rows < 0:
            raise OffboardingError("--usage-rows must be >= 0")
        data = write_sample_data(accounts, usage_rows, out, seed)
        product = write_product_sample(Path(data["out_dir"]))  # §14 tables, patterns planted
        data["files"].update({f"product/{k}": v for k, v in product["files"].items()})
        return {**data, "planted": product["planted"], "product_day": product["day"]}

    result = run_or_fail(body, as_json)

    def render(d: dict[str, Any]) -> None:
        t = Table("file", "bytes", title=f"Sample dataset in {d['out_dir']}")
        for name, f in d["files"].items():
            t.add_row(name, f"{f['bytes']:,}")
        console.print(t)
        console.print(
            f"{len(d['accounts'])} accounts, {d['usage_rows']:,} usage rows; "
            f"catalogue: {d['catalogue']}"
        )
        planted = ", ".join(f"{a} {c}" for a, c in d["planted"])
        console.print(f"at-risk patterns planted (as of {d['product_day']}): {planted}")
        if out is not None:
            console.print(f"use it with: OFFBOARDING_CATALOGUE_FILE={d['catalogue']}")

    print_result(result, as_json, render)


def export(
    account: str = typer.Argument(..., help="Account id"),
    export_id: str = typer.Option(
        None, "--export-id", help="Rerun an interrupted export (finished objects are skipped)"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Export an account's data now (data portability, no cancellation); prints the manifest."""
    manifest = run_or_fail(lambda: export_account(account, export_id), as_json)

    def render(m: dict[str, Any]) -> None:
        t = Table("object", "kind", "rows", "bytes", "sha256", title=f"Export {m['export_id']}")
        for o in m["objects"]:
            rows = "" if o["rows"] is None else f"{o['rows']:,}"
            t.add_row(o["name"], o["kind"], rows, f"{o['bytes']:,}", o["sha256"][:16] + "…")
        console.print(t)
        console.print(f"manifest: s3://{m['bucket']}/{m['manifest_key']}")

    print_result(manifest, as_json, render)


def purge(
    case: str = typer.Argument(..., help="Case id"),
    now: bool = typer.Option(
        False, "--now", help="Before the retention date (an erasure request): purge anyway"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Purge a closed case's account data now and issue the deletion certificate."""
    result = run_or_fail(lambda: purge_now(case, before_retention_date=now), as_json)
    if not result.get("purged"):
        print_refusal(result, as_json)
    print_result(
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
    if on is None:
        fail("say --on or --off", as_json)
    result = run_or_fail(lambda: set_hold(case, on, by, reason), as_json)
    if result["refused"]:
        print_refusal(result, as_json)
    print_result(
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

    def body() -> dict[str, Any]:
        if not 1 <= link_days <= 7:
            raise OffboardingError("--link-days must be 1 to 7")
        return deletion_certificate(case, link_days)

    result = run_or_fail(body, as_json)

    def render(d: dict[str, Any]) -> None:
        c = d["certificate"]
        console.print(
            f"[bold]{d['certificate_id']}[/bold] {c['account_name']} ({c['account_id']}): "
            f"{c['objects']['count']} objects deleted {c['deleted_at'][:19]}, backups expire "
            f"{c['retention']['backups_expire_on']}"
        )
        console.print(f"PDF:  {d['links']['pdf']}")
        console.print(f"JSON: {d['links']['json']}")

    print_result(result, as_json, render)


def register(root: typer.Typer) -> None:
    root.command("sample-data")(sample_data)
    root.command("export")(export)
    root.command("purge")(purge)
    root.command("legal-hold")(legal_hold)
    root.command("certificate")(certificate)
