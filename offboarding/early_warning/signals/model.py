"""The product tables the daily scan reads (§14), as canonical polars schemas, and how a table
from the catalogue is brought to them: renamed columns, cast types, UTC times.

A product's own tables rarely match column for column; the catalogue's `rename` maps ours to
theirs, and `conform` casts what is there (text times, naive times, integer flags) so the
rules see one shape whatever the source. Pure: frames in, frames out.
"""

from __future__ import annotations

import polars as pl

__all__ = ["ACCOUNT_SCHEMA", "OPTIONAL", "SCHEMAS", "TABLES", "ProductDataError", "conform"]

UTC_US = pl.Datetime("us", "UTC")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "usage_events": {"account_id": pl.String(), "ts": UTC_US, "feature": pl.String()},
    "logins": {
        "account_id": pl.String(),
        "user_id": pl.String(),
        "ts": UTC_US,
        "success": pl.Boolean(),
    },
    "tickets": {
        "account_id": pl.String(),
        "ticket_id": pl.String(),
        "opened_at": UTC_US,
        "closed_at": UTC_US,
        "feature": pl.String(),
        "severity": pl.String(),
    },
    "health_scores": {"account_id": pl.String(), "on": pl.Date(), "score": pl.Int64()},
    "renewals": {
        "account_id": pl.String(),
        "renewal_on": pl.Date(),
        "last_renewed_on": pl.Date(),
        "executive_visibility": pl.Boolean(),
        "competitive_risk": pl.Boolean(),
    },
    "champions": {
        "account_id": pl.String(),
        "user_id": pl.String(),
        "name": pl.String(),
        "email": pl.String(),
        "role": pl.String(),
    },
}
TABLES = tuple(SCHEMAS)
#: Columns a source may lack: they are filled (null, or false for flags).
OPTIONAL = {
    "tickets": {"closed_at", "severity"},
    "renewals": {"last_renewed_on", "executive_visibility", "competitive_risk"},
    "champions": {"role", "name", "email"},
}

#: The population and its business context, as the store (or a benchmark file) gives it.
ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "name": pl.String(),
    "owner": pl.String(),
    "segment": pl.String(),
    "arr": pl.Float64(),
    "health": pl.Int64(),
    "contract_end": pl.Date(),
    "locale": pl.String(),
}


class ProductDataError(ValueError):
    """A product table that cannot be read as the scan needs it; the message says why."""


def _cast(name: str, have: pl.DataType | None, want: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if have is None:
        return pl.lit(False if want == pl.Boolean() else None, dtype=want).alias(name)
    if isinstance(want, pl.Datetime):
        if isinstance(have, pl.Datetime):
            col = col.dt.replace_time_zone("UTC") if have.time_zone is None else col
            return col.dt.convert_time_zone("UTC").cast(want).alias(name)
        if have == pl.Date():
            return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(name)
        text = col.cast(pl.String).str.replace(r"Z$", "+00:00")
        return text.str.to_datetime(time_zone="UTC", time_unit="us", strict=False).alias(name)
    if want == pl.Date() and have == pl.String():
        return col.str.to_date(strict=False).alias(name)
    if want == pl.Date() and isinstance(have, pl.Datetime):
        return col.dt.date().alias(name)
    if want == pl.Boolean() and have == pl.String():
        truthy = col.str.to_lowercase().str.strip_chars().is_in(["1", "true", "yes", "y", "t"])
        return truthy.alias(name)
    if want == pl.Int64() and have in (pl.Float32(), pl.Float64()):
        return col.round(0).cast(pl.Int64).alias(name)
    return col.cast(want, strict=False).alias(name)


def conform(table: str, frame: pl.LazyFrame, rename: dict[str, str] | None = None) -> pl.LazyFrame:
    """The table in its canonical schema: `rename` maps our column names to the source's."""
    want = SCHEMAS.get(table, ACCOUNT_SCHEMA)
    if rename:
        frame = frame.rename({theirs: ours for ours, theirs in rename.items() if theirs != ours})
    have = frame.collect_schema()
    missing = [c for c in want if c not in have and c not in OPTIONAL.get(table, ())]
    if missing:
        raise ProductDataError(
            f"product table {table}: no column {', '.join(missing)} (map it with `rename:` "
            "in the catalogue's product_data section)"
        )
    return frame.select([_cast(c, have.get(c), t) for c, t in want.items()])
