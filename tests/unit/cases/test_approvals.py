"""§4 approval routing and who may decide."""

from __future__ import annotations

import pytest

from offboarding.cases.approvals import ApprovalNeeds, Route, check_approver, route_approvals
from offboarding.policy import ApprovalPolicy
from tests.unit.conftest import make_policy

POLICY = ApprovalPolicy()
HOLDERS = make_policy().holders


def roles(routes: list[Route]) -> list[str]:
    return [r.role for r in routes]


@pytest.mark.parametrize(
    ("arr", "expected"),
    [
        (99_999.99, []),
        (100_000, [Route("manager", ("high_value",))]),
        (1_000_000, [Route("manager", ("high_value",))]),
    ],
)
def test_manager_for_high_value(arr, expected):
    assert route_approvals(ApprovalNeeds(arr=arr), POLICY) == expected


def test_manager_for_high_value_follows_policy_threshold():
    policy = ApprovalPolicy(manager_arr_threshold=10_000)
    assert roles(route_approvals(ApprovalNeeds(arr=20_000), policy)) == ["manager"]


def test_manager_for_unusual_situation():
    routes = route_approvals(ApprovalNeeds(arr=1_000, unusual=True), POLICY)
    assert routes == [Route("manager", ("unusual_situation",))]


def test_manager_reasons_combine():
    routes = route_approvals(ApprovalNeeds(arr=150_000, unusual=True), POLICY)
    assert routes == [Route("manager", ("high_value", "unusual_situation"))]


def test_legal_for_early_termination():
    routes = route_approvals(ApprovalNeeds(arr=1_000, early_termination=True), POLICY)
    assert routes == [Route("legal", ("early_termination",))]


def test_legal_for_notice_waived():
    routes = route_approvals(ApprovalNeeds(arr=1_000, notice_waived=True), POLICY)
    assert routes == [Route("legal", ("notice_waived",))]


@pytest.mark.parametrize(
    ("refund", "by_terms", "tolerance", "needs_legal"),
    [
        (100.0, 100.0, 0.0, False),  # exactly per terms
        (100.01, 100.0, 0.0, True),  # a cent beyond terms
        (50.0, 100.0, 0.0, False),  # less than terms
        (120.0, 100.0, 25.0, False),  # within the tolerance
        (130.0, 100.0, 25.0, True),  # beyond the tolerance
        (10.0, 0.0, 0.0, True),  # any refund where terms give none
    ],
)
def test_legal_for_refund_beyond_terms(refund, by_terms, tolerance, needs_legal):
    policy = ApprovalPolicy(refund_beyond_terms_tolerance=tolerance)
    needs = ApprovalNeeds(arr=1_000, refund_amount=refund, refund_due_by_terms=by_terms)
    expected = [Route("legal", ("refund_beyond_terms",))] if needs_legal else []
    assert route_approvals(needs, policy) == expected


def test_no_approval_for_small_ordinary_case():
    assert route_approvals(ApprovalNeeds(arr=12_000), POLICY) == []


def test_manager_routed_before_legal_with_all_reasons():
    needs = ApprovalNeeds(
        arr=500_000,
        unusual=True,
        early_termination=True,
        notice_waived=True,
        refund_amount=900.0,
        refund_due_by_terms=500.0,
    )
    assert route_approvals(needs, POLICY) == [
        Route("manager", ("high_value", "unusual_situation")),
        Route("legal", ("early_termination", "notice_waived", "refund_beyond_terms")),
    ]


@pytest.mark.parametrize(
    ("approver", "requester"),
    [
        ("maya.manager@example.com", "maya.manager@example.com"),
        ("Maya.Manager@Example.com", "maya.manager@example.com"),
        ("maya.manager@example.com", "  MAYA.MANAGER@example.com "),
    ],
)
def test_requester_never_approves_own_case(approver, requester):
    result = check_approver(approver, "manager", requester, HOLDERS("manager"))
    assert result.allowed is False
    assert "cannot approve" in result.why


@pytest.mark.parametrize(
    ("approver", "role"),
    [
        ("lena.legal@example.com", "manager"),  # holds a different role
        ("maya.manager@example.com", "legal"),
        ("random.person@example.com", "manager"),
        ("cs-lead@example.com", "cfo"),  # unknown role has no holders
    ],
)
def test_non_holder_refused(approver, role):
    result = check_approver(approver, role, "casey.csm@example.com", HOLDERS(role))
    assert result.allowed is False
    assert f"does not hold the {role} role" in result.why


@pytest.mark.parametrize(
    ("approver", "role"),
    [
        ("maya.manager@example.com", "manager"),
        ("cs-lead@example.com", "manager"),
        (" Lena.Legal@Example.com ", "legal"),
    ],
)
def test_holder_allowed(approver, role):
    result = check_approver(approver, role, "casey.csm@example.com", HOLDERS(role))
    assert result.allowed is True
    assert f"holds the {role} role" in result.why


def test_holders_are_case_insensitive():
    policy = make_policy(approvals=ApprovalPolicy(roles={"manager": ["Boss@Example.COM"]}))
    assert policy.holders("manager") == {"boss@example.com"}
    assert check_approver(
        "boss@example.com", "manager", "x@example.com", policy.holders("manager")
    ).allowed
