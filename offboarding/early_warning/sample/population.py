"""Generated product data for the early-warning scan, with at-risk patterns planted at known
accounts: usage events, logins, tickets, health scores, renewals and champions, as frames.

Two modes. `quiet` (the sample dataset, the demo, the e2e test): steady accounts whose noise
can never cross a threshold, so the scan finds exactly the planted patterns (`planted`).
Noisy (the benchmark, the engine tests): Poisson noise and random failed logins and tickets,
so rules also fire by chance, as in real data. Vectorised with numpy + polars, and the usage
table comes one day at a time in time order (as a feed is appended), so 100 M rows need no
more memory than one day of them. The same seed gives the same data. Pure: writing Parquet
and the catalogue is `early_warning.sample.writing`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import polars as pl

from offboarding.early_warning.columns import fmt
from offboarding.early_warning.signals.model import ACCOUNT_SCHEMA, SCHEMAS

__all__ = ["FEATURES", "PLANTED", "Population", "plan"]

FEATURES = ("dashboard", "reports", "editor", "api", "workflows", "billing", "admin")
SHARES = np.array([0.22, 0.2, 0.24, 0.1, 0.12, 0.05, 0.07])
HISTORY = 84  # days of usage before the scan (the karte shows 12 weeks)
LOGIN_DAYS = 42  # days of logins and tickets
#: The sample accounts' planted patterns (offboarding/sample_data/accounts.json).
PLANTED: dict[str, frozenset[str]] = {
    "GLOBEX-ENT": frozenset({"ticket_cluster", "health_decline"}),
    "INITECH-MM": frozenset({"usage_drop", "failed_login_burst", "champion_inactive"}),
    "UMBRELLA-MM": frozenset({"feature_abandoned"}),
    "ACME-SMB": frozenset({"health_decline"}),
}
#: Sample accounts whose next renewal is close (seed 004's customer A renews next month).
RENEWS_IN = {"GLOBEX-ENT": 30, "INITECH-MM": 75}
SEVERITY = np.array(["low", "medium", "high", "critical"])
ROLES = np.array(["admin", "ops lead", "manager", "VP", "CEO", "director", "analyst"])


@dataclass(frozen=True)
class Population:
    """Who the accounts are and how each behaves; the tables are drawn from this plan."""

    ids: list[str]
    day: date
    rate: np.ndarray  # usage events per day
    users: np.ndarray  # users per account
    health: np.ndarray  # steady health score
    plants: dict[str, np.ndarray]  # cause -> bool per account
    quiet: bool
    seed: int
    known: dict[str, dict] = field(default_factory=dict)
    history: int = HISTORY  # days of usage

    @property
    def end(self) -> datetime:
        return datetime.combine(self.day, time(), UTC)

    def planted(self) -> set[tuple[str, str]]:
        """(account, cause) of every planted pattern: what a quiet scan must find."""
        return {(self.ids[i], c) for c, m in self.plants.items() for i in np.flatnonzero(m)}

    def _rng(self, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])

    def _plant(self, cause: str) -> np.ndarray:
        return self.plants.get(cause, np.zeros(len(self.ids), bool))


def plan(
    account_ids: list[str],
    day: date,
    usage_rows: int | None = None,
    *,
    seed: int = 14,
    quiet: bool = True,
    plants: dict[str, set[str]] | None = None,
    plant_share: float = 0.0,
    known: dict[str, dict] | None = None,
    history: int = HISTORY,
) -> Population:
    """The plan for `account_ids` on the scan `day`: `plants` names the planted causes per
    account (default: `PLANTED` for the sample accounts), and in noisy mode `plant_share` of
    the others get one random cause. `usage_rows` is the total size of the usage table."""
    from offboarding.policy import CAUSES

    n = len(account_ids)
    rng = np.random.default_rng([seed, 0])
    plants = PLANTED if plants is None else plants
    masks = {c: np.array([c in plants.get(a, ()) for a in account_ids]) for c in CAUSES}
    if plant_share and n:
        extra = rng.random(n) < plant_share
        pick = rng.integers(0, len(CAUSES), n)
        for k, c in enumerate(CAUSES):
            masks[c] |= extra & (pick == k)
    if usage_rows is None:
        rate = np.full(n, 300.0)
    else:
        weights = rng.lognormal(0.0, 0.8, n) if not quiet else np.ones(n)
        rate = weights / max(weights.sum(), 1e-9) * usage_rows / history
    needs_use = masks["usage_drop"] | masks["feature_abandoned"]
    rate = np.where(needs_use, np.maximum(rate, 40.0), rate)
    users = np.full(n, 6) if quiet else 1 + rng.poisson(2.0, n)
    users = np.where(masks["failed_login_burst"], np.maximum(users, 5), users)
    health = rng.choice([82, 76, 60, 52, 45, 30], n)
    known = known or {}
    for i, a in enumerate(account_ids):
        if a in known and known[a].get("health") is not None:
            health[i] = int(known[a]["health"])
    return Population(
        list(account_ids), day, rate, users, health, masks, quiet, seed, known, history
    )


def _day_start(pop: Population, days_before: int) -> np.datetime64:
    return np.datetime64(pop.end.replace(tzinfo=None), "us") - np.timedelta64(days_before, "D")


def _utc(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def usage_days(pop: Population) -> Iterator[pl.DataFrame]:
    """The usage table, one day at a time, oldest first, each day in time order."""
    n = len(pop.ids)
    ids = pl.Series("id", pop.ids, dtype=pl.String)
    drop, gone = pop._plant("usage_drop"), pop._plant("feature_abandoned")
    workflows, editor = FEATURES.index("workflows"), FEATURES.index("editor")
    for d in range(pop.history, 0, -1):
        rng = pop._rng(1000 + d)
        lam = pop.rate * np.where(drop & (d <= 7), 0.35, 1.0)
        if pop.quiet:
            counts = np.rint(lam * rng.uniform(0.92, 1.08, n)).astype(np.int64)
        else:
            counts = rng.poisson(lam)
        who = np.repeat(np.arange(n), counts)
        feature = rng.choice(len(FEATURES), who.size, p=SHARES / SHARES.sum())
        feature = np.where(gone[who] & (d <= 14) & (feature == workflows), editor, feature)
        ts = _day_start(pop, d) + rng.integers(0, 86_400_000_000, who.size).astype("m8[us]")
        order = np.argsort(ts, kind="stable")
        yield pl.DataFrame(
            {"i": who[order].astype(np.int32), "ts": ts[order], "f": feature[order]}
        ).select(
            pl.lit(ids).gather(pl.col("i")).alias("account_id"),
            _utc("ts").alias("ts"),
            pl.col("f").replace_strict(dict(enumerate(FEATURES)), return_dtype=pl.String)
            .alias("feature"),
        )  # fmt: skip


def _user_frame(pop: Population) -> pl.DataFrame:
    """One row per (account, user): u0 is the account's champion."""
    n = len(pop.ids)
    acct = np.repeat(np.arange(n), pop.users)
    first = np.repeat(np.cumsum(pop.users) - pop.users, pop.users)
    k = np.arange(acct.size) - first
    return (
        pl.DataFrame({"i": acct, "k": k})
        .with_columns(
            pl.lit(pl.Series("id", pop.ids, dtype=pl.String))
            .gather(pl.col("i"))
            .alias("account_id")
        )
        .with_columns(fmt("{}-u{}", pl.col("account_id"), pl.col("k")).alias("user_id"))
    )


