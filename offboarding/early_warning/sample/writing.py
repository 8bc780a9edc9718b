"""Generated product data written out: Parquet files beside a catalogue, and the catalogue's
`product_data:` section pointing at them (the sample dataset, the benchmark's input).

Not pure: writes files. The usage table streams one day at a time into a `ParquetWriter`, so
100 M rows need about one day's worth of memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from offboarding.early_warning.sample import population as P

__all__ = ["PRODUCT_DIR", "add_to_catalogue", "ensure_product_data", "write_product_data"]

PRODUCT_DIR = "product"
ROW_GROUP = 1_000_000


def _write(frame: Any, path: Path) -> None:
    frame.write_parquet(path, compression="zstd", row_group_size=ROW_GROUP)


def write_product_data(out: Path, pop: P.Population, with_accounts: bool = False) -> dict:
    """Every product table of the plan as Parquet in `out` (and, for a benchmark without a
    store, the population itself), with product.json saying what was planted."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {"usage_events": out / "usage_events.parquet"}
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for day in P.usage_days(pop):
            table = day.to_arrow()
            writer = writer or pq.ParquetWriter(files["usage_events"], table.schema,
                                                compression="zstd")  # fmt: skip
            writer.write_table(table, row_group_size=ROW_GROUP)
            rows += day.height
    finally:
        if writer is not None:
            writer.close()
    tables = {
        "logins": P.logins,
        "tickets": P.tickets,
        "health_scores": P.health_scores,
        "renewals": P.renewals,
        "champions": P.champions,
    }
    if with_accounts:
        tables["accounts"] = P.accounts
    for name, make in tables.items():
        files[name] = out / f"{name}.parquet"
        _write(make(pop), files[name])
    meta = {
        "day": pop.day.isoformat(),
        "accounts": len(pop.ids),
        "usage_rows": rows,
        "seed": pop.seed,
        "quiet": pop.quiet,
        "planted": sorted([list(x) for x in pop.planted()]),
        "files": {k: {"path": str(v), "bytes": v.stat().st_size} for k, v in files.items()},
    }
    (out / "product.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta


def add_to_catalogue(catalogue: Path, folder: str = PRODUCT_DIR) -> None:
    """Point the catalogue's `product_data:` section at the tables in `folder` (relative to
    the catalogue), keeping the rest of the file as it is."""
    text = catalogue.read_text(encoding="utf-8")
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    data = yaml.safe_load(text) or {}
    data["product_data"] = {
        t: {"dataset": f"{folder}/{t}.parquet"}
        for t in ("usage_events", "logins", "tickets", "health_scores", "renewals", "champions")
    }
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    catalogue.write_text(header + body, encoding="utf-8")


def ensure_product_data(
    catalogue: Path, accounts: list[str], day: date, known: dict[str, dict]
) -> bool:
    """The sample dataset's product tables, written on first use (planted at the sample
    accounts, for `day`); several processes may ask at once, one writes. True if written."""
    lock_path = catalogue.parent.parent / f".{catalogue.parent.name}-product.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = yaml.safe_load(catalogue.read_text(encoding="utf-8")) or {}
        if data.get("product_data"):
            return False
        write_product_data(catalogue.parent / PRODUCT_DIR, P.plan(accounts, day, known=known))
        add_to_catalogue(catalogue)
    with contextlib.suppress(FileNotFoundError):
        lock_path.unlink()
    return True
