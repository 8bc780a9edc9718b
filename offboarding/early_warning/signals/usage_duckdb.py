"""The usage feed by account and feature, aggregated by DuckDB straight from local Parquet (I/O).

Why a second engine for this one query: it is nearly all of the daily scan's time (6.8 M
groups out of 105 M events at 1 M accounts), and polars, however the keys are coded (strings,
categoricals, hashed pairs, one integer key), stayed about 1.5× DuckDB's time on it, because
polars decodes and hashes every event's two strings while DuckDB groups straight from the
Parquet dictionary pages (`benchmarks/README.md`, "Early-warning daily scan"). The result is
the same frame `early_warning.usage.usage_per_feature` builds, column for column (the tests
hold the two together), so every rule downstream stays in polars, unchanged.

Used where DuckDB reads the source as it is: a local Parquet file or folder. CSV, SQL and
`s3://` sources (DuckDB's S3 reader is an extension it would download) keep the polars path.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from offboarding.early_warning.rules import WEEK_US, read_window, scan_end
from offboarding.early_warning.usage import DAY_US
from offboarding.export.catalogue import Catalogue
from offboarding.policy import Policy

__all__ = ["MEMORY_LIMIT", "aggregate_usage", "local_parquet_source", "per_feature_schema"]

#: DuckDB spills its hash tables to disk past this, so the scan stays under its 4 GiB bound
#: (measured at 1 M × 105 M: the aggregation peaks well below it).
MEMORY_LIMIT = "2500MB"
_TIMES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


def per_feature_schema(policy: Policy) -> dict[str, pl.DataType]:
    """The columns `usage_per_feature` yields: weekly counts, baseline, recent, last use."""
    counts = [f"w{k}" for k in range(policy.early_warning.baseline_weeks + 1)]
    return {
        "account_id": pl.String(),
        "feature": pl.String(),
        **{c: pl.UInt32() for c in [*counts, "before", "recent"]},
        "last_ts": pl.Datetime("us", "UTC"),
    }


def local_parquet_source(catalogue: Catalogue) -> tuple[str, dict[str, str]] | None:
    """The usage table's Parquet file (or a glob over its folder) and its `rename`, when it
    is local Parquet; None for any other kind of source."""
    spec = catalogue.tables.get("usage_events")
    if spec is None or spec.sql is not None or spec.partitioning or not spec.dataset:
        return None
    uri = catalogue.resolve(spec.dataset)
    fmt = spec.format or ("csv" if uri.lower().endswith(".csv") else "parquet")
    if fmt != "parquet" or "://" in uri:
        return None
    path = Path(uri)
    if path.is_dir():
        return str(path / "**" / "*.parquet"), dict(spec.rename or {})
    return (str(path), dict(spec.rename or {})) if path.is_file() else None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql(source: str, rename: dict[str, str], day: date, policy: Policy) -> str:
    ew = policy.early_warning
    end = scan_end(day)
    horizon = max((ew.baseline_weeks + 1) * WEEK_US,
                  ew.abandon_days * DAY_US + ew.baseline_weeks * WEEK_US)  # fmt: skip
    since = max(read_window(day, policy), end - timedelta(microseconds=horizon))
    abandon = ew.abandon_days * DAY_US
    col = {c: _ident(rename.get(c, c)) for c in ("account_id", "feature", "ts")}

    def between(low: int, high: int) -> str:
        return f"count(*) FILTER (WHERE age > {low} AND age <= {high})"

    weeks = ", ".join(
        f"{between(k * WEEK_US, (k + 1) * WEEK_US)} AS w{k}" for k in range(ew.baseline_weeks + 1)
    )
    return f"""
        SELECT account_id, feature, {weeks},
               {between(abandon, abandon + ew.baseline_weeks * WEEK_US)} AS "before",
               {between(0, abandon)} AS recent,
               max(ts) AS last_ts
        FROM (
            SELECT CAST({col["account_id"]} AS VARCHAR) AS account_id,
                   CAST({col["feature"]} AS VARCHAR) AS feature,
                   CAST({col["ts"]} AS TIMESTAMPTZ) AS ts,
                   epoch_us(TIMESTAMPTZ {_literal(end.isoformat())})
                       - epoch_us(CAST({col["ts"]} AS TIMESTAMPTZ)) AS age
            FROM read_parquet({_literal(source)})
            WHERE CAST({col["ts"]} AS TIMESTAMPTZ) < TIMESTAMPTZ {_literal(end.isoformat())}
              AND CAST({col["ts"]} AS TIMESTAMPTZ) >= TIMESTAMPTZ {_literal(since.isoformat())}
        ) AS u
        SEMI JOIN population USING (account_id)
        GROUP BY account_id, feature
    """


def aggregate_usage(
    source: str, rename: dict[str, str], population: pl.DataFrame, day: date, policy: Policy
) -> pl.DataFrame | None:
    """Per account of `population` and feature: the frame of `usage_per_feature`, from the
    Parquet at `source`; None when its columns are not what the scan needs as they are (a
    text time, say): the polars path then reads it through `conform`."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="offboarding-duckdb-") as spill:
        con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": spill})
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET preserve_insertion_order = false")
            have = {
                row[0]: row[1]
                for row in con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet({_literal(source)})"
                ).fetchall()
            }
            ts = have.get(rename.get("ts", "ts"), "")
            if ts not in _TIMES or any(
                rename.get(c, c) not in have for c in ("account_id", "feature")
            ):
                return None
            ids = population.select(pl.col("account_id").cast(pl.String)).unique()
            con.register("population", ids.to_arrow())
            out = con.sql(_sql(source, rename, day, policy)).pl()
        finally:
            con.close()
    schema = per_feature_schema(policy)
    return out.select([pl.col(c).cast(t) for c, t in schema.items()])
