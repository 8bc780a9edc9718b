"""The retention karte (seed 003): usage trend, tenure band, the most specific pattern with its
talk track and offer, seasonal subscribers not held back, and the rows people read."""

from __future__ import annotations

from datetime import date

import pytest

from offboarding.early_warning.karte import (
    KarteFacts,
    build_karte,
    karte_markdown,
    match_pattern,
    sparkline,
    tenure_band,
    usage_trend,
)
from offboarding.policy import Policy
from tests.unit.conftest import make_account

POLICY = Policy()
AS_OF = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("weekly", "trend"),
    [
        ([100] * 12, "steady"),
        ([100] * 8 + [120] * 4, "growing"),  # +20 %
        ([100] * 8 + [114] * 4, "steady"),
        ([100] * 8 + [75] * 4, "declining"),  # -25 %
        ([100] * 8 + [76] * 4, "steady"),
        ([100] * 8 + [0] * 4, "inactive"),
        ([0] * 8 + [5] * 4, "growing"),  # a new account ramping up
        ([], "inactive"),
    ],
)
def test_usage_trend(weekly, trend):
    assert usage_trend(weekly, POLICY) == trend


def test_sparkline():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([10, 10, 5, 0]) == "██▅▁"
    assert sparkline([0, 0]) == "▁▁"


@pytest.mark.parametrize(("years", "band"), [(0.5, "new"), (1.0, "established"), (3.0, "long")])
def test_tenure_band(years, band):
    assert tenure_band(years, POLICY) == band


@pytest.mark.parametrize(
    ("segment", "tenure", "reason", "usage", "seasonal", "pattern"),
    [
        ("enterprise", "long", "outcome", "steady", False, "enterprise, long tenure, outcome"),
        ("enterprise", "new", "outcome", "steady", False, "default"),
        ("enterprise", "new", "product_gap", "steady", False, "enterprise, product gap"),
        ("mid-market", "long", None, "declining", False, "mid-market, declining usage"),
        ("mid-market", "long", "cost", "declining", False, "mid-market, declining usage"),  # tie
        ("smb", "established", "cost", "steady", False, "SMB, cost"),
        ("smb", "new", "misunderstanding", "steady", False, "new customer, misunderstanding"),
        ("smb", "long", "experience", "steady", False, "long tenure, experience"),
        ("smb", "long", "product_gap", "steady", False, "product gap"),
        ("enterprise", "long", "outcome", "steady", True, "seasonal subscriber"),
        ("smb", "new", None, "inactive", True, "seasonal subscriber"),
    ],
)
def test_most_specific_pattern_wins(segment, tenure, reason, usage, seasonal, pattern):
    assert match_pattern(segment, tenure, reason, usage, seasonal, POLICY).name == pattern


def test_patterns_come_from_the_policy_file():
    policy = Policy.model_validate(
        {"karte": {"patterns": [{"name": "only", "talk_track": "t", "offer": "o"}]}}
    )
    assert match_pattern("smb", "new", "cost", "steady", False, policy).name == "only"


def test_seasonal_subscriber_is_not_held_back():
    account = make_account(seasonal=True, season="grand slams", arr=200_000)
    k = build_karte(KarteFacts(account=account, as_of=AS_OF, weekly_usage=(5,) * 12), POLICY)
    assert k.seasonal and k.pattern.hold_back is False
    assert k.pattern.name == "seasonal subscriber"
    rows = dict(k.rows())
    assert rows["Note"] == (
        "Seasonal subscriber: don't hold back — invite them again when their season returns "
        "(grand slams); no save attempt"
    )
    assert rows["Offer"] == "Don't hold back: invite them again when their season returns."


def test_the_karte_reads_the_case_reason_first_then_the_most_pressing_episode():
    account = make_account(contract_start=date(2019, 1, 1), segment="smb")
    episode = {"cause": "ticket_cluster", "priority": "high", "latest_evidence": "4 tickets"}
    facts = KarteFacts(account=account, as_of=AS_OF, weekly_usage=(100,) * 8 + (60,) * 4,
                       open_episodes=(episode,))  # fmt: skip
    k = build_karte(facts, POLICY)
    assert (k.reason, k.usage_trend, k.tenure) == ("experience", "declining", "long")
    assert k.pattern.name == "long tenure, experience"
    with_case = KarteFacts(**{**facts.__dict__, "case_reason": "cost"})
    assert build_karte(with_case, POLICY).pattern.name == "SMB, cost"


def test_rows_name_everything_a_caller_needs():
    account = make_account(contract_start=date(2024, 1, 1))
    facts = KarteFacts(
        account=account,
        as_of=AS_OF,
        weekly_usage=(3, 2, 1, 0),
        open_episodes=({"cause": "usage_drop", "priority": "medium", "latest_evidence": "x"},),
        recent_tickets=({"ticket_id": "T1", "opened_on": "2026-12-01", "feature": "api",
                         "severity": "high", "status": "open"},),
        save_attempts=({"case_id": "C-1", "number": 1, "outcome": "saved", "offered": "a pause"},),
        similar_reasons=(("cost", 3), ("product_gap", 1)),
        health=41,
        renewal_on=date(2027, 1, 31),
    )  # fmt: skip
    rows = dict(build_karte(facts, POLICY).rows())
    assert (
        rows["Tenure and plan"]
        == "2.9 years (established); mid-market, monthly billing, ARR 20,000 USD"
    )
    assert rows["Usage, last 4 weeks"] == "█▆▃▁  growing"
    assert rows["Open at-risk episodes"] == "usage_drop (medium): x"
    assert rows["Recent tickets"] == "2026-12-01 api (high, open)"
    assert rows["Earlier save attempts"] == "C-1 #1: saved (offered a pause)"
    assert rows["Similar churned accounts said"] == "cost ×3, product_gap ×1"
    assert (rows["Health"], rows["Renewal"]) == ("41", "2027-01-31")
    md = karte_markdown(list(rows.items()))
    assert md.startswith("### Retention karte") and "| Offer |" in md
