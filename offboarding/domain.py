"""The playbook's nouns as plain data: accounts, requests, cases, reasons (PLAYBOOK §1–§2).

Pure: no I/O, no Prefect. Everything here can be built from JSON and compared in tests.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Account",
    "BillingPeriod",
    "CancellationRequest",
    "CaseStatus",
    "Channel",
    "Contact",
    "Owner",
    "Reason",
    "ReasonCategory",
    "Segment",
    "STRUCTURAL_REASONS",
    "ADDRESSABLE_REASONS",
    "OPEN_STATUSES",
    "WAITING_STATUSES",
]


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(value: str) -> str:
    """A plain shape check: a message to a malformed address is a lost message."""
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"malformed email address: {value!r}")
    return value.lower()


EmailStr = Annotated[str, AfterValidator(check_email)]


class Segment(StrEnum):
    enterprise = "enterprise"
    mid_market = "mid-market"
    smb = "smb"


class BillingPeriod(StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    annual = "annual"


class Channel(StrEnum):
    support_ticket = "support_ticket"
    email = "email"
    portal = "portal"
    csm = "csm"


class ReasonCategory(StrEnum):
    """§2 reason taxonomy, at high resolution."""

    outcome = "outcome"
    expectation = "expectation"
    experience = "experience"
    cost = "cost"
    business_closure = "business_closure"
    acquisition = "acquisition"
    bankruptcy = "bankruptcy"
    downsizing = "downsizing"
    policy_change = "policy_change"
    competitor = "competitor"
    product_gap = "product_gap"
    misunderstanding = "misunderstanding"
    other = "other"


#: §2 structural churn: the business itself changed; §3 accepts closure, acquisition, bankruptcy.
STRUCTURAL_REASONS = frozenset(
    {
        ReasonCategory.business_closure,
        ReasonCategory.acquisition,
        ReasonCategory.bankruptcy,
        ReasonCategory.downsizing,
        ReasonCategory.policy_change,
    }
)

#: §3 "an addressable reason": something we could fix.
ADDRESSABLE_REASONS = frozenset(
    {
        ReasonCategory.product_gap,
        ReasonCategory.misunderstanding,
        ReasonCategory.outcome,
        ReasonCategory.expectation,
        ReasonCategory.experience,
        ReasonCategory.cost,
    }
)


class CaseStatus(StrEnum):
    """Case statuses in the playbook's words."""

    received = "received"
    awaiting_requester_confirmation = "awaiting_requester_confirmation"
    awaiting_verification = "awaiting_verification"
    awaiting_save_outcome = "awaiting_save_outcome"
    awaiting_approval = "awaiting_approval"
    offboarding = "offboarding"
    closed = "closed"
    saved = "saved"
    not_a_cancellation = "not_a_cancellation"
    escalated = "escalated"
    purged = "purged"
    unconfirmed = "unconfirmed"  # nobody authorised confirmed a stranger's request in time
    refused_by_account = "refused_by_account"  # the account said "this wasn't us"


WAITING_STATUSES = frozenset(
    {
        CaseStatus.awaiting_requester_confirmation,
        CaseStatus.awaiting_verification,
        CaseStatus.awaiting_save_outcome,
        CaseStatus.awaiting_approval,
        CaseStatus.escalated,
    }
)
OPEN_STATUSES = WAITING_STATUSES | {CaseStatus.received, CaseStatus.offboarding}


class Owner(BaseModel):
    """The named person who signs every customer message (§1)."""

    name: str
    title: str
    email: EmailStr
    phone: str


class Contact(BaseModel):
    name: str
    email: EmailStr
    role: str = "admin"
    is_champion: bool = False


class Account(BaseModel):
    model_config = ConfigDict(use_enum_values=False)

    account_id: str = Field(min_length=1, max_length=64)
    name: str
    segment: Segment
    arr: float = Field(ge=0, description="Annual recurring revenue, in the account's currency")
    currency: str = "USD"
    contract_start: date
    contract_end: date
    notice_period_days: int = Field(default=0, ge=0)
    prepaid_amount: float = Field(default=0, ge=0, description="Prepaid for the current period")
    billing_period: BillingPeriod = BillingPeriod.monthly
    health: int = Field(default=50, ge=0, le=100, description="Health score 0–100")
    strategic: bool = False
    reference: bool = False
    expansion_potential: bool = False
    relationship_strong: bool = False
    #: Seed 003: joins for a season (a tournament, a busy quarter) and leaves after it.
    seasonal: bool = False
    season: str = Field(default="", description="Which season brings them, e.g. 'spring'")
    region: str = "US"
    locale: str = "en"
    timezone: str = "UTC"
    owner: Owner
    contacts: list[Contact] = Field(default_factory=list)
    #: The account's ids in the systems we integrate with, e.g. {"stripe_subscription":
    #: "sub_..."}: an adapter that finds its id here does not have to search the vendor.
    external_ids: dict[str, str] = Field(default_factory=dict)

    @field_validator("contract_end")
    @classmethod
    def _end_after_start(cls, v: date, info):  # noqa: ANN001
        start = info.data.get("contract_start")
        if start and v < start:
            raise ValueError("contract_end is before contract_start")
        return v

    def tenure_years(self, on: date) -> float:
        """Tenure counts from the contract start; the playbook values long relationships."""
        return max(0.0, (on - self.contract_start).days / 365.25)

    @property
    def is_eu(self) -> bool:
        return self.region.upper() in EU_REGIONS


EU_REGIONS = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE EU".split()
)


class CancellationRequest(BaseModel):
    """What arrives from a channel (§1). The external reference makes it idempotent."""

    account_id: str
    channel: Channel = Channel.email
    requested_by: EmailStr
    requested_at: datetime
    reason_text: str = ""
    wished_date: date | None = None
    external_ref: str | None = Field(default=None, max_length=200)
    declines_sales_conversation: bool = False
    firm_decision: bool = False


class Reason(BaseModel):
    """The reason as captured at verification (§2)."""

    category: ReasonCategory
    detail: str = ""
    competitor_name: str | None = None
    competitor_contract_signed: bool = False
    product_gap: str | None = None
    preventable: bool | None = None
    missed_warning_signs: str = ""


# -- the win-back vocabulary (§11): the policy and the win-back rules both speak it --------


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
