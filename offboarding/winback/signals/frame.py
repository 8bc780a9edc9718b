"""A whole signal file checked and normalised at once, with polars column expressions.

The same checks as `WinbackSignal`, vectorised, so a file of millions of rows is validated
in seconds: one bad row rejects the file with its row numbers, so nothing is half-ingested.
Pure: takes and returns frames; reading the file is `winback.signals.files`.
"""

from __future__ import annotations

import json

import polars as pl

from offboarding.domain import COMPETITOR_TYPES, SignalType
from offboarding.winback.signals.model import (
    CODE_SPLIT,
    DOMAIN_PATTERN,
    SIGNAL_SCHEMA,
    SignalFileError,
    signal_id_for,
)

__all__ = ["normalise_frame"]


def _text(df: pl.DataFrame, name: str) -> pl.Expr:
    if name not in df.columns:
        return pl.lit(None, dtype=pl.String)
    col = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(col == "").then(None).otherwise(col)


def _codes(df: pl.DataFrame) -> pl.Expr:
    if "codes" not in df.columns:
        return pl.lit([], dtype=pl.List(pl.String))
    dtype = df.schema["codes"]
    if isinstance(dtype, pl.List):
        items = pl.col("codes").cast(pl.List(pl.String))
    else:
        items = (
            pl.col("codes")
            .cast(pl.String)
            .fill_null("")
            .str.replace_all(CODE_SPLIT, ";")
            .str.split(";")
        )
    cleaned = items.list.eval(
        pl.element().str.to_lowercase().str.strip_chars().str.replace_all(r"\s+", " ")
    ).list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))
    return cleaned.fill_null(pl.lit([], dtype=pl.List(pl.String)))


def _observed(df: pl.DataFrame) -> pl.Expr:
    if "observed_at" not in df.columns:
        return pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    dtype = df.schema["observed_at"]
    col = pl.col("observed_at")
    if isinstance(dtype, pl.Datetime):
        return (
            (col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col)
            .dt.convert_time_zone("UTC")
            .cast(pl.Datetime("us", "UTC"))
        )
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    # ISO 8601 in its common spellings, per row: date only, a space for the T, no seconds,
    # Z, an offset or none (UTC). One format after normalising, so no row guesses for another.
    text = col.cast(pl.String).str.strip_chars()
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})$", "${1}T00:00:00")
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
    text = text.str.replace(r"T(\d{2}):(\d{2})([Zz+-]|$)", "T${1}:${2}:00${3}")
    text = text.str.replace(r"[Zz]$", "+00:00")
    text = pl.when(text.str.contains(r"[+-]\d{2}:?\d{2}$")).then(text).otherwise(text + "+00:00")
    parsed = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us")
    return parsed.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC"))


def normalise_frame(raw: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Vectorised: the normalised frame and one message per bad row (1-based, as in the file).

    The same checks as `WinbackSignal`, written as column expressions so a file of millions
    of rows is validated in seconds.
    """
    if "type" not in raw.columns:
        raise SignalFileError("signal file has no 'type' column")
    known = [str(t) for t in SignalType]
    domain = _text(raw, "domain").str.to_lowercase()
    domain = (
        domain.str.replace(r"^https?://", "").str.replace(r"^www\.", "").str.replace(r"/.*$", "")
    )
    details = _text(raw, "details").fill_null("{}")
    frame = raw.select(
        pl.int_range(1, pl.len() + 1).alias("_row"),
        _text(raw, "signal_id").alias("signal_id"),
        _text(raw, "type").str.to_lowercase().alias("type"),
        _text(raw, "account_id").alias("account_id"),
        domain.alias("domain"),
        _text(raw, "competitor")
        .str.to_lowercase()
        .str.replace_all(r"\s+", " ")
        .alias("competitor"),
        _codes(raw).alias("codes"),
        _observed(raw).alias("observed_at"),
        _text(raw, "observed_at").alias("_observed_text"),
        _text(raw, "source").alias("source"),
        details.alias("details"),
    )
    new_company = pl.col("details").str.json_path_match("$.new_company")
    targeted = pl.col("account_id").is_not_null() | pl.col("domain").is_not_null()
    competitor_type = pl.col("type").is_in([str(t) for t in COMPETITOR_TYPES])
    feature = pl.col("type") == str(SignalType.feature_shipped)
    checks: list[tuple[pl.Expr, str]] = [
        (~pl.col("type").is_in(known), "unknown type (one of: " + ", ".join(known) + ")"),
        (pl.col("observed_at").is_null(), "observed_at missing or not an ISO date-time"),
        (pl.col("source").is_null(), "source missing"),
        (
            pl.col("domain").is_not_null() & ~pl.col("domain").str.contains(DOMAIN_PATTERN),
            "domain is not a company domain",
        ),
        (pl.col("account_id").str.len_chars() > 64, "account_id longer than 64"),
        (pl.col("signal_id").str.len_chars() > 64, "signal_id longer than 64"),
        (~pl.col("details").str.starts_with("{"), "details must be a JSON object"),
        (feature & (pl.col("codes").list.len() == 0), "feature_shipped needs codes"),
        (
            competitor_type & ~targeted & pl.col("competitor").is_null(),
            "competitor news needs a competitor, an account_id or a domain",
        ),
        (
            (pl.col("type") == str(SignalType.champion_moved)) & new_company.is_null(),
            "champion_moved needs details.new_company",
        ),
        (
            ~competitor_type & ~feature & pl.col("type").is_in(known) & ~targeted,
            "needs an account_id or a domain",
        ),
    ]
    flagged = frame.select(
        "_row",
        "_observed_text",
        *[cond.fill_null(False).alias(f"_e{i}") for i, (cond, _) in enumerate(checks)],
    )
    errors: list[str] = []
    for i, (_, message) in enumerate(checks):
        bad = flagged.filter(pl.col(f"_e{i}"))["_row"]
        if len(bad):
            rows = ", ".join(map(str, bad.head(5).to_list()))
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            errors.append(f"rows {rows}{more}: {message}")
    bad_json = _bad_json_rows(frame)
    if bad_json:
        errors.append(f"rows {', '.join(map(str, bad_json[:5]))}: details is not valid JSON")
    if errors:
        return frame.head(0), errors
    frame = frame.with_columns(_derived_ids(frame)).drop("_row", "_observed_text")
    return frame.select(list(SIGNAL_SCHEMA)).cast(SIGNAL_SCHEMA), []


def _bad_json_rows(frame: pl.DataFrame) -> list[int]:
    """Details that are not JSON objects; few distinct values in practice, so check those."""
    bad_values = []
    for value in frame["details"].unique().to_list():
        try:
            ok = isinstance(json.loads(value), dict)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad_values.append(value)
    if not bad_values:
        return []
    return frame.filter(pl.col("details").is_in(bad_values))["_row"].head(5).to_list()


def _derived_ids(frame: pl.DataFrame) -> pl.Series:
    """Given ids stay; missing ones are hashed from the content (as `WinbackSignal` does)."""
    missing = frame.filter(pl.col("signal_id").is_null())
    if missing.is_empty():
        return frame["signal_id"]
    derived = {
        r["_row"]: signal_id_for(
            r["type"],
            r["account_id"],
            r["domain"],
            r["competitor"],
            r["codes"],
            r["observed_at"],
            r["source"],
        )
        for r in missing.iter_rows(named=True)
    }
    filled = frame.select(
        pl.coalesce(
            pl.col("signal_id"),
            pl.col("_row").replace_strict(derived, default=None, return_dtype=pl.String),
        )
    )
    return filled.to_series().alias("signal_id")
