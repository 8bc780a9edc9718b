"""`offboard keys show` and `offboard receipts verify FILE`: the receipts' public key, and
checking an export manifest or a deletion certificate offline."""

from __future__ import annotations

from pathlib import Path

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service import receipts as service

keys = typer.Typer(help="The Ed25519 key that signs manifests and certificates.")
receipts = typer.Typer(help="Signed receipts: export manifests and deletion certificates.")


@keys.command("show")
def keys_show(as_json: bool = JsonOpt) -> None:
    """Print the public key (give it to customers and auditors to check receipts offline)."""
    result = run_or_fail(service.public_key, as_json)
    print_result(
        result, as_json, lambda d: console.print(f"{d['alg']} {d['key_id']}\n{d['public_key']}")
    )


@receipts.command("verify")
def verify(
    path: Path,
    public_key: str = typer.Option(None, help="Base64 public key; default: this install's"),
    as_json: bool = JsonOpt,
) -> None:
    """Check the signature of an export manifest or a deletion certificate (JSON)."""
    result = run_or_fail(lambda: service.verify_receipt(path, public_key), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(f"{d['kind']} {d['id']}: signature valid (key {d['key_id']})"),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(receipts, name="receipts")
    root.add_typer(keys, name="keys")
