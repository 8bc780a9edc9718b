"""Generated win-back populations: churned accounts and trigger signals, any size, as Parquet.

Vectorised (numpy + polars), so `offboard sample-signals --accounts 1000000 --signals
10000000` takes seconds, not hours. The mix is plausible rather than real: most signals name
an account or its domain (some unknown to us), a few are competitor news or releases that
reach every account whose churn reason they address. The same seed gives the same data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from offboarding.signals import SIGNAL_SCHEMA
from offboarding.winback_select import CANDIDATE_SCHEMA
from offboarding.winback_types import SignalType

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
    return Sample(
        generate_candidates(accounts, night, seed, owners),
        generate_signals(signals, accounts, night, seed),
        night,
    )


def write_sample(sample: Sample, out: Path) -> dict:
    """candidates.parquet, signals.parquet and sample.json (the night they were made for)."""
    out.mkdir(parents=True, exist_ok=True)
    sample.candidates.write_parquet(out / "candidates.parquet", row_group_size=256_000)
    sample.signals.write_parquet(out / "signals.parquet", row_group_size=1_000_000)
    meta = {
        "night": sample.night.isoformat(),
        "accounts": sample.candidates.height,
        "signals": sample.signals.height,
        "files": {
            name: (out / name).stat().st_size for name in ("candidates.parquet", "signals.parquet")
        },
    }
    (out / "sample.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta


def load_into_store(session, sample: Sample) -> dict:  # noqa: ANN001 - a SQLAlchemy Session
    """Write a generated population into the store as accounts with closed cases, contact
    preferences, earlier outreach and outcomes, and ingest its signals. For demos and tests:
    it is the state the nightly flow would find after real cancellations."""
    from offboarding.cases import audit
    from offboarding.storage.db import utcnow
    from offboarding.storage.models import AccountRow, CaseRow
    from offboarding.storage.models_winback import (
        WinbackOutcomeRow,
        WinbackOutreachRow,
        WinbackPreferenceRow,
    )
    from offboarding.winback_store import ingest_signals

    now = utcnow()
    accounts, cases, prefs, history, outcomes = [], [], [], [], []
    for r in sample.candidates.iter_rows(named=True):
        aid, closed = r["account_id"], r["churned_on"]
        contacts = (
            [{"name": "Ops Lead", "email": f"ops@{r['domain']}", "role": "admin"}]
            if r["domain"]
            else []
        )
        owner_name = r["owner"].split("@")[0].title()
        data = {
            "account_id": aid,
            "name": f"Sample {aid}",
            "segment": "enterprise" if r["strategic"] else "smb",
            "arr": 150_000.0 if r["strategic"] else 12_000.0,
            "currency": "USD",
            "contract_start": (closed - timedelta(days=730)).isoformat(),
            "contract_end": (closed + timedelta(days=30)).isoformat(),
            "strategic": r["strategic"],
            "region": "US",
            "locale": "en",
            "owner": {
                "name": owner_name,
                "title": "Customer Success Manager",
                "email": r["owner"],
                "phone": "+1 555 0100",
            },
            "contacts": contacts,
        }
        accounts.append(
            {
                "account_id": aid,
                "name": data["name"],
                "segment": data["segment"],
                "arr": data["arr"],
                "region": "US",
                "locale": "en",
                "data": data,
                "updated_at": now,
            }
        )
        asked = datetime.combine(closed - timedelta(days=14), time(9), UTC)
        reason = {"category": r["reason"], "detail": "generated sample"}
        if r["product_gap"]:
            reason["product_gap"] = r["product_gap"]
        if r["competitor"]:
            reason["competitor_name"] = r["competitor"]
        cases.append(
            {
                "case_id": r["case_id"],
                "account_id": aid,
                "external_ref": f"SAMPLE-{r['case_id']}",
                "status": "closed",
                "channel": "email",
                "requested_by": f"ops@{r['domain'] or 'sample.example'}",
                "requested_at": asked,
                "request": {"account_id": aid, "generated": True},
                "reason": reason,
                "closed_on": closed,
                "completed_at": datetime.combine(closed, time(17), UTC),
                "legal_hold": False,
                "winback_candidate": r["candidate"],
                "created_at": asked,
                "updated_at": now,
            }
        )
        if r["opted_out"] or r["clean_break"]:
            prefs.append(
                {
                    "account_id": aid,
                    "opted_out": r["opted_out"],
                    "clean_break": r["clean_break"],
                    "recorded_by": "sample@example.com",
                    "note": "generated sample",
                    "at": now,
                }
            )
        if r["last_outreach_on"] is not None:
            history.append(
                {
                    "outreach_id": f"W-{aid}-{r['last_outreach_on']:%Y%m%d}",
                    "night": r["last_outreach_on"],
                    "account_id": aid,
                    "case_id": r["case_id"],
                    "owner": r["owner"],
                    "strategic": r["strategic"],
                    "signal_id": None,
                    "signal_type": "stack_pain_post",
                    "strength": 0.0,
                    "why": "an earlier outreach (generated sample)",
                    "status": "sent",
                    "message_seq": 0,
                    "review_note": "",
                    "created_at": now,
                }
            )
        if r["won_back"]:
            outcomes.append(
                {
                    "case_id": r["case_id"],
                    "account_id": aid,
                    "won_back_on": min(closed + timedelta(days=30), sample.night),
                    "recorded_by": "sample@example.com",
                    "note": "generated sample",
                    "at": now,
                }
            )
    for model, rows in (
        (AccountRow, accounts),
        (CaseRow, cases),
        (WinbackPreferenceRow, prefs),
        (WinbackOutreachRow, history),
        (WinbackOutcomeRow, outcomes),
    ):
        for i in range(0, len(rows), 2_000):
            session.execute(model.__table__.insert(), rows[i : i + 2_000])
    stored = ingest_signals(session, sample.signals)
    audit(session, None, "sample", "winback_sample_loaded", f"{len(cases)} churned cases")
    return {"accounts": len(accounts), "signals": stored["new"]}
