"""Every win-back rule (§10–§11) as a table, checked on the per-account reference rules AND
on the vectorised nightly engine: both must select exactly the same."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from offboarding.policy import Policy, WinbackPolicy
from offboarding.winback.rules import (
    CandidateFacts,
    SignalFacts,
    account_block,
    apply_owner_cap,
    best_choice,
    select_reference,
    signal_block,
)
from offboarding.winback.selection import CANDIDATE_SCHEMA, select_outreach
from offboarding.winback.signals.model import SIGNAL_SCHEMA

NIGHT = date(2026, 6, 15)
POLICY = Policy()
BASE = CandidateFacts(
    account_id="A1",
    case_id="C1",
    owner="olga.owner@example.com",
    churned_on=date(2025, 10, 1),  # 8.5 months ago: inside the 6–12 month first-contact window
    reason="product_gap",
    product_gap="sso",
    candidate=True,
    domain="a1.example",
)
SIG = SignalFacts(
    signal_id="S1",
    type="growth_phase",  # 0.5: a weak signal
    observed_at=datetime(2026, 6, 10, 12, tzinfo=UTC),
    account_id="A1",
)


def at(d: date, hour: int = 12) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def candidates_frame(cands: list[CandidateFacts]) -> pl.DataFrame:
    return pl.DataFrame([asdict(c) for c in cands], schema=CANDIDATE_SCHEMA)


def signals_frame(signals: list[SignalFacts]) -> pl.DataFrame:
    rows = [
        {**asdict(s), "codes": list(s.codes), "details": "{}", "source": s.source or "test"}
        for s in signals
    ]
    return pl.DataFrame(rows, schema=SIGNAL_SCHEMA)


def both(
    cands: list[CandidateFacts], signals: list[SignalFacts], night=NIGHT, policy=POLICY
) -> set[tuple[str, str]]:
    """Run the reference and the engine; assert they agree; return (account, signal) pairs."""
    ref = {(c.account_id, c.signal_id) for c in select_reference(cands, signals, night, policy)}
    sel = select_outreach(candidates_frame(cands), signals_frame(signals), night, policy)
    eng = set(zip(sel["account_id"].to_list(), sel["signal_id"].to_list(), strict=True))
    assert eng == ref, f"engine {eng} != reference {ref}"
    return ref


# (test id, candidate overrides, signal overrides, None if selected else why it is blocked)
RULES = [
    ("baseline: candidate, weak signal, inside the window", {}, {}, None),
    ("only candidates tagged at close-out", {"candidate": False}, {}, "not tagged"),
    ("opted out: never", {"opted_out": True}, {}, "opted out"),
    ("clean break: never", {"clean_break": True}, {}, "clean break"),
    ("already won back", {"won_back": True}, {}, "won back"),
    (
        "structural churn: not through a growth signal",
        {"reason": "bankruptcy", "candidate": False, "product_gap": None},
        {},
        "structural",
    ),
    (
        "structural churn: not even through our strongest signal",
        {"reason": "business_closure", "candidate": False, "product_gap": None},
        {"type": "feature_shipped", "codes": ("business_closure",)},
        "structural",
    ),
    (
        "structural churn: a champion who moved is a lead",
        {"reason": "bankruptcy", "candidate": False, "product_gap": None},
        {"type": "champion_moved"},
        None,
    ),
    (
        "structural churn tagged by hand: still only a champion",
        {"reason": "acquisition", "candidate": True, "product_gap": None},
        {"type": "competitor_acquired"},
        "structural",
    ),
    (
        "not tagged, not structural: no champion lead either",
        {"candidate": False},
        {"type": "champion_moved"},
        "not tagged",
    ),
    (
        "opted out: no champion lead either",
        {"opted_out": True, "reason": "bankruptcy", "candidate": False},
        {"type": "champion_moved"},
        "opted out",
    ),
    (
        "first contact too early (2 months) on a weak signal",
        {"churned_on": date(2026, 4, 15)},
        {},
        "first contact",
    ),
    (
        "first contact early on a strong signal",
        {"churned_on": date(2026, 4, 15)},
        {"type": "competitor_acquired"},
        None,
    ),
    (
        "strong means at the threshold (season_returns 0.7)",
        {"churned_on": date(2026, 4, 15)},
        {"type": "season_returns"},
        None,
    ),
    (
        "just below strong (competitor_price_change 0.6)",
        {"churned_on": date(2026, 4, 15)},
        {"type": "competitor_price_change"},
        "first contact",
    ),
    ("window opens at exactly 6 months", {"churned_on": date(2025, 12, 15)}, {}, None),
    (
        "one day before 6 months",
        {"churned_on": date(2025, 12, 16)},
        {},
        "first contact",
    ),
    ("window closes at exactly 12 months", {"churned_on": date(2025, 6, 15)}, {}, None),
    (
        "a weak first contact after 12 months is too late",
        {"churned_on": date(2025, 6, 14)},
        {},
        "first contact",
    ),
    (
        "a strong first contact after 12 months",
        {"churned_on": date(2024, 1, 1)},
        {"type": "feature_shipped", "codes": ("sso",)},
        None,
    ),
    (
        "contacted 11 months ago: at most one a year",
        {"churned_on": date(2024, 1, 1), "last_outreach_on": date(2025, 7, 16)},
        {"type": "feature_shipped", "codes": ("sso",)},
        "contacted on",
    ),
    (
        "contacted exactly 12 months ago: allowed, window no longer applies",
        {"churned_on": date(2024, 1, 1), "last_outreach_on": date(2025, 6, 15)},
        {},
        None,
    ),
    (
        "signal 30 days old is too old",
        {},
        {"observed_at": at(NIGHT - timedelta(days=30))},
        "older than",
    ),
    ("signal 29 days old", {}, {"observed_at": at(NIGHT - timedelta(days=29), 0)}, None),
    (
        "signal observed after tonight",
        {},
        {"observed_at": at(NIGHT + timedelta(days=1), 0)},
        "after tonight",
    ),
    ("signal late tonight counts", {}, {"observed_at": at(NIGHT, 23)}, None),
    (
        "signal from before the churn",
        {"churned_on": date(2026, 6, 12), "last_outreach_on": None},
        {"type": "competitor_acquired", "observed_at": at(date(2026, 6, 11))},
        "before the churn",
    ),
    ("signal on the company domain", {}, {"account_id": None, "domain": "a1.example"}, None),
    (
        "signal on another domain",
        {},
        {"account_id": None, "domain": "other.example"},
        "another account",
    ),
    ("signal on another account", {}, {"account_id": "A2"}, "another account"),
    (
        "competitor news reaches those who left for it",
        {"reason": "competitor", "product_gap": None, "competitor": "initrode"},
        {"type": "competitor_acquired", "account_id": None, "competitor": "initrode"},
        None,
    ),
    (
        "competitor news about another competitor",
        {"reason": "competitor", "product_gap": None, "competitor": "initrode"},
        {"type": "competitor_acquired", "account_id": None, "competitor": "hooli"},
        "another account",
    ),
    (
        "a release that ships their product gap",
        {},
        {"type": "feature_shipped", "account_id": None, "codes": ("audit-log", "sso")},
        None,
    ),
    (
        "a release that addresses their churn reason",
        {"reason": "cost", "product_gap": None},
        {"type": "feature_shipped", "account_id": None, "codes": ("cost",)},
        None,
    ),
    (
        "a release about something else",
        {},
        {"type": "feature_shipped", "account_id": None, "codes": ("webhooks",)},
        "another account",
    ),
    (
        "a release named for them but about something else",
        {},
        {"type": "feature_shipped", "codes": ("webhooks",)},
        "another account",
    ),
]


@pytest.mark.parametrize(
    ("cand", "sig", "blocked"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rule(cand: dict, sig: dict, blocked: str | None) -> None:
    c, s = replace(BASE, **cand), replace(SIG, **sig)
    selected = both([c], [s])
    why = account_block(c, NIGHT, POLICY) or signal_block(c, s, NIGHT, POLICY)
    if blocked is None:
        assert selected == {(c.account_id, s.signal_id)}
        assert why is None
    else:
        assert selected == set()
        assert why is not None and blocked in why


def test_thresholds_come_from_the_policy() -> None:
    """The same facts, a different policy file, a different answer."""
    early = replace(BASE, churned_on=date(2026, 3, 15))  # 3 months ago
    assert both([early], [SIG]) == set()
    looser = Policy(winback=WinbackPolicy(reminder_months=(3, 9)))
    assert both([early], [SIG], policy=looser) == {("A1", "S1")}
    stricter = Policy(winback=WinbackPolicy(strong_signal=0.95))
    strong_early = replace(SIG, type="competitor_acquired")
    assert both([early], [strong_early]) == {("A1", "S1")}
    assert both([early], [strong_early], policy=stricter) == set()
    gap = Policy(winback=WinbackPolicy(contact_gap_months=6))
    touched = replace(BASE, last_outreach_on=date(2025, 12, 15))
    assert both([touched], [SIG]) == set()
    assert both([touched], [SIG], policy=gap) == {("A1", "S1")}
    fresh = Policy(winback=WinbackPolicy(signal_max_age_days=3))
    assert both([BASE], [SIG], policy=fresh) == set()  # observed five days ago


def test_strongest_then_newest_signal_wins() -> None:
    signals = [
        replace(SIG, signal_id="weak-new", type="stack_pain_post", observed_at=at(NIGHT)),
        replace(
            SIG, signal_id="strong-old", type="season_returns", observed_at=at(date(2026, 6, 1))
        ),
        replace(
            SIG, signal_id="strong-new", type="season_returns", observed_at=at(date(2026, 6, 9))
        ),
    ]
    assert both([BASE], signals) == {("A1", "strong-new")}
    tie = [replace(SIG, signal_id=i, observed_at=at(date(2026, 6, 9))) for i in ("S9", "S3", "S5")]
    assert both([BASE], tie) == {("A1", "S3")}


def _owner_pool(n: int, owner: str, prefix: str) -> tuple[list, list]:
    cands = [
        replace(BASE, account_id=f"{prefix}{i}", case_id=f"C{prefix}{i}", owner=owner)
        for i in range(n)
    ]
    # account i's signal is i hours older than account 0's: the order of recency is the index
    sigs = [
        replace(
            SIG,
            signal_id=f"S{prefix}{i}",
            account_id=f"{prefix}{i}",
            observed_at=at(NIGHT) - timedelta(hours=i),
        )
        for i in range(n)
    ]
    return cands, sigs


def test_owner_capacity_per_night_takes_the_strongest_and_newest() -> None:
    cands, sigs = _owner_pool(8, "olga.owner@example.com", "A")
    sigs[7] = replace(sigs[7], type="season_returns")  # the oldest, but the strongest
    other_c, other_s = _owner_pool(2, "otto.owner@example.com", "B")
    chosen = both(cands + other_c, sigs + other_s)
    olga = sorted(a for a, _ in chosen if a.startswith("A"))
    assert olga == ["A0", "A1", "A2", "A3", "A7"]  # cap 5: A7 (strong), then the 4 newest
    assert {a for a, _ in chosen if a.startswith("B")} == {"B0", "B1"}  # another owner's own
    assert POLICY.winback.max_per_owner_per_night == 5


def test_cap_across_nights_and_opt_out() -> None:
    """Night after night over the same signals: one outreach per account per 12 months, the
    owner's capacity moves on to the next accounts, and an opt-out is final."""
    cands, sigs = _owner_pool(7, "olga.owner@example.com", "A")
    contacted: dict[str, date] = {}

    def night(d: date, people: list[CandidateFacts], signals: list[SignalFacts]) -> set[str]:
        people = [replace(c, last_outreach_on=contacted.get(c.account_id)) for c in people]
        chosen = {a for a, _ in both(people, signals, night=d)}
        contacted.update(dict.fromkeys(chosen, d))
        return chosen

    first = night(NIGHT, cands, sigs)
    assert first == {"A0", "A1", "A2", "A3", "A4"}
    second = night(NIGHT + timedelta(days=1), cands, sigs)
    assert second == {"A5", "A6"}  # the same signals do not reach A0–A4 again
    assert night(NIGHT + timedelta(days=2), cands, sigs) == set()
    # eleven months on, with fresh signals for everyone: still nobody
    later = NIGHT + timedelta(days=330)
    fresh = [replace(s, observed_at=at(later)) for s in sigs]
    assert night(later, cands, fresh) == set()
    # a year on: A0–A4 again, except A2, who opted out meanwhile
    year = date(2027, 6, 15)
    fresh = [replace(s, observed_at=at(year) - timedelta(hours=i)) for i, s in enumerate(sigs)]
    cands = [replace(c, opted_out=c.account_id == "A2") for c in cands]
    assert night(year, cands, fresh) == {"A0", "A1", "A3", "A4"}


def test_owner_cap_counts_only_allowed_choices() -> None:
    ch = best_choice(BASE, [SIG], NIGHT, POLICY)
    assert ch is not None
    many = [replace(ch, account_id=f"A{i}") for i in range(9)]
    assert len(apply_owner_cap(many, POLICY)) == 5
    zero = Policy(winback=WinbackPolicy(max_per_owner_per_night=0))
    assert apply_owner_cap(many, zero) == []


def test_nobody_and_nothing() -> None:
    """An empty night (no churned accounts, or no signals) selects nobody, without error."""
    assert both([], []) == set()
    assert both([BASE], []) == set()
    assert both([], [SIG]) == set()
