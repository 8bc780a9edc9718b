"""§4 approval routing: written rules decide who must approve, and who may.

Manager for high value or unusual situations; legal when contract terms are affected.
The requester never approves their own case.
"""

from __future__ import annotations

from dataclasses import dataclass

from offboarding.policy import ApprovalPolicy


@dataclass(frozen=True)
class ApprovalNeeds:
    """Facts about a case that routing reads; computed from the plan and the account."""

    arr: float
    unusual: bool = False
    early_termination: bool = False
    notice_waived: bool = False
    refund_amount: float = 0.0
    refund_due_by_terms: float = 0.0


@dataclass(frozen=True)
class Route:
    role: str
    reasons: tuple[str, ...]


def route_approvals(needs: ApprovalNeeds, policy: ApprovalPolicy) -> list[Route]:
    """The approvals a case needs, in order (manager first, then legal), each with its why."""
    routes: list[Route] = []
    manager = []
    if needs.arr >= policy.manager_arr_threshold:
        manager.append("high_value")
    if needs.unusual:
        manager.append("unusual_situation")
    if manager:
        routes.append(Route("manager", tuple(manager)))
    legal = []
    if needs.early_termination:
        legal.append("early_termination")
    if needs.notice_waived:
        legal.append("notice_waived")
    if needs.refund_amount > needs.refund_due_by_terms + policy.refund_beyond_terms_tolerance:
        legal.append("refund_beyond_terms")
    if legal:
        routes.append(Route("legal", tuple(legal)))
    return routes


@dataclass(frozen=True)
class ApproverCheck:
    allowed: bool
    why: str


def check_approver(approver: str, role: str, requester: str, holders: set[str]) -> ApproverCheck:
    """Only holders of the role may decide, and never on a request they made themselves."""
    who = approver.strip().lower()
    if who == requester.strip().lower():
        return ApproverCheck(False, f"{approver} made this request and cannot approve it")
    if who not in holders:
        return ApproverCheck(False, f"{approver} does not hold the {role} role")
    return ApproverCheck(True, f"{approver} holds the {role} role")
