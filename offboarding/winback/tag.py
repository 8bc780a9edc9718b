"""§10 close-out win-back tag: who is worth a respectful reminder in 6–12 months."""

from __future__ import annotations

from datetime import date

from offboarding.cases.timeline import add_months
from offboarding.domain import ADDRESSABLE_REASONS, Account, Reason, ReasonCategory
from offboarding.policy import Policy

#: Structural churn returns only through people (a champion moving), never by reminder.
#: The policy's `winback.structural_reasons` is the list in force; this is its default.
NO_REMINDER = frozenset(
    {ReasonCategory.bankruptcy, ReasonCategory.business_closure, ReasonCategory.acquisition}
)


def winback_tag(
    account: Account, reason: Reason, closed_on: date, policy: Policy, clean_break: bool = False
) -> tuple[bool, date | None, str]:
    """(candidate, reminder date, why)."""
    if clean_break:
        return False, None, "the customer asked for a clean break"
    if str(reason.category) in policy.winback.structural_reasons:
        return False, None, f"structural churn ({reason.category}): only a champion who moves"
    if reason.category == ReasonCategory.competitor and not (
        account.strategic or account.expansion_potential or account.reference
    ):
        return False, None, "competitor loss of a low-potential account"
    good = (
        account.strategic
        or account.reference
        or account.expansion_potential
        or account.arr >= policy.save.low_value_arr_threshold
        or reason.category in ADDRESSABLE_REASONS
    )
    if not good:
        return False, None, "low value and no addressable reason"
    remind = add_months(closed_on, policy.winback.reminder_months[0])
    return True, remind, "good candidate: reminder in 6–12 months, watch trigger events"
