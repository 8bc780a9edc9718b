"""The usage feed by account and feature: the one big aggregation of the daily scan.

Both the usage-drop and the abandoned-feature rules read one row per account and feature
(events in each usage week, in the feature's baseline and recent windows, last use). At
1 M accounts that is 6.8 M groups out of 105 M events in random order (a feed in time order),
nearly all of the scan's time. It is grouped by one collision-free 64-bit integer,
`account index × features + feature index`, over one streamed pass of the feed:

- the small sides are encoded once: the population's ids (≤ 1 M) and the window's feature
  names (a few dozen), each numbered, with two independent 64-bit hashes of the text;
- each event's two keys are hashed and joined to those numbers on the first hash (a 64-bit
  integer join, not a string join: measured here at 1 M × 105 M, the exact string join took
  67 s, the hash join 43 s with the grouping, under load), and the second hash is compared,
  so a stray id only lands on an account if both 64-bit hashes agree (about 2^-128);
- a single integer key groups faster than the two hash pairs it replaces and needs no
  partitions for memory at this size (2.8 GiB for the 105 M rows in one pass), so the feed is
  decoded once instead of once per partition plus a counting pass.

Pure: lazy frames in, lazy frames out; only the two small dictionaries are collected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from offboarding.early_warning.rules import WEEK_US, scan_end
from offboarding.policy import Policy

__all__ = [
    "DAY_US",
    "UsageKeys",
    "usage_horizon_us",
    "usage_keys",
    "usage_per_feature",
    "usage_window",
]

DAY_US = 86_400 * 1_000_000

#: Seed pairs for the two hashes of a key; the next pair is taken in the (about 1 in 10^7)
#: case that the first hash of two population ids agrees, so the join stays one-to-one.
_SEED_PAIRS = ((0x5EED_0001, 0x5EED_0002), (0x5EED_0003, 0x5EED_0004), (0x5EED_0005, 0x5EED_0006))


@dataclass(frozen=True)
class UsageKeys:
    """The numbered small sides of the aggregation, and the window's event count."""

    accounts: pl.DataFrame  # account_id, _a (index), _h0, _h1c
    features: pl.DataFrame  # feature, _f (index), _fh0, _fh1c
    account_seeds: tuple[int, int]
    feature_seeds: tuple[int, int]
    rows: int


def usage_horizon_us(policy: Policy) -> int:
    """How far back before the scan's end either usage rule looks, in microseconds (the
    feature baseline reaches furthest); every engine aggregating the feed reads this much."""
    ew = policy.early_warning
    return max((ew.baseline_weeks + 1) * WEEK_US,
               ew.abandon_days * DAY_US + ew.baseline_weeks * WEEK_US)  # fmt: skip


def usage_window(usage: pl.LazyFrame, day: date, policy: Policy) -> pl.LazyFrame:
    """The feed's rows either usage rule looks at."""
    end = scan_end(day)
    since = end - timedelta(microseconds=usage_horizon_us(policy))
    return usage.select("account_id", "ts", "feature").filter(
        pl.col("ts") < end, pl.col("ts") >= since
    )


def _numbered(
    values: pl.DataFrame, col: str, index: str, prefix: str
) -> tuple[pl.DataFrame, tuple[int, int]]:
    """`values` numbered, with both hashes; the first seed pair whose first hash is unique."""
    for s0, s1 in _SEED_PAIRS:
        out = values.with_row_index(index).with_columns(
            pl.col(col).hash(seed=s0).alias(f"{prefix}h0"),
            pl.col(col).hash(seed=s1).alias(f"{prefix}h1c"),
        )
        if out[f"{prefix}h0"].n_unique() == out.height:
            return out, (s0, s1)
    raise RuntimeError(f"no seed pair hashes the {col} values apart")  # ~10^-21: never seen


def usage_keys(
    usage: pl.LazyFrame, population: pl.LazyFrame, day: date, policy: Policy
) -> UsageKeys:
    """The population's ids and the window's features, numbered (one small pass over the
    feed's feature column, which also counts the window's rows for `usage_partitions`)."""
    ids, feats = pl.collect_all(
        [population.select("account_id").unique(),
         usage_window(usage, day, policy).group_by("feature").agg(pl.len().alias("_n"))],
        engine="streaming",
    )  # fmt: skip
    accounts, a_seeds = _numbered(ids.sort("account_id"), "account_id", "_a", "_")
    rows = int(feats["_n"].sum()) if feats.height else 0
    features, f_seeds = _numbered(feats.select("feature").sort("feature"), "feature", "_f", "_f")
    return UsageKeys(accounts, features, a_seeds, f_seeds, rows)


def _between(age: pl.Expr, low_us: int, high_us: int) -> pl.Expr:
    return (age > low_us) & (age <= high_us)


def usage_per_feature(
    usage: pl.LazyFrame, keys: UsageKeys, day: date, policy: Policy
) -> pl.LazyFrame:
    """Per account (of the population) and feature: events in each usage week `w0…`, in the
    feature's baseline (`before`) and recent windows, and when it was last used."""
    ew = policy.early_warning
    abandon = ew.abandon_days * DAY_US
    n_features = max(1, keys.features.height)
    age = (pl.lit(scan_end(day)) - pl.col("ts")).dt.total_microseconds()
    (a0, a1), (f0, f1) = keys.account_seeds, keys.feature_seeds
    coded = (
        usage_window(usage, day, policy)
        .select(
            pl.col("account_id").hash(seed=a0).alias("_h0"),
            pl.col("account_id").hash(seed=a1).alias("_h1"),
            pl.col("feature").hash(seed=f0).alias("_fh0"),
            pl.col("feature").hash(seed=f1).alias("_fh1"),
            "ts",
        )
        .join(keys.accounts.lazy().select("_h0", "_h1c", "_a"), on="_h0")
        .join(keys.features.lazy().select("_fh0", "_fh1c", "_f"), on="_fh0")
        .filter(pl.col("_h1") == pl.col("_h1c"), pl.col("_fh1") == pl.col("_fh1c"))
        .select((pl.col("_a").cast(pl.Int64) * n_features + pl.col("_f")).alias("_k"), "ts")
    )
    counts = coded.group_by("_k").agg(
        *[_between(age, k * WEEK_US, (k + 1) * WEEK_US).sum().alias(f"w{k}")
          for k in range(ew.baseline_weeks + 1)],
        _between(age, abandon, abandon + ew.baseline_weeks * WEEK_US).sum().alias("before"),
        _between(age, 0, abandon).sum().alias("recent"),
        pl.col("ts").max().alias("last_ts"),
    )  # fmt: skip
    accounts = keys.accounts.lazy().select("account_id", "_a")
    features = keys.features.lazy().select("feature", "_f")
    return (
        counts.with_columns(
            (pl.col("_k") // n_features).cast(pl.UInt32).alias("_a"),
            (pl.col("_k") % n_features).cast(pl.UInt32).alias("_f"),
        )
        .join(accounts, on="_a")
        .join(features, on="_f")
        .select("account_id", "feature", pl.exclude("account_id", "feature", "_k", "_a", "_f"))
    )
