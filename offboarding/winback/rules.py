"""§10–§11 win-back rules, one account at a time: the reference the nightly engine must match.

Plain functions over plain data, thresholds from the policy. The nightly selection over a
million accounts (`offboarding.winback.selection`) is a vectorised form of exactly these rules;
tests hold the two to the same answers.

An account is reached tonight when all of these hold:
- it was tagged a win-back candidate at close-out, or it churned structurally (bankruptcy,
  closure, acquisition) and the signal is a champion who moved (a lead for the new company);
- it never asked for a clean break, never opted out, and has not been won back already;
- it was not contacted in the last `contact_gap_months` (12): at most one outreach a year;
- a signal about it (its account, its domain, the competitor it left for, or a release tagged
  with its churn reason or product gap) was observed after the churn and within
  `signal_max_age_days`;
- a first contact falls 6–12 months after the churn, unless the signal is strong;
- its owner has capacity tonight (`max_per_owner_per_night`), strongest and newest first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from offboarding.cases.timeline import add_months
from offboarding.domain import COMPETITOR_TYPES, SignalType
from offboarding.policy import Policy


@dataclass(frozen=True)
class CandidateFacts:
    """What the rules need about one churned account (its latest churned case)."""

    account_id: str
    case_id: str
    owner: str
    churned_on: date
    reason: str
    candidate: bool = True
    strategic: bool = False
    domain: str | None = None
    product_gap: str | None = None
    competitor: str | None = None
    opted_out: bool = False
    clean_break: bool = False
    won_back: bool = False
    last_outreach_on: date | None = None


@dataclass(frozen=True)
class SignalFacts:
    """One trigger event, normalised (lower-case domain, competitor and codes; UTC time)."""

    signal_id: str
    type: str
    observed_at: datetime
    account_id: str | None = None
    domain: str | None = None
    competitor: str | None = None
    codes: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Choice:
    """Tonight's outreach for one account and the signal that justifies it."""

    account_id: str
    case_id: str
    owner: str
    strategic: bool
    signal_id: str
    signal_type: str
    observed_at: datetime
    strength: float


def strength(signal_type: str, policy: Policy) -> float:
    try:
        return policy.winback.strengths[signal_type]
    except KeyError:
        raise ValueError(f"unknown win-back signal type {signal_type!r}") from None


def is_structural(c: CandidateFacts, policy: Policy) -> bool:
    return c.reason in policy.winback.structural_reasons


def observed_on(s: SignalFacts) -> date:
    at = s.observed_at if s.observed_at.tzinfo else s.observed_at.replace(tzinfo=UTC)
    return at.astimezone(UTC).date()


def matches(c: CandidateFacts, s: SignalFacts) -> bool:
    """Is the signal about this account? Its most specific subject decides."""
    if s.type == SignalType.feature_shipped and not (
        (c.product_gap is not None and c.product_gap in s.codes) or c.reason in s.codes
    ):
        return False  # a release matters only to those who left for what it fixes
    if s.account_id is not None:
        return s.account_id == c.account_id
    if s.domain is not None:
        return c.domain is not None and s.domain == c.domain
    if s.type in COMPETITOR_TYPES:
        return s.competitor is not None and s.competitor == c.competitor
    return s.type == SignalType.feature_shipped


def account_block(c: CandidateFacts, night: date, policy: Policy) -> str | None:
    """Why this account is reached by no signal tonight, or None."""
    wp = policy.winback
    if c.won_back:
        return "already won back"
    if c.clean_break:
        return "asked for a clean break"
    if c.opted_out:
        return "opted out of win-back contact"
    if not c.candidate and not is_structural(c, policy):
        return "not tagged as a win-back candidate at close-out"
    if c.last_outreach_on is not None and night < add_months(
        c.last_outreach_on, wp.contact_gap_months
    ):
        return (
            f"contacted on {c.last_outreach_on}: at most one outreach per "
            f"{wp.contact_gap_months} months"
        )
    return None


def signal_block(c: CandidateFacts, s: SignalFacts, night: date, policy: Policy) -> str | None:
    """Why this signal does not justify reaching this account tonight, or None."""
    wp = policy.winback
    if s.type not in wp.strengths:
        return f"unknown signal type {s.type!r}"
    if not matches(c, s):
        return "the signal is about another account"
    seen = observed_on(s)
    if seen > night:
        return "observed after tonight"
    if (night - seen).days >= wp.signal_max_age_days:
        return f"older than {wp.signal_max_age_days} days"
    if seen < c.churned_on:
        return "observed before the churn"
    if is_structural(c, policy) and s.type != SignalType.champion_moved:
        return f"structural churn ({c.reason}): only a champion who moved"
    if not c.candidate and s.type != SignalType.champion_moved:
        return "not tagged as a win-back candidate at close-out"
    first_from, first_until = (add_months(c.churned_on, m) for m in wp.reminder_months)
    if (
        c.last_outreach_on is None
        and strength(s.type, policy) < wp.strong_signal
        and not first_from <= night <= first_until
    ):
        low, high = wp.reminder_months
        return f"a first contact is {low}–{high} months after churn unless the signal is strong"
    return None


