"""§14 early-warning rules: one table per rule, at and around its threshold, with the evidence
each fired rule names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from offboarding.early_warning.rules import (
    findings,
    scan_reference,
    stale_tables,
    tenths_text,
    weekly_counts,
)
from offboarding.policy import Policy
from tests.unit.early_warning.factories import (
    DAY,
    END,
    Champion,
    HealthScore,
    Login,
    Ticket,
    UsageEvent,
    at,
    facts,
    weekly_usage,
)

POLICY = Policy()


def fired(f, policy=POLICY, skip=()):
    return {x.cause: x for x in findings(f, DAY, policy, skip)}


# --- usage drop: last week against the median of the four before -------------------------


@pytest.mark.parametrize(
    ("counts", "fires", "evidence"),
    [
        # median 100: 60 is exactly 40 % below -> fires; 61 is not
        ([60, 100, 100, 100, 100], True, "60 events last week, 40% below the median of 100 a "
         "week over the 4 weeks before"),
        ([61, 100, 100, 100, 100], False, None),
        # the account's own baseline: a small but steady account is judged by its own median
        ([30, 50, 60, 55, 70], True, "30 events last week, 47% below the median of 57.5 a "
         "week over the 4 weeks before"),
        # too little use to judge (median below 50 events a week)
        ([0, 40, 45, 48, 49], False, None),
        # one busy baseline week does not move the median
        ([50, 90, 90, 400, 90], True, "50 events last week, 44% below the median of 90 a "
         "week over the 4 weeks before"),
        ([0, 0, 0, 0, 0], False, None),
        ([120, 100, 100, 100, 100], False, None),
    ],
)  # fmt: skip
def test_usage_drop(counts, fires, evidence):
    got = fired(facts(usage=weekly_usage(counts))).get("usage_drop")
    assert (got is not None) is fires
    if fires:
        assert got.evidence == evidence
        assert (got.impact, got.urgency) == ("high", "medium")


def test_usage_drop_threshold_from_policy():
    policy = Policy.model_validate({"early_warning": {"usage_drop_ratio": 0.5}})
    f = facts(usage=weekly_usage([60, 100, 100, 100, 100]))
    assert "usage_drop" in fired(f)
    assert "usage_drop" not in fired(f, policy)


def test_weeks_are_counted_back_from_the_scan_day():
    events = [
        UsageEvent(END - timedelta(microseconds=1), "x"),  # the last moment of yesterday: week 0
        UsageEvent(END - timedelta(days=7), "x"),  # exactly a week before: still week 0
        UsageEvent(END - timedelta(days=7, microseconds=1), "x"),  # week 1
        UsageEvent(END, "x"),  # the scan's own day: not seen yet
    ]
    assert weekly_counts(events, END, 5) == [2, 1, 0, 0, 0]


# --- failed logins -------------------------------------------------------------------------


def _failed(n: int, hours_before: float, users: int = 1) -> list[Login]:
    return [Login(END - timedelta(hours=hours_before), f"u{i % users}", False) for i in range(n)]


@pytest.mark.parametrize(
    ("logins", "fires", "evidence"),
    [
        (_failed(5, 10, users=3), True, "5 failed logins in the last 72 h, by 3 users"),
        (_failed(9, 71.9), True, "9 failed logins in the last 72 h, by 1 user"),
        (_failed(4, 10), False, None),
        (_failed(5, 72.1), False, None),  # outside the window
        ([Login(at(1), "u1", True)] * 20, False, None),  # successful logins are no burst
    ],
)
def test_failed_login_burst(logins, fires, evidence):
    got = fired(facts(logins=logins)).get("failed_login_burst")
    assert (got is not None) is fires
    if fires:
        assert got.evidence == evidence


# --- champion inactive ---------------------------------------------------------------------

BILL = Champion("u1", "Bill Lumbergh", "bill@initech.example", "VP")
PETER = Champion("u2", "Peter Gibbons", "peter@initech.example", "admin")


@pytest.mark.parametrize(
    ("logins", "fires", "evidence"),
    [
        ([Login(at(7), "u1", True)], False, None),  # 7 days ago: not yet more than 7
        ([Login(at(8), "u1", True)], True, "champion Bill Lumbergh (bill@initech.example): "
         "last login 2026-11-29, 8 days ago"),
        ([Login(at(9), "u1", True), Login(at(1), "u1", False)], True,
         "champion Bill Lumbergh (bill@initech.example): last login 2026-11-28, 9 days ago"),
        ([], True, "champion Bill Lumbergh (bill@initech.example): no login in the last 42 "
         "days"),
        ([Login(at(50), "u1", True)], True, "champion Bill Lumbergh (bill@initech.example): "
         "no login in the last 42 days"),
        ([Login(at(1), "u1", True)], False, None),
    ],
)  # fmt: skip
def test_champion_inactive(logins, fires, evidence):
    got = fired(facts(logins=logins, champions=[BILL])).get("champion_inactive")
    assert (got is not None) is fires
    if fires:
        assert got.evidence == evidence


def test_champion_inactive_names_only_the_inactive_champions():
    f = facts(logins=[Login(at(10), "u1", True), Login(at(2), "u2", True)], champions=[PETER, BILL])
    got = fired(f)["champion_inactive"]
    assert got.evidence == (
        "champion Bill Lumbergh (bill@initech.example): last login 2026-11-27, 10 days ago"
    )


def test_no_champion_no_finding():
    assert "champion_inactive" not in fired(facts(logins=[]))


# --- tickets on one feature ----------------------------------------------------------------


def _tickets(n: int, feature: str, days_before: int = 2, severity: str = "medium", closed=False):
    return [
        Ticket(f"T{feature}{i}", at(days_before), feature, severity,
               at(days_before) + timedelta(hours=2) if closed and i == 0 else None)
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("tickets", "fires", "evidence", "impact"),
    [
        (_tickets(4, "reports", severity="high", closed=True), True,
         "4 tickets on reports in 7 days (3 still open, highest severity high)", "high"),
        (_tickets(3, "reports"), False, None, None),
        (_tickets(2, "reports") + _tickets(2, "editor"), False, None, None),  # per feature
        (_tickets(4, "reports", days_before=8), False, None, None),  # older than 7 days
        (_tickets(5, "api", severity="critical") + _tickets(4, "reports"), True,
         "5 tickets on api in 7 days (5 still open, highest severity critical); 4 tickets on "
         "reports in 7 days (4 still open, highest severity medium)", "critical"),
    ],
)  # fmt: skip
def test_ticket_cluster(tickets, fires, evidence, impact):
    got = fired(facts(tickets=tickets)).get("ticket_cluster")
    assert (got is not None) is fires
    if fires:
        assert got.evidence == evidence
        assert (got.impact, got.urgency) == (impact, "high")


# --- health falling to yellow or red -------------------------------------------------------


def _health(then: int, now: int, then_days: int = 35, now_days: int = 3):
    return [
        HealthScore(DAY - timedelta(days=then_days), then),
        HealthScore(DAY - timedelta(days=now_days), now),
    ]


@pytest.mark.parametrize(
    ("health", "fires", "evidence", "impact"),
    [
        (_health(75, 55), True, "health 75 → 55 (green → yellow) between 2026-11-02 and "
         "2026-12-04", "medium"),
        (_health(55, 30), True, "health 55 → 30 (yellow → red) between 2026-11-02 and "
         "2026-12-04", "high"),
        (_health(80, 39), True, "health 80 → 39 (green → red) between 2026-11-02 and "
         "2026-12-04", "high"),
        (_health(55, 45), False, None, None),  # yellow all along: not falling
        (_health(30, 20), False, None, None),  # red all along
        (_health(75, 70), False, None, None),  # still green (70 is green)
        (_health(40, 39), True, "health 40 → 39 (yellow → red) between 2026-11-02 and "
         "2026-12-04", "high"),
        (_health(75, 55, then_days=20), False, None, None),  # nothing known 30 days ago
        ([HealthScore(DAY, 10), *_health(75, 72)], False, None, None),  # today's: not yet
    ],
)  # fmt: skip
def test_health_decline(health, fires, evidence, impact):
    got = fired(facts(health=health)).get("health_decline")
    assert (got is not None) is fires
    if fires:
        assert got.evidence == evidence
        assert got.impact == impact


# --- a feature abandoned -------------------------------------------------------------------


def _feature_usage(weekly_before: int, recent: int, feature: str = "workflows", other=True):
    """`weekly_before` events a week in the four baseline weeks (days 15–42), `recent` in the
    last 14 days, and steady use of another feature throughout."""
    out = []
    for week in range(4):
        out += [UsageEvent(at(15 + 7 * week + i % 7), feature) for i in range(weekly_before)]
    out += [UsageEvent(at(1 + i % 14), feature) for i in range(recent)]
    if other:
        out += [UsageEvent(at(1 + i % 42), "editor") for i in range(200)]
    return out


@pytest.mark.parametrize(
    ("usage", "fires", "evidence"),
    [
        (_feature_usage(9, 0), True, "workflows: unused for 14 days (last used 2026-11-22) "
         "after 9 events a week"),
        (_feature_usage(9, 1), False, None),
        (_feature_usage(4, 0), False, None),  # too little use before to call it abandoned
        (_feature_usage(9, 0, other=False), False, None),  # nothing used: usage_drop's case
    ],
)  # fmt: skip
def test_feature_abandoned(usage, fires, evidence):
    got = fired(facts(usage=usage)).get("feature_abandoned")
    assert (got is not None) is fires
    if fires:
        assert got.evidence == evidence
        assert (got.impact, got.urgency) == ("medium", "low")


# --- the scan as a whole -------------------------------------------------------------------


def test_each_fired_rule_names_its_evidence_and_all_six_can_fire_at_once():
    usage = _feature_usage(9, 0) + weekly_usage([20, 300, 300, 300, 300], "editor")
    f = facts(
        usage=usage,
        logins=_failed(6, 5, users=2) + [Login(at(20), "u1", True)],
        champions=[BILL],
        tickets=_tickets(4, "reports"),
        health=_health(80, 50),
    )
    got = fired(f)
    assert list(got) == [
        "usage_drop",
        "failed_login_burst",
        "champion_inactive",
        "ticket_cluster",
        "health_decline",
        "feature_abandoned",
    ]
    assert all(x.evidence and x.account_id == "A1" for x in got.values())


def test_stale_streams_skip_their_rules():
    f = facts(usage=weekly_usage([0, 100, 100, 100, 100]), logins=_failed(6, 5))
    assert {"usage_drop", "failed_login_burst"} <= set(fired(f))
    assert set(fired(f, skip={"usage_events"})) == {"failed_login_burst"}
    latest = {"usage_events": END - timedelta(days=3, seconds=1), "logins": END - timedelta(days=1)}
    assert stale_tables(latest, DAY, POLICY) == {"usage_events"}
    assert stale_tables({}, DAY, POLICY) == {"usage_events", "logins"}
    assert scan_reference([f], DAY, POLICY, skip={"usage_events", "logins"}) == []


@pytest.mark.parametrize(
    ("x", "text"), [(100, "100"), (57.5, "57.5"), (38.25, "38.3"), (12.04, "12"), (0.96, "1")]
)
def test_numbers_in_evidence(x, text):
    assert tenths_text(x) == text
