"""§14 priority: impact × urgency, then business context, then segment response targets; the
queue's order. Seed 004's example is the first test."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from offboarding.early_warning.priority import (
    AccountContext,
    context_points,
    level_of,
    priority,
    rank_key,
    ranked,
    response_hours,
)
from offboarding.policy import Policy

POLICY = Policy()
DAY = date(2026, 12, 7)


def test_seed_004_same_bug_different_business_priority():
    """Customer A: $500K, renews next month, health yellow -> high. Customer B: $15K,
    renewed last quarter, health green -> medium. The same bug: blocks report export."""
    bug = ("high", "medium")  # painful workaround; needed soon, not tomorrow
    a = AccountContext("A", "enterprise", 500_000, DAY + timedelta(days=30), health=55)
    b = AccountContext("B", "smb", 15_000, DAY + timedelta(days=365 - 80), health=85)
    pa, pb = priority(*bug, a, DAY, POLICY), priority(*bug, b, DAY, POLICY)
    assert (pa.level, pb.level) == ("high", "medium")
    assert pa.base == pb.base == 6
    assert pa.reasons == ("ARR 500,000", "renews in 30 days", "health yellow")
    assert pb.reasons == ()
    assert pa.respond_within_hours == 4  # enterprise SLA for high
    assert pb.respond_within_hours == 72  # SMB SLA for medium
    order = ranked([("B", "ticket_cluster", *bug), ("A", "ticket_cluster", *bug)],
                   {"A": a, "B": b}, DAY, POLICY)  # fmt: skip
    assert [x[0] for x in order] == ["A", "B"]


@pytest.mark.parametrize(
    ("impact", "urgency", "base", "level"),
    [
        ("critical", "critical", 16, "high"),
        ("critical", "high", 12, "high"),
        ("high", "high", 9, "medium"),
        ("high", "medium", 6, "medium"),
        ("medium", "high", 6, "medium"),
        ("medium", "medium", 4, "low"),
        ("low", "critical", 4, "low"),
        ("low", "low", 1, "low"),
    ],
)
def test_impact_times_urgency(impact, urgency, base, level):
    p = priority(impact, urgency, AccountContext("X"), DAY, POLICY)
    assert (p.base, p.points, p.level) == (base, 0, level)


@pytest.mark.parametrize(
    ("ctx", "points"),
    [
        (AccountContext("X", arr=100_000), 2),
        (AccountContext("X", arr=99_999), 1),
        (AccountContext("X", arr=25_000), 1),
        (AccountContext("X", arr=24_999), 0),
        (AccountContext("X", renewal_on=DAY + timedelta(days=45)), 2),
        (AccountContext("X", renewal_on=DAY + timedelta(days=46)), 1),
        (AccountContext("X", renewal_on=DAY + timedelta(days=90)), 1),
        (AccountContext("X", renewal_on=DAY + timedelta(days=91)), 0),
        (AccountContext("X", renewal_on=DAY - timedelta(days=1)), 0),  # past: unknown
        (AccountContext("X", health=39), 2),
        (AccountContext("X", health=69), 1),
        (AccountContext("X", health=70), 0),
        (AccountContext("X", executive_visibility=True), 1),
        (AccountContext("X", competitive_risk=True), 1),
        (AccountContext("X", arr=1e6, renewal_on=DAY, health=10, executive_visibility=True,
                        competitive_risk=True), 8),
    ],
)  # fmt: skip
def test_business_context_points(ctx, points):
    assert context_points(ctx, DAY, POLICY)[0] == points


@pytest.mark.parametrize(
    ("base", "points", "level"),
    [(6, 2, "medium"), (6, 3, "high"), (12, 3, "critical"), (16, 9, "critical"), (1, 3, "medium")],
)
def test_context_lifts_one_level(base, points, level):
    assert level_of(base, points, POLICY) == level


@pytest.mark.parametrize(
    ("segment", "level", "hours"),
    [
        ("enterprise", "critical", 2),
        ("enterprise", "low", 72),
        ("mid-market", "high", 8),
        ("mid-market", "medium", 48),
        ("smb", "high", 24),
        ("smb", "low", 168),
        ("unknown", "high", 24),  # an unknown segment gets SMB's targets
    ],
)
def test_segment_response_targets(segment, level, hours):
    assert response_hours(segment, level, POLICY) == hours


def test_a_policy_file_tunes_part_of_the_targets_and_causes():
    policy = Policy.model_validate(
        {"early_warning": {"priority": {"response_hours": {"enterprise": {"high": 2}}},
                           "causes": {"ticket_cluster": {"impact": "high"}}}}
    )  # fmt: skip
    assert response_hours("enterprise", "high", policy) == 2
    assert response_hours("enterprise", "low", policy) == 72  # untouched levels keep defaults
    assert response_hours("smb", "medium", policy) == 72  # and so do untouched segments
    spec = policy.early_warning.causes["ticket_cluster"]
    assert (spec.impact, spec.urgency, spec.reason) == ("high", "high", "experience")


def test_response_targets_from_policy():
    policy = Policy.model_validate(
        {"early_warning": {"priority": {"response_hours": {"smb": {"critical": 1, "high": 2,
                                                                   "medium": 3, "low": 4}}}}}
    )  # fmt: skip
    assert response_hours("smb", "medium", policy) == 3


def test_queue_order_after_level_and_impact_times_urgency():
    """Same level and impact × urgency: ARR, then days to renewal, health, executive
    visibility, competitive risk."""
    base = {"segment": "mid-market"}
    contexts = {
        "arr-high": AccountContext("arr-high", arr=20_000, **base),
        "arr-low": AccountContext("arr-low", arr=10_000, **base),
        "renew-soon": AccountContext("renew-soon", arr=10_000, renewal_on=DAY + timedelta(
            days=120), **base),
        "renew-late": AccountContext("renew-late", arr=10_000, renewal_on=DAY + timedelta(
            days=200), **base),
        "health-low": AccountContext("health-low", arr=10_000, renewal_on=DAY + timedelta(
            days=200), health=71, **base),
        "exec": AccountContext("exec", arr=10_000, renewal_on=DAY + timedelta(days=200),
                               health=71, executive_visibility=True, **base),
        "competitor": AccountContext("competitor", arr=10_000, renewal_on=DAY + timedelta(
            days=200), health=71, executive_visibility=True, competitive_risk=True, **base),
    }  # fmt: skip
    items = [(a, "usage_drop", "medium", "high") for a in reversed(list(contexts))]
    items.append(("urgent", "failed_login_burst", "critical", "high"))  # higher level first
    items.append(("wider", "usage_drop", "high", "high"))  # same level, larger base
    order = [a for a, _, _ in ranked(items, contexts, DAY, POLICY)]
    assert order == [
        "urgent",
        "wider",
        "arr-high",
        "renew-soon",
        "competitor",
        "exec",
        "health-low",
        "renew-late",
        "arr-low",
    ]


def test_rank_key_puts_unknown_renewal_and_health_last():
    known = AccountContext("k", renewal_on=DAY + timedelta(days=300), health=90)
    unknown = AccountContext("u")
    pk = priority("low", "low", known, DAY, POLICY)
    pu = priority("low", "low", unknown, DAY, POLICY)
    assert rank_key(pk, known) < rank_key(pu, unknown)
