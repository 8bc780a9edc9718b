"""The daily early-warning scan over the whole population, vectorised with polars.

The same rules as `offboarding.early_warning.rules` (the per-account reference) and the same
priority as `offboarding.early_warning.priority`, as lazy queries: each product table is
filtered to the scan's window at the scan, reduced once to one row per account (or per
account and feature, or user), and only those small aggregates are joined to the population
and its business context. The evidence text is built in columns, so it is the reference's
text exactly (the tests hold the two together).

Why polars: the same engine as the win-back scan (`offboarding/winback/selection.py`), the
rules as tested expressions rather than SQL text. The one exception is the usage feed by
account and feature, nearly all of the scan's time: polars stayed about 1.5× DuckDB's time on
it however the keys were coded (`benchmarks/README.md`), so where the feed is local Parquet
the I/O side has DuckDB aggregate it (`signals.usage_duckdb`) and hands the frame in as
`ScanFrames.usage_per_feature`; otherwise it is aggregated here (`early_warning.usage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from offboarding.early_warning.columns import fmt, hashed, tenths_text
from offboarding.early_warning.rules import (
    RULE_TABLES,
    read_window,
    scan_end,
    stale_tables,
)
from offboarding.early_warning.usage import usage_keys, usage_per_feature
from offboarding.policy import LEVELS, Policy

__all__ = [
    "FINDING_COLUMNS",
    "ScanFrames",
    "latest_scores",
    "level_name",
    "select_findings",
]

FINDING_COLUMNS = ["account_id", "cause", "evidence", "impact", "urgency"]
_RANK = {lv: i + 1 for i, lv in enumerate(LEVELS)}


@dataclass(frozen=True)
class ScanFrames:
    """The population (`signals.model.ACCOUNT_SCHEMA`) and the six product tables, lazily."""

    accounts: pl.LazyFrame
    usage_events: pl.LazyFrame
    logins: pl.LazyFrame
    tickets: pl.LazyFrame
    health_scores: pl.LazyFrame
    renewals: pl.LazyFrame
    champions: pl.LazyFrame
    #: The usage feed already aggregated by account and feature (the frame of
    #: `usage.usage_per_feature`, for this scan's day), where the I/O side had a faster
    #: engine for it (`signals.usage_duckdb`); None: aggregated here, from `usage_events`.
    usage_per_feature: pl.DataFrame | None = None


#: Usage rows one aggregation pass takes. The feed is grouped by one integer key per
#: account and feature (`usage.usage_per_feature`); polars' streaming group-by still keeps
#: about one partial row per input row when the keys arrive in random order (an event feed),
#: so a feed larger than this is aggregated in partitions of its accounts, one after the
#: other (each partition decodes the whole feed again: one pass is the fast path). Measured
#: at 105 M rows in one pass: 2.8 GiB for the aggregation.
ROWS_PER_PASS = 120_000_000


def usage_partitions(
    usage: pl.LazyFrame, day: date, policy: Policy, rows: int | None = None
) -> list[pl.LazyFrame]:
    """The usage feed as disjoint partitions of its accounts, each small enough for one pass
    (`rows`: the window's row count when already known, else counted here)."""
    if rows is None:
        since, end = read_window(day, policy), scan_end(day)
        window = usage.filter(pl.col("ts") >= since, pl.col("ts") < end)
        rows = window.select(pl.len()).collect().item()
    k = max(1, -(-rows // ROWS_PER_PASS))
    if k == 1:
        return [usage]
    part = pl.col("account_id").hash(seed=0x9A27) % k
    return [usage.filter(part == i) for i in range(k)]


def login_aggregates(
    logins: pl.LazyFrame, champions: pl.LazyFrame, day: date, policy: Policy
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Three small results from the login feed's history window: failed logins per account
    in the burst window (only those rows are grouped), each champion's last successful login
    (only champions' rows are grouped, by hashed keys), and the newest login of all (for
    freshness)."""
    ew = policy.early_warning
    end = scan_end(day)
    window = logins.select("account_id", "user_id", "ts", "success").filter(
        pl.col("ts") < end, pl.col("ts") >= end - timedelta(days=ew.history_days)
    )
    burst_from = end - timedelta(hours=ew.failed_login_hours)
    failed = (
        window.filter(~pl.col("success"), pl.col("ts") >= burst_from)
        .group_by("account_id")
        .agg(pl.len().alias("failed"), pl.col("user_id").n_unique().alias("users"))
    )
    key = ["account_id", "user_id"]
    keys = champions.select(key).unique().with_columns(hashed(key, "_c"))
    last_ok = (
        window.filter(pl.col("success"))
        .select(*hashed(key, "_c"), "ts")
        .join(keys.select("_c0", "_c1"), on=["_c0", "_c1"], how="semi")
        .group_by("_c0", "_c1")
        .agg(pl.col("ts").max().alias("last_ok"))
        .join(keys, on=["_c0", "_c1"])
        .select(*key, "last_ok")
    )
    return failed, last_ok, window.select(pl.col("ts").max().alias("last_any"))


def _usage_drop(per_feature: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    ew = policy.early_warning
    weeks = [f"w{k}" for k in range(ew.baseline_weeks + 1)]
    spec = ew.causes["usage_drop"]
    acct = per_feature.group_by("account_id").agg(pl.col(w).sum() for w in weeks)
    median = pl.concat_list(weeks[1:]).cast(pl.List(pl.Float64)).list.median()
    return (
        acct.with_columns(median.alias("median"))
        .filter(
            (pl.col("median") >= ew.usage_min_baseline)
            & (pl.col("w0") <= pl.col("median") * (1 - ew.usage_drop_ratio))
        )
        .select(
            "account_id",
            pl.lit("usage_drop").alias("cause"),
            fmt(
                "{} events last week, {}% below the median of {} a week over the {} weeks before",
                pl.col("w0"),
                (100 * (1 - pl.col("w0") / pl.col("median"))).floor().cast(pl.Int64),
                tenths_text(pl.col("median")),
                pl.lit(ew.baseline_weeks),
            ).alias("evidence"),
            pl.lit(spec.impact).alias("impact"),
            pl.lit(spec.urgency).alias("urgency"),
        )
    )


def _failed_logins(failed: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    ew = policy.early_warning
    spec = ew.causes["failed_login_burst"]
    users = pl.col("users")
    return failed.filter(pl.col("failed") >= ew.failed_login_burst).select(
        "account_id",
        pl.lit("failed_login_burst").alias("cause"),
        fmt(
            "{} failed logins in the last {} h, by {} {}",
            pl.col("failed"),
            pl.lit(ew.failed_login_hours),
            users,
            pl.when(users == 1).then(pl.lit("user")).otherwise(pl.lit("users")),
        ).alias("evidence"),
        pl.lit(spec.impact).alias("impact"),
        pl.lit(spec.urgency).alias("urgency"),
    )


def _champions(
    champions: pl.LazyFrame, last_ok: pl.LazyFrame, day: date, policy: Policy
) -> pl.LazyFrame:
    ew = policy.early_warning
    spec = ew.causes["champion_inactive"]
    days = (pl.lit(day) - pl.col("last_ok").dt.date()).dt.total_days()
    who = fmt("champion {} ({})", pl.col("name"), pl.col("email"))
    line = (
        pl.when(pl.col("last_ok").is_null())
        .then(fmt("{}: no login in the last {} days", who, pl.lit(ew.history_days)))
        .otherwise(
            fmt("{}: last login {}, {} days ago", who,
                      pl.col("last_ok").dt.date().cast(pl.String), days)
        )
    )  # fmt: skip
    return (
        champions.select("account_id", "user_id", "name", "email")
        .join(last_ok, on=["account_id", "user_id"], how="left")
        .filter(pl.col("last_ok").is_null() | (days > ew.champion_inactive_days))
        .group_by("account_id")
        .agg(line.sort_by(["email", "user_id"]).str.join("; ").alias("evidence"))
        .select(
            "account_id",
            pl.lit("champion_inactive").alias("cause"),
            "evidence",
            pl.lit(spec.impact).alias("impact"),
            pl.lit(spec.urgency).alias("urgency"),
        )
    )  # fmt: skip


def _severity_rank() -> pl.Expr:
    sev = pl.col("severity").fill_null("medium").str.to_lowercase()
    return sev.replace_strict(_RANK, default=_RANK["medium"], return_dtype=pl.Int64)


def level_name(rank: pl.Expr) -> pl.Expr:
    return rank.replace_strict({v: k for k, v in _RANK.items()}, return_dtype=pl.String)


def _tickets(tickets: pl.LazyFrame, day: date, policy: Policy) -> pl.LazyFrame:
    ew = policy.early_warning
    end = scan_end(day)
    still_open = pl.col("closed_at").is_null() | (pl.col("closed_at") >= end)
    per_feature = (
        tickets.filter(
            pl.col("opened_at") < end, pl.col("opened_at") >= end - timedelta(days=ew.ticket_days)
        )
        .group_by("account_id", "feature")
        .agg(pl.len().alias("n"), still_open.sum().alias("open"),
             _severity_rank().max().alias("sev"))
        .filter(pl.col("n") >= ew.tickets_per_feature)
    )  # fmt: skip
    line = fmt(
        "{} tickets on {} in {} days ({} still open, highest severity {})",
        pl.col("n"), pl.col("feature"), pl.lit(ew.ticket_days), pl.col("open"),
        level_name(pl.col("sev")),
    )  # fmt: skip
    return (
        per_feature.group_by("account_id")
        .agg(
            line.sort_by([pl.col("n"), pl.col("feature")], descending=[True, False])
            .str.join("; ")
            .alias("evidence"),
            pl.col("sev").max(),
        )
        .select(
            "account_id",
            pl.lit("ticket_cluster").alias("cause"),
            "evidence",
            level_name(pl.col("sev")).alias("impact"),
            pl.lit(ew.causes["ticket_cluster"].urgency).alias("urgency"),
        )
    )


def _band(score: pl.Expr, policy: Policy) -> pl.Expr:
    ew = policy.early_warning
    return (
        pl.when(score < ew.health_red_below)
        .then(pl.lit("red"))
        .when(score < ew.health_yellow_below)
        .then(pl.lit("yellow"))
        .otherwise(pl.lit("green"))
    )


def latest_scores(health: pl.LazyFrame, before: date) -> pl.LazyFrame:
    """Per account, the latest score dated before `before` (the lower on a tie)."""
    return (
        health.filter(pl.col("on") < before, pl.col("score").is_not_null())
        .sort(["account_id", "on", "score"], descending=[False, False, True])
        .group_by("account_id")
        .agg(pl.col("on").last(), pl.col("score").last())
    )


def _health(health: pl.LazyFrame, day: date, policy: Policy) -> pl.LazyFrame:
    ew = policy.early_warning
    spec = ew.causes["health_decline"]
    now = latest_scores(health, day)
    then = latest_scores(health, day - timedelta(days=ew.health_lookback_days - 1))
    rank = {"green": 0, "yellow": 1, "red": 2}
    red = pl.col("band") == "red"
    return (
        now.join(then, on="account_id", suffix="_then")
        .with_columns(
            _band(pl.col("score"), policy).alias("band"),
            _band(pl.col("score_then"), policy).alias("band_then"),
        )
        .filter(
            (pl.col("band") != "green")
            & (pl.col("band").replace_strict(rank) > pl.col("band_then").replace_strict(rank))
        )
        .select(
            "account_id",
            pl.lit("health_decline").alias("cause"),
            fmt(
                "health {} → {} ({} → {}) between {} and {}",
                pl.col("score_then"), pl.col("score"), pl.col("band_then"), pl.col("band"),
                pl.col("on_then").cast(pl.String), pl.col("on").cast(pl.String),
            ).alias("evidence"),
            pl.when(red).then(pl.lit("high")).otherwise(pl.lit(spec.impact)).alias("impact"),
            pl.when(red).then(pl.lit("high")).otherwise(pl.lit(spec.urgency)).alias("urgency"),
        )
    )  # fmt: skip


def _abandoned(per_feature: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    ew = policy.early_warning
    spec = ew.causes["feature_abandoned"]
    avg = pl.col("before") / ew.baseline_weeks
    line = fmt(
        "{}: unused for {} days (last used {}) after {} events a week",
        pl.col("feature"), pl.lit(ew.abandon_days), pl.col("last_ts").dt.date().cast(pl.String),
        tenths_text(pl.col("avg")),
    )  # fmt: skip
    return (
        per_feature.with_columns(avg.alias("avg"))
        .filter((pl.col("recent").sum() > 0).over("account_id"))
        .filter((pl.col("avg") >= ew.abandon_min_weekly) & (pl.col("recent") == 0))
        .group_by("account_id")
        .agg(
            line.sort_by([pl.col("avg"), pl.col("feature")], descending=[True, False])
            .str.join("; ")
            .alias("evidence")
        )
        .select(
            "account_id",
            pl.lit("feature_abandoned").alias("cause"),
            "evidence",
            pl.lit(spec.impact).alias("impact"),
            pl.lit(spec.urgency).alias("urgency"),
        )
    )


def _usage_pass(frames: ScanFrames, day: date, policy: Policy) -> list[pl.DataFrame]:
    """The usage feed by account and feature, one partition at a time and alone: overlapped
    with the login pass, the two group-bys' states add up (4.0 GiB at 1 M accounts)."""
    keys = usage_keys(frames.usage_events, frames.accounts, day, policy)
    usage = [usage_per_feature(part, keys, day, policy)
             for part in usage_partitions(frames.usage_events, day, policy, keys.rows)]  # fmt: skip
    return [u.collect(engine="streaming") for u in usage]


def select_findings(
    frames: ScanFrames,
    day: date,
    policy: Policy,
    skip: set[str] | None = None,
    also: list[pl.LazyFrame] | None = None,
) -> tuple[pl.DataFrame, set[str], list[pl.DataFrame]]:
    """Every rule that fires for every account of the population, the stale streams whose
    rules were skipped (given, or found from the newest usage and login rows), and `also`
    (independent queries, collected in the same pass, so small reads overlap the big ones)."""
    population = frames.accounts.select("account_id").unique()
    first = (
        [frames.usage_per_feature]
        if frames.usage_per_feature is not None
        else _usage_pass(frames, day, policy)
    )
    # every other input in one streamed pass, the small reads overlapping each other
    per_feature, failed, last_ok, newest, tickets, health, pop, *rest = pl.collect_all(
        [pl.concat([f.lazy() for f in first]),
         *login_aggregates(frames.logins, frames.champions, day, policy),
         _tickets(frames.tickets, day, policy), _health(frames.health_scores, day, policy),
         population, *(also or [])],
        engine="streaming",
    )  # fmt: skip
    if skip is None:
        latest = {
            "usage_events": per_feature["last_ts"].max() if per_feature.height else None,
            "logins": newest["last_any"][0] if newest.height else None,
        }
        skip = stale_tables(latest, day, policy)
    pf = per_feature.lazy()
    parts = {
        "usage_drop": lambda: _usage_drop(pf, policy),
        "failed_login_burst": lambda: _failed_logins(failed.lazy(), policy),
        "champion_inactive": lambda: _champions(frames.champions, last_ok.lazy(), day, policy),
        "ticket_cluster": lambda: tickets.lazy(),
        "health_decline": lambda: health.lazy(),
        "feature_abandoned": lambda: _abandoned(pf, policy),
    }
    wanted = [build() for cause, build in parts.items() if RULE_TABLES[cause] not in skip]
    if not wanted:
        return pl.DataFrame(schema=dict.fromkeys(FINDING_COLUMNS, pl.String)), set(skip), rest
    found = pl.concat(wanted, how="vertical").join(pop.lazy(), on="account_id", how="semi")
    return found.collect(), set(skip), rest
