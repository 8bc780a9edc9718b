"""The nightly win-back selection over the whole population, vectorised with polars.

The same rules as `offboarding.winback.rules` (the per-account reference), as one lazy
query: filter first (accounts that may be contacted at all, signals fresh enough), then join
each kind of signal to the accounts it is about, then keep the best signal per account and
the owner's capacity for the night. Nothing is joined before it is filtered.

Why polars: measured on these 2-core machines over 1 M churned accounts and 10 M signals,
end to end from Parquet (`benchmarks/winback_bench.py`, numbers in `benchmarks/README.md`),
it was on par with the same selection as one DuckDB query (0.84× its median time) and 2–3×
faster than the same rules vectorised in pandas, within 1 GiB of memory; and it needs no
SQL text and no second engine in production.

Frames (see `CANDIDATE_SCHEMA` and `offboarding.winback.signals.model.SIGNAL_SCHEMA`):
- candidates: one row per churned account (its latest churned case), with the facts the
  rules need, including `last_outreach_on` from the outreach history;
- signals: normalised trigger events (lower-case domain/competitor/codes, UTC times).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from offboarding.domain import COMPETITOR_TYPES, SignalType
from offboarding.policy import Policy

CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "case_id": pl.String(),
    "owner": pl.String(),
    "strategic": pl.Boolean(),
    "churned_on": pl.Date(),
    "reason": pl.String(),
    "candidate": pl.Boolean(),
    "domain": pl.String(),
    "product_gap": pl.String(),
    "competitor": pl.String(),
    "opted_out": pl.Boolean(),
    "clean_break": pl.Boolean(),
    "won_back": pl.Boolean(),
    "last_outreach_on": pl.Date(),
}

#: What the selection returns: one row per account to reach tonight.
SELECTED_COLUMNS = [
    "account_id",
    "case_id",
    "owner",
    "strategic",
    "reason",
    "product_gap",
    "signal_id",
    "type",
    "observed_at",
    "strength",
]

_SIGNAL_COLUMNS = ["signal_id", "type", "observed_at", "strength"]
#: The few account facts the signal filters need; the rest is joined to the winners only.
_KEY_COLUMNS = ["account_id", "churn_ts", "champion_only", "needs_strong"]
_DETAIL_COLUMNS = ["account_id", "case_id", "owner", "strategic", "reason", "product_gap"]


def _utc_midnight(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def contactable(candidates: pl.LazyFrame, night: date, policy: Policy) -> pl.LazyFrame:
    """Accounts any signal may reach tonight (before looking at a single signal), with what
    the signal filters need: the churn time, whether only a champion who moved may reach them
    (structural churn, or not tagged), and whether only a strong signal may (a first contact
    outside the 6–12 month window)."""
    wp = policy.winback
    structural = pl.col("reason").is_in(wp.structural_reasons)
    candidate = pl.col("candidate").fill_null(False)
    last = pl.col("last_outreach_on")
    low, high = wp.reminder_months
    churned = pl.col("churned_on")
    in_window = (churned.dt.offset_by(f"{low}mo") <= night) & (
        churned.dt.offset_by(f"{high}mo") >= night
    )
    return candidates.filter(
        ~pl.col("won_back").fill_null(False)
        & ~pl.col("clean_break").fill_null(False)
        & ~pl.col("opted_out").fill_null(False)
        & (candidate | structural)
        & (last.is_null() | (last.dt.offset_by(f"{wp.contact_gap_months}mo") <= night))
    ).select(
        "account_id",
        "case_id",
        "owner",
        "strategic",
        "reason",
        "product_gap",
        "domain",
        "competitor",
        churned.cast(pl.Datetime("us", "UTC")).alias("churn_ts"),
        (structural | ~candidate).alias("champion_only"),
        (last.is_null() & ~in_window).alias("needs_strong"),
    )


def fresh_signals(signals: pl.LazyFrame, night: date, policy: Policy) -> pl.LazyFrame:
    """Signals observed on one of the last `signal_max_age_days` days, up to tonight."""
    wp = policy.winback
    since = _utc_midnight(night - timedelta(days=wp.signal_max_age_days - 1))
    until = _utc_midnight(night + timedelta(days=1))
    return signals.filter(
        (pl.col("observed_at") >= since)
        & (pl.col("observed_at") < until)
        & pl.col("type").is_in(list(wp.strengths))
    ).with_columns(
        pl.col("type")
        .replace_strict(wp.strengths, default=None, return_dtype=pl.Float64)
        .alias("strength")
    )


def matched_pairs(accounts: pl.LazyFrame, signals: pl.LazyFrame) -> pl.LazyFrame:
    """(account, signal) for every signal about an account, by its most specific subject.

    Only narrow columns travel through the joins; a release is exploded into its codes and
    joined to the accounts whose product gap or churn reason it addresses.
    """
    has_account = pl.col("account_id").is_not_null()
    has_domain = pl.col("domain").is_not_null()
    feature = pl.col("type") == str(SignalType.feature_shipped)
    keep = [*_SIGNAL_COLUMNS, *_KEY_COLUMNS]
    keys = accounts.select(*_KEY_COLUMNS)
    by_account = (
        signals.filter(has_account & ~feature)
        .select(*_SIGNAL_COLUMNS, "account_id")
        .join(keys, on="account_id")
    )
    by_domain = (
        signals.filter(~has_account & has_domain & ~feature)
        .select(*_SIGNAL_COLUMNS, "domain")
        .join(accounts.filter(has_domain).select(*_KEY_COLUMNS, "domain"), on="domain")
        .select(keep)
    )
    by_competitor = (
        signals.filter(
            ~has_account
            & ~has_domain
            & pl.col("type").is_in([str(t) for t in COMPETITOR_TYPES])
            & pl.col("competitor").is_not_null()
        )
        .select(*_SIGNAL_COLUMNS, "competitor")
        .join(
            accounts.filter(pl.col("competitor").is_not_null()).select(*_KEY_COLUMNS, "competitor"),
            on="competitor",
        )
        .select(keep)
    )
    # A release matters only to those who left for what it fixes, even when it names them.
    addressed = pl.col("codes").list.contains(pl.col("product_gap")).fill_null(False) | pl.col(
        "codes"
    ).list.contains(pl.col("reason")).fill_null(False)
    reasons = [*_KEY_COLUMNS, "product_gap", "reason"]
    named_release = signals.filter(feature & (has_account | has_domain))
    release_by_account = (
        named_release.filter(has_account)
        .select(*_SIGNAL_COLUMNS, "codes", "account_id")
        .join(accounts.select(reasons), on="account_id")
    )
    release_by_domain = (
        named_release.filter(~has_account)
        .select(*_SIGNAL_COLUMNS, "codes", "domain")
        .join(accounts.filter(has_domain).select(*reasons, "domain"), on="domain")
    )
    named = pl.concat(
        [
            release_by_account.select(*keep, "codes", "product_gap", "reason"),
            release_by_domain.select(*keep, "codes", "product_gap", "reason"),
        ],
        how="vertical",
    ).filter(addressed)
    releases = (
        signals.filter(~has_account & ~has_domain & feature)
        .select(*_SIGNAL_COLUMNS, pl.col("codes").alias("code"))
        .explode("code")
        .unique(["signal_id", "code"])
    )
    by_gap = releases.join(
        accounts.filter(pl.col("product_gap").is_not_null()).select(*_KEY_COLUMNS, "product_gap"),
        left_on="code",
        right_on="product_gap",
    )
    by_reason = releases.join(
        accounts.select(*_KEY_COLUMNS, "reason"), left_on="code", right_on="reason"
    )
    return pl.concat(
        [
            by_account.select(keep),
            by_domain,
            by_competitor,
            named.select(keep),
            by_gap.select(keep),
            by_reason.select(keep),
        ],
        how="vertical",
    )


def select_outreach(
    candidates: pl.LazyFrame | pl.DataFrame,
    signals: pl.LazyFrame | pl.DataFrame,
    night: date,
    policy: Policy,
) -> pl.DataFrame:
    """Tonight's outreach: one row per account, strongest then newest first per owner."""
    wp = policy.winback
    columns = ["signal_id", "type", "account_id", "domain", "competitor", "codes", "observed_at"]
    # One pass over each input (both at once), filtered at the scan; the joins then run on
    # the small, fresh part in memory instead of re-reading the files once per branch.
    accounts, fresh = pl.collect_all(
        [
            contactable(candidates.lazy(), night, policy),
            fresh_signals(signals.lazy().select(columns), night, policy),
        ]
    )
    champion = pl.col("type") == str(SignalType.champion_moved)
    allowed = matched_pairs(accounts.lazy(), fresh.lazy()).filter(
        (pl.col("observed_at") >= pl.col("churn_ts"))
        & (~pl.col("champion_only") | champion)
        & (~pl.col("needs_strong") | (pl.col("strength") >= wp.strong_signal))
    )
    best = (
        allowed.select(_SIGNAL_COLUMNS + ["account_id"])
        .sort(["strength", "observed_at", "signal_id"], descending=[True, True, False])
        .unique("account_id", keep="first", maintain_order=True)
    )
    capped = (
        best.join(accounts.lazy().select(_DETAIL_COLUMNS), on="account_id")
        .sort(["strength", "observed_at", "account_id"], descending=[True, True, False])
        .filter(pl.int_range(pl.len()).over("owner") < wp.max_per_owner_per_night)
        .select(SELECTED_COLUMNS)
    )
    return capped.collect()


def candidate_facts(candidates: pl.DataFrame) -> list:
    """Frame rows as `CandidateFacts`, for the per-account reference rules."""
    from offboarding.winback.rules import CandidateFacts

    return [CandidateFacts(**row) for row in candidates.select(list(CANDIDATE_SCHEMA)).to_dicts()]


def signal_facts(signals: pl.DataFrame) -> list:
    """Frame rows as `SignalFacts`, for the per-account reference rules."""
    from offboarding.winback.rules import SignalFacts

    cols = ["signal_id", "type", "observed_at", "account_id", "domain", "competitor", "codes"]
    return [
        SignalFacts(**{**row, "codes": tuple(row["codes"] or ())})
        for row in signals.select(*cols, "source").to_dicts()
    ]