def _sparse_days(rng: np.random.Generator, users: int, p: float) -> tuple[np.ndarray, ...]:
    """(user, day) of independent daily events with probability p, without a users × days
    matrix (3 M users × 42 days would be 126 M cells)."""
    count = rng.binomial(LOGIN_DAYS, p, users)
    u = np.repeat(np.arange(users), count)
    return u, rng.integers(1, LOGIN_DAYS + 1, u.size)


def logins(pop: Population) -> pl.DataFrame:
    """Successful logins on many days (each champion logged in yesterday), a rare failed one;
    planted: a burst of failures, a champion gone quiet."""
    rng = pop._rng(2)
    users = _user_frame(pop)
    i, k = users["i"].to_numpy(), users["k"].to_numpy()
    ou, od = _sparse_days(rng, len(i), 0.7 if pop.quiet else 0.15)
    champs = np.flatnonzero(k == 0)
    # the champion logged in yesterday (and, in a quiet sample, every third day)
    regular = np.arange(1, LOGIN_DAYS + 1, 3) if pop.quiet else np.array([1])
    cu = np.repeat(champs, regular.size)
    ou, od = np.concatenate([ou, cu]), np.concatenate([od, np.tile(regular, champs.size)])
    quiet = pop._plant("champion_inactive")[i] & (k == 0)
    keep = ~(quiet[ou] & (od < 11))
    gone = np.flatnonzero(quiet)
    ou = np.concatenate([ou[keep], gone])  # their last login: 11 days before the scan
    od = np.concatenate([od[keep], np.full(gone.size, 11)])
    ok = pl.DataFrame({"u": ou, "d": od, "success": np.ones(ou.size, bool)})
    if pop.quiet:  # one failed login every fifth day per account, on its first user
        fu = np.repeat(champs, LOGIN_DAYS // 5)
        fd = np.tile(np.arange(5, LOGIN_DAYS + 1, 5), champs.size)
    else:
        fu, fd = _sparse_days(rng, len(i), 0.01)
    failed = pl.DataFrame({"u": fu, "d": fd, "success": np.zeros(fu.size, bool)})
    burst_accounts = np.flatnonzero(pop._plant("failed_login_burst"))
    starts = np.cumsum(pop.users) - pop.users
    bu = (starts[burst_accounts][:, None] + np.arange(9)[None, :] % 5).ravel()
    burst = pl.DataFrame({"u": bu, "d": np.ones(bu.size, np.int64), "success": False})
    frame = pl.concat([f.cast({"u": pl.Int64, "d": pl.Int64}) for f in (ok, failed, burst)],
                      how="vertical")  # fmt: skip
    frame = frame.with_columns(secs=pop._rng(3).integers(0, 86_400, frame.height))
    return frame.with_columns(
        ts=pl.lit(pop.end) - pl.duration(days=pl.col("d")) + pl.duration(seconds=pl.col("secs"))
    ).join(users.with_row_index("u").with_columns(pl.col("u").cast(pl.Int64)),
           on="u").select(list(SCHEMAS["logins"])).sort("ts")  # fmt: skip


def tickets(pop: Population) -> pl.DataFrame:
    """About one ticket a week per account on a rotating feature; planted: four tickets on
    reports within five days."""
    rng = pop._rng(4)
    n = len(pop.ids)
    weeks = LOGIN_DAYS // 7
    if pop.quiet:
        acct = np.repeat(np.arange(n), weeks)
        week = np.tile(np.arange(weeks), n)
        feature = (acct + week + 3) % len(FEATURES)
        days = 7 * week + 1 + (acct % 7)
        sev = np.ones(acct.size, int)
    else:
        count = rng.poisson(0.3 * weeks, n)
        acct = np.repeat(np.arange(n), count)
        feature = rng.integers(0, len(FEATURES), acct.size)
        days = rng.integers(1, LOGIN_DAYS + 1, acct.size)
        sev = rng.choice(4, acct.size, p=[0.3, 0.45, 0.2, 0.05])
    hot = np.flatnonzero(pop._plant("ticket_cluster"))
    acct = np.concatenate([acct, np.repeat(hot, 4)])
    feature = np.concatenate([feature, np.full(hot.size * 4, FEATURES.index("reports"))])
    days = np.concatenate([days, np.tile([1, 2, 4, 5], hot.size)])
    sev = np.concatenate([sev, np.tile([2, 2, 1, 2], hot.size)])
    opened = pop.end - timedelta(hours=14)
    frame = pl.DataFrame({"i": acct, "d": days, "f": feature, "s": sev})
    frame = frame.with_columns(h=rng.integers(1, 96, frame.height))
    hours = pl.col("h")
    return frame.with_row_index("t").select(
        pl.lit(pl.Series("id", pop.ids, dtype=pl.String)).gather(pl.col("i")).alias("account_id"),
        fmt("TK-{}", pl.col("t")).alias("ticket_id"),
        (pl.lit(opened) - pl.duration(days=pl.col("d") - 1)).alias("opened_at"),
        pl.when(pl.col("t") % 3 != 0).then(
            pl.lit(opened) - pl.duration(days=pl.col("d") - 1) + pl.duration(hours=hours)
        ).alias("closed_at"),
        pl.col("f").replace_strict(dict(enumerate(FEATURES)), return_dtype=pl.String)
        .alias("feature"),
        pl.col("s").replace_strict(dict(enumerate(SEVERITY)), return_dtype=pl.String)
        .alias("severity"),
    ).with_columns(
        pl.when(pl.col("closed_at") < pop.end).then(pl.col("closed_at")).alias("closed_at")
    ).select(list(SCHEMAS["tickets"]))  # fmt: skip


#: Planted declines, (score 35+ days ago, score in the last two weeks) by the band reached.
DECLINE = {"yellow": (78, 55), "red": (46, 28)}


def health_scores(pop: Population, yellow_below: int = 70) -> pl.DataFrame:
    """A weekly score per account, steady (it never leaves its band); planted: a fall into
    yellow or red (from the band above) in the last two weeks."""
    n = len(pop.ids)
    weeks = np.arange(1, LOGIN_DAYS // 7 + 2) * 7 - 4  # days before the scan: 3, 10, ... 45
    score = np.repeat(pop.health, weeks.size).astype(np.int64)
    age = np.tile(weeks, n)
    acct = np.repeat(np.arange(n), weeks.size)
    falling = pop._plant("health_decline")[acct]
    to_red = pop.health[acct] < 40
    now_score = np.where(to_red, pop.health[acct], np.minimum(pop.health[acct], yellow_below - 5))
    then_score = np.where(to_red, DECLINE["red"][0], DECLINE["yellow"][0])
    score = np.where(falling, np.where(age <= 10, now_score, then_score), score)
    day0 = np.datetime64(pop.day, "D")
    return pl.DataFrame({"i": acct, "on": day0 - age.astype("m8[D]"), "score": score}).select(
        pl.lit(pl.Series("id", pop.ids, dtype=pl.String)).gather(pl.col("i")).alias("account_id"),
        pl.col("on").cast(pl.Date),
        pl.col("score").cast(pl.Int64),
    )


def renewals(pop: Population) -> pl.DataFrame:
    rng = pop._rng(5)
    n = len(pop.ids)
    ahead = rng.integers(20, 365, n)
    ahead = np.array([RENEWS_IN.get(a, x) for a, x in zip(pop.ids, ahead, strict=True)])
    renew = np.datetime64(pop.day, "D") + ahead.astype("m8[D]")
    known_end = [
        None if a in RENEWS_IN else pop.known.get(a, {}).get("contract_end") for a in pop.ids
    ]
    return pl.DataFrame(
        {
            "account_id": pop.ids,
            "renewal_on": [date.fromisoformat(k) if k else None for k in known_end],
            "fallback": renew,
            "executive_visibility": rng.random(n) < 0.05,
            "competitive_risk": rng.random(n) < 0.03,
        },
        schema_overrides={"renewal_on": pl.Date},
    ).select(
        "account_id",
        pl.coalesce("renewal_on", pl.col("fallback").cast(pl.Date)).alias("renewal_on"),
        (pl.coalesce("renewal_on", pl.col("fallback").cast(pl.Date)).dt.offset_by("-1y")).alias(
            "last_renewed_on"
        ),
        "executive_visibility",
        "competitive_risk",
    )


def champions(pop: Population) -> pl.DataFrame:
    """Each account's champion is its first user (name and role from the account's contacts
    when known, else generated)."""
    rng = pop._rng(6)
    n = len(pop.ids)
    frame = pl.DataFrame({"account_id": pop.ids, "r": rng.integers(0, len(ROLES), n)},
                         schema_overrides={"account_id": pl.String})  # fmt: skip
    frame = frame.with_row_index("idx").select(
        "account_id",
        fmt("{}-u0", pl.col("account_id")).alias("user_id"),
        fmt("Champion {}", pl.col("idx")).alias("name"),
        fmt("champion{}@{}.example", pl.col("idx"), pl.col("account_id").str.to_lowercase())
        .alias("email"),
        pl.col("r").replace_strict(dict(enumerate(ROLES)), return_dtype=pl.String).alias("role"),
    )  # fmt: skip
    override = {}
    for a, data in pop.known.items():
        contacts = data.get("contacts") or []
        c = next((x for x in contacts if x.get("is_champion")), contacts[0] if contacts else None)
        if c:
            override[a] = (c.get("name"), c.get("email"), c.get("role"))
    if override:
        known = pl.DataFrame(
            [(a, *v) for a, v in override.items()],
            schema={"account_id": pl.String, "n": pl.String, "e": pl.String, "ro": pl.String},
            orient="row",
        )
        frame = frame.join(known, on="account_id", how="left").select(
            "account_id",
            "user_id",
            pl.coalesce("n", "name").alias("name"),
            pl.coalesce("e", "email").alias("email"),
            pl.coalesce("ro", "role").alias("role"),
        )
    return frame.select(list(SCHEMAS["champions"]))


def accounts(pop: Population) -> pl.DataFrame:
    """The population and its business context, for a benchmark or a test without a store."""
    rng = pop._rng(7)
    n = len(pop.ids)
    arr = np.round(rng.lognormal(10.0, 1.1, n), -2)
    segment = np.where(arr >= 150_000, "enterprise", np.where(arr >= 30_000, "mid-market", "smb"))
    frame = pl.DataFrame(
        {
            "account_id": pop.ids,
            "name": [pop.known.get(a, {}).get("name") or f"Account {a}" for a in pop.ids],
            "owner": [f"owner{i % max(1, n // 200)}@example.com" for i in range(n)],
            "segment": [pop.known.get(a, {}).get("segment") or s for a, s in zip(pop.ids, segment,
                                                                               strict=True)],
            "arr": [float(pop.known.get(a, {}).get("arr") or x) for a, x in zip(pop.ids, arr,
                                                                              strict=True)],
            "health": pop.health.astype(np.int64),
            "contract_end": None,
            "locale": "en",
        },
        schema=ACCOUNT_SCHEMA,
    )  # fmt: skip
    return frame
