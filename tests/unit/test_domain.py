"""The playbook's nouns: validation of accounts, contacts and requests."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from offboarding.domain import (
    OPEN_STATUSES,
    STRUCTURAL_REASONS,
    WAITING_STATUSES,
    CaseStatus,
    Contact,
    ReasonCategory,
    check_email,
)
from tests.unit.conftest import make_account, make_owner, make_request


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "plainaddress",
        "no-at-sign.example.com",
        "missing-domain@",
        "@missing-local.com",
        "no-tld@example",
        "two@@example.com",
        "sp ace@example.com",
        "a@b@c.com",
    ],
)
def test_malformed_email_rejected(bad):
    with pytest.raises(ValueError, match="malformed email"):
        check_email(bad)
    with pytest.raises(ValidationError):
        Contact(name="X", email=bad)
    with pytest.raises(ValidationError):
        make_owner(email=bad)
    with pytest.raises(ValidationError):
        make_request(requested_by=bad)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("pat@acme.example", "pat@acme.example"),
        ("  Pat.Customer@ACME.example ", "pat.customer@acme.example"),
        ("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"),
    ],
)
def test_valid_email_normalised(raw, clean):
    assert check_email(raw) == clean
    assert make_request(requested_by=raw).requested_by == clean


def test_contract_end_before_start_rejected():
    with pytest.raises(ValidationError, match="contract_end is before contract_start"):
        make_account(contract_start=date(2025, 6, 1), contract_end=date(2025, 5, 31))


def test_contract_end_equal_to_start_accepted():
    account = make_account(contract_start=date(2025, 6, 1), contract_end=date(2025, 6, 1))
    assert account.contract_end == account.contract_start


@pytest.mark.parametrize(
    "field_value",
    [
        {"arr": -1},
        {"notice_period_days": -5},
        {"prepaid_amount": -0.01},
        {"health": 101},
        {"account_id": ""},
        {"segment": "galactic"},
    ],
)
def test_account_rejects_invalid_fields(field_value):
    with pytest.raises(ValidationError):
        make_account(**field_value)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("DE", True),
        ("fr", True),
        ("EU", True),
        ("IE", True),
        ("US", False),
        ("GB", False),
        ("CH", False),
        ("NO", False),
    ],
)
def test_is_eu(region, expected):
    assert make_account(region=region).is_eu is expected


@pytest.mark.parametrize(
    ("on", "years"),
    [
        (date(2024, 1, 1), 0.0),
        (date(2023, 6, 1), 0.0),  # before the contract start: never negative
        (date(2025, 1, 1), 366 / 365.25),
    ],
)
def test_tenure_years(on, years):
    assert make_account(contract_start=date(2024, 1, 1)).tenure_years(on) == pytest.approx(years)


def test_structural_reasons():
    assert {
        ReasonCategory.business_closure,
        ReasonCategory.acquisition,
        ReasonCategory.bankruptcy,
        ReasonCategory.downsizing,
        ReasonCategory.policy_change,
    } == STRUCTURAL_REASONS


def test_open_and_waiting_statuses():
    assert WAITING_STATUSES <= OPEN_STATUSES
    assert CaseStatus.received in OPEN_STATUSES
    assert CaseStatus.offboarding in OPEN_STATUSES
    for terminal in (
        CaseStatus.closed,
        CaseStatus.saved,
        CaseStatus.not_a_cancellation,
        CaseStatus.purged,
    ):
        assert terminal not in OPEN_STATUSES
