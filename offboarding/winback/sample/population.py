"""Generated win-back populations: churned accounts and trigger signals, any size, as frames.

Vectorised (numpy + polars), so `offboard sample-signals --accounts 1000000 --signals
10000000` takes seconds, not hours. The mix is plausible rather than real: most signals name
an account or its domain (some unknown to us), a few are competitor news or releases that
reach every account whose churn reason they address. The same seed gives the same data.
Pure: writing it as Parquet or into the store is `winback.sample.writing`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import polars as pl

from offboarding.domain import SignalType
from offboarding.winback.selection import CANDIDATE_SCHEMA
from offboarding.winback.signals.model import SIGNAL_SCHEMA

__all__ = ["Sample", "generate", "generate_candidates", "generate_signals"]

REASONS = {
    "product_gap": 0.18,
    "cost": 0.16,
    "competitor": 0.14,
    "outcome": 0.08,
    "expectation": 0.06,
    "experience": 0.08,
    "misunderstanding": 0.04,
    "other": 0.08,
    "downsizing": 0.05,
    "policy_change": 0.03,
    "business_closure": 0.04,
    "bankruptcy": 0.03,
    "acquisition": 0.03,
}
GAPS = [
    "sso",
    "audit-log",
    "api-rate-limits",
    "custom-roles",
    "data-residency",
    "offline-mode",
    "bulk-export",
    "webhooks",
    "mobile-app",
    "advanced-reporting",
    "multi-currency",
    "sandbox",
]
COMPETITORS = [
    "initrode",
    "hooli",
    "pied piper",
    "vandelay",
    "wonka cloud",
    "cyberdyne",
    "tyrell",
    "massive dynamic",
]
TARGETED_TYPES = {
    SignalType.stack_pain_post: 0.28,
    SignalType.growth_phase: 0.28,
    SignalType.competitor_price_change: 0.08,
    SignalType.competitor_acquired: 0.04,
    SignalType.season_returns: 0.12,
    SignalType.champion_moved: 0.12,
    SignalType.feature_shipped: 0.08,
}
SOURCES = {
    SignalType.stack_pain_post: "social",
    SignalType.growth_phase: "news",
    SignalType.competitor_price_change: "pricing-watch",
    SignalType.competitor_acquired: "news",
    SignalType.season_returns: "calendar",
    SignalType.champion_moved: "linkedin",
    SignalType.feature_shipped: "release-notes",
}
HISTORY_DAYS = 1100  # churned up to three years ago
SIGNAL_DAYS = 120  # signals spread over the last four months


@dataclass(frozen=True)
class Sample:
    """A population and the night it was made for: signal ages are counted from that night."""

    candidates: pl.DataFrame
    signals: pl.DataFrame
    night: date


def _pick(rng: np.random.Generator, options: dict, n: int) -> np.ndarray:
    keys = [str(k) for k in options]
    p = np.array(list(options.values()), dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _ids(prefix: str, start: int, n: int, width: int) -> pl.Expr:
    return pl.format(prefix + "{}", (pl.int_range(n) + start).cast(pl.String).str.zfill(width))


def generate_candidates(
    n: int, night: date, seed: int = 5, owners: int | None = None
) -> pl.DataFrame:
    """One churned account per row; about 200 accounts per owner unless `owners` is given."""
    rng = np.random.default_rng(seed)
    width = max(7, len(str(int(n * 1.2))))
    reason = _pick(rng, REASONS, n)
    structural = np.isin(reason, ["business_closure", "bankruptcy", "acquisition"])
    churned = np.datetime64(night) - rng.integers(1, HISTORY_DAYS, n).astype("timedelta64[D]")
    contacted = rng.random(n) < 0.15
    last = churned + rng.integers(120, 800, n).astype("timedelta64[D]")
    last_ok = contacted & (last < np.datetime64(night))
    n_owners = owners or max(1, n // 200)
    frame = pl.DataFrame(
        {
            "owner_no": rng.integers(0, n_owners, n),
            "strategic": rng.random(n) < 0.03,
            "churned_on": churned,
            "reason": reason,
            "candidate": ~structural & (rng.random(n) < 0.65),
            "has_domain": rng.random(n) < 0.95,
            "gap": np.array(GAPS, dtype=object)[rng.integers(0, len(GAPS), n)],
            "competitor_pick": np.array(COMPETITORS, dtype=object)[
                rng.integers(0, len(COMPETITORS), n)
            ],
            "opted_out": rng.random(n) < 0.04,
            "clean_break": rng.random(n) < 0.02,
            "won_back": rng.random(n) < 0.01,
            "last_outreach_on": np.where(last_ok, last, np.datetime64("NaT")),
        }
    )
    return frame.select(
        _ids("A", 0, n, width).alias("account_id"),
        _ids("C-", 0, n, 8).alias("case_id"),
        pl.format("owner{}@example.com", pl.col("owner_no")).alias("owner"),
        "strategic",
        pl.col("churned_on").cast(pl.Date),
        "reason",
        "candidate",
        pl.when(pl.col("has_domain"))
        .then(pl.format("a{}.example", _ids("", 0, n, width)))
        .alias("domain"),
        pl.when(pl.col("reason") == "product_gap").then(pl.col("gap")).alias("product_gap"),
        pl.when(pl.col("reason") == "competitor")
        .then(pl.col("competitor_pick"))
        .alias("competitor"),
        "opted_out",
        "clean_break",
        "won_back",
        pl.col("last_outreach_on").cast(pl.Date),
    ).cast(CANDIDATE_SCHEMA)


def _observed(rng: np.random.Generator, n: int, night: date) -> np.ndarray:
    end = datetime.combine(night + timedelta(days=1), time(), UTC).replace(tzinfo=None)
    seconds = rng.integers(1, SIGNAL_DAYS * 86_400, n).astype("timedelta64[s]")
    return (np.datetime64(end, "s") - seconds).astype("datetime64[us]")


def generate_signals(n: int, accounts: int, night: date, seed: int = 5) -> pl.DataFrame:
    """`n` signals for `accounts` accounts: mostly targeted (some at accounts we do not
    have), plus a few competitor news items and releases."""
    rng = np.random.default_rng(seed + 1)
    width = max(7, len(str(int(accounts * 1.2))))
    n_news = min(40, max(1, n // 1000))
    n_releases = min(25, max(1, n // 1000))
    n_targeted = max(0, n - n_news - n_releases)

    kind = _pick(rng, TARGETED_TYPES, n_targeted)
    code_pool = np.array(GAPS + ["cost", "experience", "outcome"], dtype=object)
    targeted = pl.DataFrame(
        {
            "type": kind,
            "target": rng.integers(0, int(accounts * 1.1) + 1, n_targeted),  # ~9 % unknown
            "by_domain": rng.random(n_targeted) < 0.3,
            "code": code_pool[rng.integers(0, len(code_pool), n_targeted)],
            "observed_at": _observed(rng, n_targeted, night),
            "k": rng.integers(0, 50_000, n_targeted),
        }
    ).with_columns(pl.int_range(pl.len()).alias("j"))
    target_id = pl.col("target").cast(pl.String).str.zfill(width)
    targeted = targeted.select(
        pl.format("S-{}", pl.col("j").cast(pl.String).str.zfill(10)).alias("signal_id"),
        "type",
        pl.when(~pl.col("by_domain")).then(pl.format("A{}", target_id)).alias("account_id"),
        pl.when(pl.col("by_domain")).then(pl.format("a{}.example", target_id)).alias("domain"),
        pl.lit(None, dtype=pl.String).alias("competitor"),
        pl.when(pl.col("type") == "feature_shipped")
        .then(pl.concat_list(pl.col("code")))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("codes"),
        pl.col("observed_at").dt.replace_time_zone("UTC"),
        pl.col("type").replace_strict({str(k): v for k, v in SOURCES.items()}).alias("source"),
        pl.when(pl.col("type") == "champion_moved")
        .then(
            pl.concat_str(
                pl.lit('{"person": "Former champion '),
                pl.col("j").cast(pl.String),
                pl.lit('", "new_company": "NewCo '),
                pl.col("k").cast(pl.String),
                pl.lit('", "new_domain": "newco'),
                pl.col("k").cast(pl.String),
                pl.lit('.example"}'),
            )
        )
        .when(pl.col("type") == "growth_phase")
        .then(pl.lit('{"kind": "funding"}'))
        .when(pl.col("type") == "season_returns")
        .then(pl.lit('{"season": "spring"}'))
        .otherwise(pl.lit("{}"))
        .alias("details"),
    )

    news_types = np.where(
        rng.random(n_news) < 0.5, "competitor_acquired", "competitor_price_change"
    )
    news_competitor = np.array(COMPETITORS, dtype=object)[rng.integers(0, len(COMPETITORS), n_news)]
    news = pl.DataFrame(
        {
            "signal_id": [f"S-N{i:06d}" for i in range(n_news)],
            "type": news_types,
            "account_id": pl.Series([None] * n_news, dtype=pl.String),
            "domain": pl.Series([None] * n_news, dtype=pl.String),
            "competitor": news_competitor,
            "codes": pl.Series([[] for _ in range(n_news)], dtype=pl.List(pl.String)),
            "observed_at": _observed(rng, n_news, night),
            "source": ["news"] * n_news,
            "details": [json.dumps({"competitor": c}) for c in news_competitor],
        }
    ).with_columns(pl.col("observed_at").dt.replace_time_zone("UTC"))

    release_codes = [
        sorted(set(rng.choice(code_pool, size=int(rng.integers(1, 4)), replace=False)))
        for _ in range(n_releases)
    ]
    releases = pl.DataFrame(
        {
            "signal_id": [f"S-R{i:06d}" for i in range(n_releases)],
            "type": ["feature_shipped"] * n_releases,
            "account_id": pl.Series([None] * n_releases, dtype=pl.String),
            "domain": pl.Series([None] * n_releases, dtype=pl.String),
            "competitor": pl.Series([None] * n_releases, dtype=pl.String),
            "codes": pl.Series(release_codes, dtype=pl.List(pl.String)),
            "observed_at": _observed(rng, n_releases, night),
            "source": ["release-notes"] * n_releases,
            "details": [json.dumps({"feature": ", ".join(c)}) for c in release_codes],
        }
    ).with_columns(pl.col("observed_at").dt.replace_time_zone("UTC"))
    return pl.concat([f.cast(SIGNAL_SCHEMA) for f in (targeted, news, releases)], how="vertical")


def generate(
    accounts: int, signals: int, night: date, seed: int = 5, owners: int | None = None
) -> Sample:
    """Candidates and signals from one seed, so the same arguments give the same data."""
    return Sample(
        generate_candidates(accounts, night, seed, owners),
        generate_signals(signals, accounts, night, seed),
        night,
    )
