"""Small factories for the pure-core unit tests. Fixed dates only, never date.today()."""

from __future__ import annotations

from datetime import date, datetime

from offboarding.domain import (
    Account,
    BillingPeriod,
    CancellationRequest,
    Owner,
    Reason,
    ReasonCategory,
    Segment,
)
from offboarding.policy import Policy, SavePolicy

#: The day the cancellation is confirmed in most tests (a Monday).
CONFIRMED = date(2025, 3, 3)
TODAY = CONFIRMED


def make_owner(**overrides) -> Owner:
    data = {
        "name": "Casey CSM",
        "title": "Customer Success Manager",
        "email": "casey.csm@example.com",
        "phone": "+1 555 0100",
    }
    data.update(overrides)
    return Owner(**data)


def make_account(**overrides) -> Account:
    """A mid-sized, ordinary, monthly customer that triggers no save criterion on its own."""
    data = {
        "account_id": "acc-001",
        "name": "Acme Widgets",
        "segment": Segment.mid_market,
        "arr": 20_000.0,
        "contract_start": date(2024, 1, 1),
        "contract_end": date(2026, 12, 31),
        "billing_period": BillingPeriod.monthly,
        "owner": make_owner(),
    }
    data.update(overrides)
    return Account(**data)


def make_request(**overrides) -> CancellationRequest:
    data = {
        "account_id": "acc-001",
        "requested_by": "pat.customer@acme.example",
        "requested_at": datetime(2025, 3, 3, 9, 30),
    }
    data.update(overrides)
    return CancellationRequest(**data)


def make_reason(category: ReasonCategory = ReasonCategory.other, **overrides) -> Reason:
    return Reason(category=category, **overrides)


def make_save_policy(**overrides) -> SavePolicy:
    return SavePolicy(**overrides)


def make_policy(**overrides) -> Policy:
    return Policy(**overrides)
