"""The product tables of the catalogue's `product_data:` section, as lazy polars frames (I/O).

Parquet or CSV, local (read natively by polars: row groups outside the window are skipped by
their statistics) or s3:// and hive-partitioned folders (through the same pyarrow dataset
and boto3 configuration the exports use), or a SQL query on the product database, bound to
the scan's window start with `:since` when it asks for it. Every table comes out in its
canonical schema (`signals.model.conform`). A local Parquet usage feed is also aggregated
here, by DuckDB (`usage_duckdb`: the scan's one big query, about 1.5× faster there).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from offboarding.early_warning.rules import STREAMS, read_window
from offboarding.early_warning.selection import ScanFrames
from offboarding.early_warning.signals.model import SCHEMAS, TABLES, ProductDataError, conform
from offboarding.early_warning.signals.usage_duckdb import aggregate_usage, local_parquet_source
from offboarding.export.catalogue import Catalogue, CatalogueError, TableSpec, table_dataset
from offboarding.policy import Policy

__all__ = ["missing_tables", "product_frames", "read_table"]


def _local(catalogue: Catalogue, spec: TableSpec) -> Path | None:
    uri = catalogue.resolve(spec.dataset or "")
    return None if "://" in uri or spec.partitioning else Path(uri)


def _scan_local(path: Path, fmt: str) -> pl.LazyFrame:
    if not path.exists():
        raise ProductDataError(f"product table not found: {path}")
    if fmt == "csv":
        files = sorted(path.glob("**/*.csv")) if path.is_dir() else [path]
        return pl.scan_csv(files, infer_schema=False)
    return pl.scan_parquet(path / "**/*.parquet" if path.is_dir() else path)


def _sql(spec: TableSpec, since: datetime) -> pl.LazyFrame:
    from sqlalchemy import create_engine, text

    from offboarding.export.catalogue import _expand

    engine = create_engine(_expand(spec.url or ""))
    try:
        with engine.connect() as conn:
            params = {"since": since} if ":since" in (spec.sql or "") else {}
            result = conn.execute(text(spec.sql or ""), params)
            keys = list(result.keys())
            rows = [tuple(r) for r in result]
    finally:
        engine.dispose()
    data = {k: [r[i] for r in rows] for i, k in enumerate(keys)}
    return pl.DataFrame(data, strict=False).lazy()


def read_table(catalogue: Catalogue, name: str, since: datetime) -> pl.LazyFrame:
    """One product table, lazily, in its canonical schema; empty when not configured."""
    spec = catalogue.tables.get(name)
    if spec is None:
        return pl.LazyFrame(schema=SCHEMAS[name])
    if spec.sql is not None:
        raw = _sql(spec, since)
    else:
        fmt = spec.format or ("csv" if (spec.dataset or "").lower().endswith(".csv") else "parquet")
        path = _local(catalogue, spec)
        try:
            raw = (
                _scan_local(path, fmt)
                if path is not None
                else pl.scan_pyarrow_dataset(table_dataset(catalogue, name))
            )
        except CatalogueError as exc:
            raise ProductDataError(str(exc)) from exc
    return conform(name, raw, spec.rename)


def missing_tables(catalogue: Catalogue) -> list[str]:
    """Product tables the catalogue does not name (their rules find nothing; streams are
    reported stale)."""
    return [t for t in TABLES if t not in catalogue.tables]


def product_frames(
    catalogue: Catalogue, accounts: pl.DataFrame, day: date, policy: Policy
) -> ScanFrames:
    """The population with every product table of the catalogue, ready for the scan of
    `day`; the usage feed already aggregated by DuckDB where it is local Parquet."""
    since = read_window(day, policy)
    frames = {t: read_table(catalogue, t, since) for t in TABLES}
    for t in STREAMS:  # read only the window: the rest of a feed is years of history
        if t in catalogue.tables:
            frames[t] = frames[t].filter(pl.col("ts") >= since)
    local = local_parquet_source(catalogue)
    per_feature = aggregate_usage(*local, accounts, day, policy) if local else None
    return ScanFrames(accounts=accounts.lazy(), usage_per_feature=per_feature, **frames)
