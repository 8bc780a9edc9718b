"""The win-back vocabulary (§11), in one small module the policy and the rules both import."""

from __future__ import annotations

from enum import StrEnum


class SignalType(StrEnum):
    """Trigger events that justify a win-back outreach (§11, seed 003)."""

    competitor_acquired = "competitor_acquired"
    competitor_price_change = "competitor_price_change"
    stack_pain_post = "stack_pain_post"
    growth_phase = "growth_phase"
    feature_shipped = "feature_shipped"
    champion_moved = "champion_moved"
    season_returns = "season_returns"


#: Signals about a competitor: they match the accounts that left for it, or one account.
COMPETITOR_TYPES = frozenset({SignalType.competitor_acquired, SignalType.competitor_price_change})


class OutreachStatus(StrEnum):
    """Where one outreach stands. Every status counts against the account's contact gap."""

    to_send = "to_send"  # selected tonight, message not sent yet (a rerun sends it)
    sent = "sent"
    awaiting_review = "awaiting_review"  # strategic: the owner reviews first (a human step)
    declined = "declined"  # the owner decided not to reach out this time
    lead = "lead"  # champion_moved: a lead for the new company, worked by the owner
