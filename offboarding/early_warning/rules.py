"""§14 early-warning rules, one account at a time: the reference the daily scan must match.

Plain functions over plain data, thresholds from the policy (`early_warning`). The daily scan
over the whole population (`offboarding.early_warning.selection`) is a vectorised form of
exactly these rules; tests hold the two to the same findings, evidence text included.

The scan of day D looks at data up to the end of D-1 (`end` = D 00:00 UTC). A rule fires when:
- usage_drop: last week's events are at least `usage_drop_ratio` below the median of the
  `baseline_weeks` weeks before (the account's own baseline), which is at least
  `usage_min_baseline` events a week;
- failed_login_burst: `failed_login_burst` failed logins or more in the last
  `failed_login_hours`;
- champion_inactive: a champion's last successful login is more than
  `champion_inactive_days` days ago (or none within `history_days`);
- ticket_cluster: `tickets_per_feature` tickets or more on one feature opened in the last
  `ticket_days`;
- health_decline: the health score falls to yellow or red (its band is worse than
  `health_lookback_days` ago);
- feature_abandoned: a feature used `abandon_min_weekly` times a week in the baseline weeks
  has not been used for `abandon_days`, while the account still uses others.
Usage and login rules are skipped for the whole scan when their table is stale (a gap in the
feed is not a drop in usage: `stale_tables`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from offboarding.policy import LEVELS, Policy

#: Which table each rule reads; a stale table skips its rules.
RULE_TABLES = {
    "usage_drop": "usage_events",
    "feature_abandoned": "usage_events",
    "failed_login_burst": "logins",
    "champion_inactive": "logins",
    "ticket_cluster": "tickets",
    "health_decline": "health_scores",
}
#: Tables that flow every day; the others (tickets, scores) may rightly be quiet for days.
STREAMS = ("usage_events", "logins")
MICROSECOND = timedelta(microseconds=1)
WEEK_US = 7 * 86_400 * 1_000_000
SEVERITIES = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}


@dataclass(frozen=True)
class UsageEvent:
    ts: datetime
    feature: str


@dataclass(frozen=True)
class Login:
    ts: datetime
    user_id: str
    success: bool


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    opened_at: datetime
    feature: str
    severity: str = "medium"
    closed_at: datetime | None = None


@dataclass(frozen=True)
class HealthScore:
    on: date
    score: int


@dataclass(frozen=True)
class Champion:
    user_id: str
    name: str
    email: str
    role: str = ""


@dataclass(frozen=True)
class ProductFacts:
    """One account's product data, as read through the catalogue."""

    account_id: str
    usage: tuple[UsageEvent, ...] = ()
    logins: tuple[Login, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    health: tuple[HealthScore, ...] = ()
    champions: tuple[Champion, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A fired rule: the account, the cause, the evidence in words, impact and urgency."""

    account_id: str
    cause: str
    evidence: str
    impact: str
    urgency: str
    facts: dict = field(default_factory=dict, compare=False, hash=False)

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.account_id, self.cause, self.evidence, self.impact, self.urgency)


def scan_end(day: date) -> datetime:
    """The scan of `day` sees data up to the end of the day before (UTC)."""
    return datetime.combine(day, time(), UTC)


def read_window(day: date, policy: Policy) -> datetime:
    """The oldest moment any rule of the scan of `day` looks at (usage baseline, a
    feature's baseline, login history): product feeds are read from here on."""
    ew = policy.early_warning
    usage = max(7 * (ew.baseline_weeks + 1), ew.abandon_days + 7 * ew.baseline_weeks)
    return scan_end(day) - timedelta(days=max(ew.history_days, usage))


def utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def tenths_text(x: float) -> str:
    """A number as the evidence shows it: whole, or to one decimal (half rounds up)."""
    tenths = int((x * 10 + 0.5) // 1)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def stale_tables(latest: dict[str, datetime | None], day: date, policy: Policy) -> set[str]:
    """Streams whose newest row is older than `max_data_lag_days` before the scan's end."""
    since = scan_end(day) - timedelta(days=policy.early_warning.max_data_lag_days + 1)
    return {t for t in STREAMS if latest.get(t) is None or utc(latest[t]) < since}


def _spec(cause: str, policy: Policy) -> tuple[str, str]:
    c = policy.early_warning.causes[cause]
    return c.impact, c.urgency


# ------------------------------------------------------------------------------- the rules


def weekly_counts(events: Iterable[UsageEvent], end: datetime, weeks: int) -> list[int]:
    """Events per week before `end`: index 0 is last week, then the weeks before it."""
    counts = [0] * weeks
    for e in events:
        age = (end - utc(e.ts)) // MICROSECOND
        if 0 < age <= weeks * WEEK_US:
            counts[(age - 1) // WEEK_US] += 1  # week k is [end - 7(k+1) days, end - 7k days)
    return counts


def usage_drop(f: ProductFacts, day: date, policy: Policy) -> Finding | None:
    ew = policy.early_warning
    counts = weekly_counts(f.usage, scan_end(day), ew.baseline_weeks + 1)
    last, baseline = counts[0], counts[1:]
    median = statistics.median(baseline)
    if median < ew.usage_min_baseline or last > median * (1 - ew.usage_drop_ratio):
        return None
    pct = int((100 * (1 - last / median)) // 1)
    evidence = (
        f"{last} events last week, {pct}% below the median of {tenths_text(median)} a week "
        f"over the {ew.baseline_weeks} weeks before"
    )
    facts = {"last_week": last, "baseline_median": median, "drop_pct": pct}
    return Finding(f.account_id, "usage_drop", evidence, *_spec("usage_drop", policy), facts)


def failed_login_burst(f: ProductFacts, day: date, policy: Policy) -> Finding | None:
    ew = policy.early_warning
    end = scan_end(day)
    since = end - timedelta(hours=ew.failed_login_hours)
    failed = [x for x in f.logins if not x.success and since <= utc(x.ts) < end]
    if len(failed) < ew.failed_login_burst:
        return None
    users = len({x.user_id for x in failed})
    evidence = (
        f"{len(failed)} failed logins in the last {ew.failed_login_hours} h, "
        f"by {_plural(users, 'user')}"
    )
    facts = {"failed": len(failed), "users": users}
    return Finding(
        f.account_id, "failed_login_burst", evidence, *_spec("failed_login_burst", policy), facts
    )


def champion_inactive(f: ProductFacts, day: date, policy: Policy) -> Finding | None:
    ew = policy.early_warning
    end = scan_end(day)
    since = end - timedelta(days=ew.history_days)
    last: dict[str, datetime] = {}
    for x in f.logins:
        t = utc(x.ts)
        if x.success and since <= t < end and (x.user_id not in last or t > last[x.user_id]):
            last[x.user_id] = t
    lines = []
    for c in sorted(f.champions, key=lambda c: (c.email, c.user_id)):
        seen = last.get(c.user_id)
        who = f"champion {c.name} ({c.email})"
        if seen is None:
            lines.append(f"{who}: no login in the last {ew.history_days} days")
        elif (days := (day - seen.date()).days) > ew.champion_inactive_days:
            lines.append(f"{who}: last login {seen.date().isoformat()}, {days} days ago")
    if not lines:
        return None
    return Finding(
        f.account_id,
        "champion_inactive",
        "; ".join(lines),
        *_spec("champion_inactive", policy),
        {"champions": len(lines)},
    )


def _worst(severities: Iterable[str]) -> str:
    return max((SEVERITIES.get(s.lower(), "medium") for s in severities), key=LEVELS.index)


def ticket_cluster(f: ProductFacts, day: date, policy: Policy) -> Finding | None:
    ew = policy.early_warning
    end = scan_end(day)
    since = end - timedelta(days=ew.ticket_days)
    by_feature: dict[str, list[Ticket]] = defaultdict(list)
    for t in f.tickets:
        if since <= utc(t.opened_at) < end:
            by_feature[t.feature].append(t)
    hot = [(k, v) for k, v in by_feature.items() if len(v) >= ew.tickets_per_feature]
    if not hot:
        return None
    hot.sort(key=lambda kv: (-len(kv[1]), kv[0]))
    lines = []
    for feature, tickets in hot:
        still_open = sum(1 for t in tickets if t.closed_at is None or utc(t.closed_at) >= end)
        lines.append(
            f"{len(tickets)} tickets on {feature} in {ew.ticket_days} days "
            f"({still_open} still open, highest severity {_worst(t.severity for t in tickets)})"
        )
    impact = _worst(t.severity for _, ts in hot for t in ts)
    urgency = policy.early_warning.causes["ticket_cluster"].urgency
    facts = {"features": [k for k, _ in hot]}
    return Finding(f.account_id, "ticket_cluster", "; ".join(lines), impact, urgency, facts)


def _score_on(health: Iterable[HealthScore], before: date) -> HealthScore | None:
    """The latest score dated before `before` (the last known value then)."""
    known = [h for h in health if h.on < before]
    return max(known, key=lambda h: h.on) if known else None


def health_decline(f: ProductFacts, day: date, policy: Policy) -> Finding | None:
    ew = policy.early_warning
    now = _score_on(f.health, day)
    then = _score_on(f.health, day - timedelta(days=ew.health_lookback_days - 1))
    if now is None or then is None:
        return None
    band_now, band_then = ew.band(now.score), ew.band(then.score)
    rank = ["green", "yellow", "red"]
    if band_now == "green" or rank.index(band_now) <= rank.index(band_then):
        return None
    evidence = (
        f"health {then.score} → {now.score} ({band_then} → {band_now}) between "
        f"{then.on.isoformat()} and {now.on.isoformat()}"
    )
    impact, urgency = ("high", "high") if band_now == "red" else _spec("health_decline", policy)
    facts = {"score": now.score, "band": band_now}
    return Finding(f.account_id, "health_decline", evidence, impact, urgency, facts)


def feature_abandoned(f: ProductFacts, day: date, policy: Policy) -> Finding | None:
    ew = policy.early_warning
    end = scan_end(day)
    cut = end - timedelta(days=ew.abandon_days)
    start = cut - timedelta(days=7 * ew.baseline_weeks)
    before: dict[str, int] = defaultdict(int)
    recent: dict[str, int] = defaultdict(int)
    last_used: dict[str, datetime] = {}
    for e in f.usage:
        t = utc(e.ts)
        if start <= t < cut:
            before[e.feature] += 1
        elif cut <= t < end:
            recent[e.feature] += 1
        if start <= t < end and (e.feature not in last_used or t > last_used[e.feature]):
            last_used[e.feature] = t
    if not recent:
        return None  # nothing used at all: usage_drop's to say, not one feature's
    gone = [
        (k, n / ew.baseline_weeks)
        for k, n in before.items()
        if n / ew.baseline_weeks >= ew.abandon_min_weekly and recent.get(k, 0) == 0
    ]
    if not gone:
        return None
    gone.sort(key=lambda kv: (-kv[1], kv[0]))
    lines = [
        f"{k}: unused for {ew.abandon_days} days (last used "
        f"{last_used[k].date().isoformat()}) after {tenths_text(avg)} events a week"
        for k, avg in gone
    ]
    return Finding(
        f.account_id,
        "feature_abandoned",
        "; ".join(lines),
        *_spec("feature_abandoned", policy),
        {"features": [k for k, _ in gone]},
    )


RULES = {
    "usage_drop": usage_drop,
    "failed_login_burst": failed_login_burst,
    "champion_inactive": champion_inactive,
    "ticket_cluster": ticket_cluster,
    "health_decline": health_decline,
    "feature_abandoned": feature_abandoned,
}


def findings(f: ProductFacts, day: date, policy: Policy, skip: Iterable[str] = ()) -> list[Finding]:
    """Every rule that fires for one account, in the policy's cause order."""
    stale = set(skip)
    out = []
    for cause, rule in RULES.items():
        if RULE_TABLES[cause] in stale:
            continue
        found = rule(f, day, policy)
        if found is not None:
            out.append(found)
    return out


def scan_reference(
    accounts: Iterable[ProductFacts], day: date, policy: Policy, skip: Iterable[str] = ()
) -> list[Finding]:
    """The whole scan, one account at a time (the engine's reference)."""
    skip = set(skip)
    return [x for f in accounts for x in findings(f, day, policy, skip)]
