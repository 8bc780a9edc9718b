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
from offboarding.early_warning.usage import DAY_US, usage_horizon_us
from offboarding.export.catalogue import Catalogue
from offboarding.policy import Policy

__all__ = ["MEMORY_LIMIT", "aggregate_usage", "local_parquet_source", "per_feature_schema"]

#: DuckDB's own memory limit (None: its default, 80 % of RAM). Measured at 1 M × 105 M, the
#: aggregation peaks at 2.4-3.1 GiB RSS when left alone; a limit near that makes DuckDB spill
#: its hash tables to disk early (2.5 GB: 79 s instead of 34 s; 3.5 GB: 93 s and a higher
#: peak), so none is set; a deployment short of memory can set one here.
MEMORY_LIMIT: str | None = None
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


def _sql(source: str, cols: dict[str, str], day: date, policy: Policy) -> str:
    """`cols`: the SQL expression of each of our columns over the source's (a bare column
    where its type is already ours, so DuckDB groups the dictionary pages and pushes the time
    filter down to the row groups' statistics)."""
    ew = policy.early_warning
    end = scan_end(day)
    since = max(read_window(day, policy), end - timedelta(microseconds=usage_horizon_us(policy)))
    abandon = ew.abandon_days * DAY_US
    end_at = f"TIMESTAMPTZ {_literal(end.isoformat())}"

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
            SELECT {cols["account_id"]} AS account_id, {cols["feature"]} AS feature,
                   {cols["ts"]} AS ts, epoch_us({end_at}) - epoch_us({cols["ts"]}) AS age
            FROM read_parquet({_literal(source)})
            WHERE {cols["ts"]} < {end_at}
              AND {cols["ts"]} >= TIMESTAMPTZ {_literal(since.isoformat())}
        )
        GROUP BY account_id, feature
    """


def _columns(have: dict[str, str], rename: dict[str, str]) -> dict[str, str] | None:
    """Our three columns as SQL over the source's, cast only where the type differs; None
    when one is missing or its time is text (the polars path parses that)."""
    want = {"account_id": "VARCHAR", "feature": "VARCHAR", "ts": "TIMESTAMP WITH TIME ZONE"}
    out = {}
    for ours, typ in want.items():
        theirs = rename.get(ours, ours)
        if theirs not in have or (ours == "ts" and have[theirs] not in _TIMES):
            return None
        out[ours] = _ident(theirs) if have[theirs] == typ else f"CAST({_ident(theirs)} AS {typ})"
    return out


def aggregate_usage(
    source: str, rename: dict[str, str], population: pl.DataFrame, day: date, policy: Policy
) -> pl.DataFrame | None:
    """Per account of `population` and feature: the frame of `usage_per_feature`, from the
    Parquet at `source`; None when its columns are not what the scan needs as they are (a
    text time, say): the polars path then reads it through `conform`."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="offboarding-duckdb-") as spill:
        config = {"temp_directory": spill} | (
            {"memory_limit": MEMORY_LIMIT} if MEMORY_LIMIT else {}
        )
        con = duckdb.connect(config=config)
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET preserve_insertion_order = false")
            have = {
                row[0]: row[1]
                for row in con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet({_literal(source)})"
                ).fetchall()
            }
            cols = _columns(have, rename)
            if cols is None:
                return None
            out = con.sql(_sql(source, cols, day, policy)).pl()
        finally:
            con.close()
    # grouped over the whole feed, then kept for the population: the same rows as joining
    # first (a group is one account's), and DuckDB never scans an in-memory table per event
    ids = population.select(pl.col("account_id").cast(pl.String)).unique()
    schema = per_feature_schema(policy)
    return out.join(ids, on="account_id", how="semi").select(
        [pl.col(c).cast(t) for c, t in schema.items()]
    )
