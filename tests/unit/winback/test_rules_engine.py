"""The vectorised nightly engine selects exactly what the per-account rules select, over
generated populations with every kind of signal, several nights and several policies."""

from __future__ import annotations

from datetime import date

import pytest

from offboarding.policy import Policy, WinbackPolicy
from offboarding.winback.rules import select_reference
from offboarding.winback.sample.population import generate
from offboarding.winback.selection import candidate_facts, select_outreach, signal_facts

POLICIES = {
    "playbook": Policy(),
    "no cap": Policy(winback=WinbackPolicy(max_per_owner_per_night=1000)),
    "tight": Policy(
        winback=WinbackPolicy(
            max_per_owner_per_night=2,
            signal_max_age_days=90,
            strong_signal=0.85,
            reminder_months=(3, 9),
            contact_gap_months=6,
        )
    ),
}


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
@pytest.mark.parametrize(
    ("seed", "night"),
    [(1, date(2026, 6, 15)), (2, date(2025, 2, 28)), (3, date(2024, 8, 31))],
)
def test_engine_matches_the_rules(seed: int, night: date, policy: Policy) -> None:
    sample = generate(1_500, 20_000, night, seed=seed, owners=30)
    selected = select_outreach(sample.candidates, sample.signals, night, policy)
    reference = select_reference(
        candidate_facts(sample.candidates), signal_facts(sample.signals), night, policy
    )
    assert selected.height == len(reference) > 0
    got = selected.select("account_id", "signal_id", "owner", "strength").rows()
    want = [(c.account_id, c.signal_id, c.owner, c.strength) for c in reference]
    assert sorted(got) == sorted(want)
    # one outreach per account, at most the cap per owner
    assert selected["account_id"].is_unique().all()
    assert selected["owner"].value_counts()["count"].max() <= policy.winback.max_per_owner_per_night


def test_every_signal_type_is_exercised() -> None:
    """The generated data reaches accounts through every type, so the comparison means it."""
    night = date(2026, 6, 15)
    sample = generate(3_000, 40_000, night, seed=4, owners=30)
    selected = select_outreach(sample.candidates, sample.signals, night, POLICIES["no cap"])
    assert set(selected["type"].unique()) == {
        "competitor_acquired",
        "competitor_price_change",
        "stack_pain_post",
        "growth_phase",
        "feature_shipped",
        "champion_moved",
        "season_returns",
    }
