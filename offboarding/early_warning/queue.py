"""The at-risk queue in columns: every account's business context on the scan's day, and
each finding's priority (`priority.priority`, vectorised), most pressing first.

`scan` is the whole daily scan: `selection.select_findings` then `prioritise`.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from offboarding.early_warning.columns import fmt
from offboarding.early_warning.selection import (
    ScanFrames,
    latest_scores,
    level_name,
    select_findings,
)
from offboarding.policy import LEVELS, Policy

__all__ = ["contexts", "prioritise", "scan"]

_RANK = {lv: i + 1 for i, lv in enumerate(LEVELS)}


def contexts(frames: ScanFrames, day: date, policy: Policy) -> pl.LazyFrame:
    """The business context of every account on the scan's day: segment and ARR from the
    population, the next renewal (else the contract's end), the latest health score (else
    the account's own), executive visibility (flagged, or a champion in an executive role)
    and competitive risk."""
    roles = [r.lower() for r in policy.early_warning.executive_roles]
    exec_champion = (
        frames.champions.filter(pl.col("role").str.to_lowercase().is_in(roles))
        .select("account_id")
        .unique()
        .with_columns(pl.lit(True).alias("exec_champion"))
    )
    renewals = frames.renewals.select(
        "account_id", "renewal_on", "executive_visibility", "competitive_risk"
    ).unique("account_id", keep="last")
    return (
        frames.accounts.select("account_id", "owner", "segment", "arr", "health", "contract_end")
        .join(renewals, on="account_id", how="left")
        .join(latest_scores(frames.health_scores, day).select("account_id", pl.col("score")),
              on="account_id", how="left")
        .join(exec_champion, on="account_id", how="left")
        .select(
            "account_id", "owner", pl.col("segment").fill_null("smb"),
            pl.col("arr").fill_null(0.0),
            pl.coalesce("renewal_on", "contract_end").alias("renewal_on"),
            pl.coalesce("score", "health").alias("health"),
            (pl.col("executive_visibility").fill_null(False)
             | pl.col("exec_champion").fill_null(False)).alias("executive_visibility"),
            pl.col("competitive_risk").fill_null(False),
        )
    )  # fmt: skip


def prioritise(found: pl.DataFrame, ctx: pl.LazyFrame, day: date, policy: Policy) -> pl.DataFrame:
    """Findings with their priority (`priority.priority` in columns), most pressing first."""
    pp = policy.early_warning.priority
    ew = policy.early_warning
    weight = {lv: i + 1 for i, lv in enumerate(LEVELS)}
    base = pl.col("impact").replace_strict(weight, return_dtype=pl.Int64) * pl.col(
        "urgency"
    ).replace_strict(weight, return_dtype=pl.Int64)
    days = (pl.col("renewal_on") - pl.lit(day)).dt.total_days()
    days = pl.when(pl.col("renewal_on") >= pl.lit(day)).then(days)
    health = pl.col("health")
    points = (
        pl.when(pl.col("arr") >= pp.high_arr).then(2).when(pl.col("arr") >= pp.mid_arr).then(1)
        .otherwise(0)
        + pl.when(pl.col("days") <= pp.renewal_soon_days).then(2)
        .when(pl.col("days") <= pp.renewal_near_days).then(1).otherwise(0)
        + pl.when(health < ew.health_red_below).then(2)
        .when(health < ew.health_yellow_below).then(1).otherwise(0)
        + pl.col("executive_visibility").cast(pl.Int64)
        + pl.col("competitive_risk").cast(pl.Int64)
    )  # fmt: skip
    plain = pl.when(pl.col("base") >= pp.high_at).then(3).when(pl.col("base") >= pp.medium_at)
    plain = plain.then(2).otherwise(1)
    raised = pl.when(pl.col("points") >= pp.raise_at).then(plain + 1).otherwise(plain)
    hours = {f"{seg}|{lv}": float(h) for seg, table in pp.response_hours.items()
             for lv, h in table.items()}  # fmt: skip
    smb = {lv: float(h) for lv, h in (pp.response_hours.get("smb") or {}).items()}
    out = (
        found.lazy()
        .join(ctx, on="account_id", how="left")
        .with_columns(base.alias("base"), days.alias("days"))
        .with_columns(points.alias("points"))
        .with_columns(level_name(raised.clip(1, 4)).alias("level"))
        .with_columns(
            fmt("{}|{}", pl.col("segment"), pl.col("level"))
            .replace_strict(hours, default=None, return_dtype=pl.Float64)
            .fill_null(pl.col("level").replace_strict(smb, default=None, return_dtype=pl.Float64))
            .alias("respond_within_hours"),
            pl.col("level").replace_strict(_RANK, return_dtype=pl.Int64).alias("_rank"),
        )
        .sort(
            [pl.col("_rank"), pl.col("base"), pl.col("arr"), pl.col("days").fill_null(10**6),
             pl.col("health").fill_null(101), pl.col("executive_visibility"),
             pl.col("competitive_risk"), pl.col("account_id"), pl.col("cause")],
            descending=[True, True, True, False, False, True, True, False, False],
        )
        .rename({"days": "days_to_renewal"})
        .drop("_rank")
    )  # fmt: skip
    return out.collect()


def scan(
    frames: ScanFrames, day: date, policy: Policy, skip: set[str] | None = None
) -> tuple[pl.DataFrame, set[str]]:
    """The daily scan: every finding with its priority, most pressing first, and the stale
    streams whose rules were skipped."""
    found, stale, (ctx,) = select_findings(
        frames, day, policy, skip, also=[contexts(frames, day, policy)]
    )
    return prioritise(found, ctx.lazy(), day, policy), stale
