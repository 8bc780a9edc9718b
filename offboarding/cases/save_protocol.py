"""§3 save attempt protocol: when to try to keep a customer, and when to let go gracefully.

"Accept" criteria beat "attempt" criteria; the conversation cap protects the customer.
Seasonal subscribers (seed 003) are accepted without a save attempt: they leave when their
season ends and come back when it returns, so they are invited again rather than held back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from offboarding.domain import (
    ADDRESSABLE_REASONS,
    Account,
    CancellationRequest,
    Reason,
    ReasonCategory,
)
from offboarding.policy import SavePolicy

#: §3 accepts closure, acquisition and bankruptcy without a save attempt.
STRUCTURAL_ACCEPT = frozenset(
    {ReasonCategory.business_closure, ReasonCategory.acquisition, ReasonCategory.bankruptcy}
)


@dataclass(frozen=True)
class SaveDecision:
    attempt: bool
    max_conversations: int
    attempt_criteria: tuple[str, ...]
    accept_criteria: tuple[str, ...]

    @property
    def why(self) -> str:
        if self.accept_criteria:
            return "accept without save attempt: " + ", ".join(self.accept_criteria)
        if self.attempt_criteria:
            return "attempt a save: " + ", ".join(self.attempt_criteria)
        return "accept: no save criterion met"


def attempt_criteria(
    account: Account, reason: Reason, policy: SavePolicy, today: date
) -> tuple[str, ...]:
    """Every §3 'attempt' criterion that holds, by name."""
    met = []
    if account.arr >= policy.strategic_arr_threshold:
        met.append("high_value")
    if account.expansion_potential:
        met.append("high_expansion_potential")
    if account.strategic or account.reference:
        met.append("strategic_or_reference")
    if reason.category in ADDRESSABLE_REASONS:
        met.append("addressable_reason")
    if account.tenure_years(today) >= policy.long_tenure_years and account.relationship_strong:
        met.append("long_tenure_strong_relationship")
    return tuple(met)


def accept_criteria(
    account: Account, request: CancellationRequest, reason: Reason, policy: SavePolicy
) -> tuple[str, ...]:
    """Every §3 'accept without attempt' criterion that holds, by name."""
    met = []
    if account.arr < policy.low_value_arr_threshold:
        met.append("low_value")
    if request.declines_sales_conversation:
        met.append("declines_sales_conversation")
    if reason.category in STRUCTURAL_ACCEPT:
        met.append("structural_churn")
    if reason.category == ReasonCategory.competitor and reason.competitor_contract_signed:
        met.append("competitor_contract_signed")
    if request.firm_decision:
        met.append("firm_decision")
    if account.seasonal:
        # seed 003: don't hold back a seasonal subscriber; invite them when the season returns
        met.append("seasonal_subscriber")
    return tuple(met)


def max_conversations(account: Account, policy: SavePolicy) -> int:
    """At most one save conversation; two for strategic accounts; never more."""
    return policy.max_conversations_strategic if account.strategic else policy.max_conversations


def decide_save(
    account: Account,
    request: CancellationRequest,
    reason: Reason,
    policy: SavePolicy,
    today: date,
) -> SaveDecision:
    attempts = attempt_criteria(account, reason, policy, today)
    accepts = accept_criteria(account, request, reason, policy)
    return SaveDecision(
        attempt=bool(attempts) and not accepts,
        max_conversations=max_conversations(account, policy),
        attempt_criteria=attempts,
        accept_criteria=accepts,
    )


def may_hold_another_conversation(
    held: int, customer_declined: bool, account: Account, policy: SavePolicy
) -> bool:
    """A decline ends the attempt; the cap is never exceeded."""
    return not customer_declined and held < max_conversations(account, policy)