def _signal_order(s: SignalFacts, policy: Policy) -> tuple:
    """Strongest first, then newest, then by id (a stable tie-break)."""
    return (-strength(s.type, policy), -s.observed_at.timestamp(), s.signal_id)


def best_choice(
    c: CandidateFacts, signals: Iterable[SignalFacts], night: date, policy: Policy
) -> Choice | None:
    """The strongest, newest signal that justifies reaching this account tonight."""
    if account_block(c, night, policy) is not None:
        return None
    allowed = [s for s in signals if signal_block(c, s, night, policy) is None]
    if not allowed:
        return None
    s = min(allowed, key=lambda x: _signal_order(x, policy))
    return Choice(
        account_id=c.account_id,
        case_id=c.case_id,
        owner=c.owner,
        strategic=c.strategic,
        signal_id=s.signal_id,
        signal_type=s.type,
        observed_at=s.observed_at,
        strength=strength(s.type, policy),
    )


def owner_order(ch: Choice) -> tuple:
    return (-ch.strength, -ch.observed_at.timestamp(), ch.account_id)


def apply_owner_cap(choices: Iterable[Choice], policy: Policy) -> list[Choice]:
    """At most N outreaches per owner tonight: the strongest, newest signals first."""
    cap = policy.winback.max_per_owner_per_night
    taken: dict[str, int] = defaultdict(int)
    kept = []
    for ch in sorted(choices, key=owner_order):
        if taken[ch.owner] < cap:
            taken[ch.owner] += 1
            kept.append(ch)
    return kept


def signal_index(signals: Iterable[SignalFacts]) -> dict[tuple[str, str], list[SignalFacts]]:
    """Signals by subject, so each account looks only at the signals that can be about it."""
    index: dict[tuple[str, str], list[SignalFacts]] = defaultdict(list)
    for s in signals:
        if s.account_id is not None:
            index["account", s.account_id].append(s)
        elif s.domain is not None:
            index["domain", s.domain].append(s)
        elif s.type in COMPETITOR_TYPES and s.competitor is not None:
            index["competitor", s.competitor].append(s)
        elif s.type == SignalType.feature_shipped:
            for code in dict.fromkeys(s.codes):
                index["code", code].append(s)
    return index


def select_reference(
    candidates: Iterable[CandidateFacts],
    signals: Iterable[SignalFacts],
    night: date,
    policy: Policy,
) -> list[Choice]:
    """Tonight's outreach by the rules, one account at a time (the engine's reference)."""
    index = signal_index(signals)
    chosen = []
    for c in candidates:
        keys = [("account", c.account_id), ("code", c.reason)]
        if c.domain:
            keys.append(("domain", c.domain))
        if c.competitor:
            keys.append(("competitor", c.competitor))
        if c.product_gap:
            keys.append(("code", c.product_gap))
        pool = {s.signal_id: s for k in keys for s in index.get(k, ())}
        ch = best_choice(c, pool.values(), night, policy)
        if ch is not None:
            chosen.append(ch)
    return apply_owner_cap(chosen, policy)


def explain(signal_type: str, reason: str, details: dict, product_gap: str | None = None) -> str:
    """The reason for reaching out, in words an owner can repeat to the customer."""
    d = details or {}
    if signal_type == SignalType.feature_shipped:
        what = d.get("feature") or product_gap or reason
        return f"we shipped {what!s}, behind their churn reason ({reason})"
    if signal_type == SignalType.champion_moved:
        who = d.get("person") or "a former champion"
        return f"{who} moved to {d.get('new_company') or 'a new company'}: a lead for it"
    if signal_type == SignalType.competitor_acquired:
        return f"{d.get('competitor') or 'their new solution'} was acquired"
    if signal_type == SignalType.competitor_price_change:
        return f"{d.get('competitor') or 'their new solution'} changed its price"
    if signal_type == SignalType.stack_pain_post:
        return "they posted about problems with their current stack"
    if signal_type == SignalType.growth_phase:
        return f"growth phase ({d.get('kind') or 'funding or hiring'})"
    if signal_type == SignalType.season_returns:
        return f"their season ({d.get('season') or 'the season they came for'}) begins again"
    return signal_type
