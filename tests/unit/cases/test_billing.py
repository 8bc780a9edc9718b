"""§7 final billing: pro-rata refund of prepaid amounts and the final invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from offboarding.cases.billing import current_period, final_invoice, money, prorata_refund
from offboarding.domain import BillingPeriod
from tests.unit.conftest import make_account


def billed(period: BillingPeriod, prepaid: float, start: date = date(2025, 1, 1), **kw):
    return make_account(
        billing_period=period,
        prepaid_amount=prepaid,
        contract_start=start,
        contract_end=date(2026, 12, 31),
        **kw,
    )


@pytest.mark.parametrize(
    ("period", "prepaid", "closure", "expected"),
    [
        # March: 31 days, 15 unused (17th to 31st) -> 300 * 15/31
        (BillingPeriod.monthly, 300, date(2025, 3, 17), Decimal("145.16")),
        # Q1: 90 days, 15 unused -> 900 * 15/90
        (BillingPeriod.quarterly, 900, date(2025, 3, 17), Decimal("150.00")),
        # 2025: 365 days, 290 unused -> 12000 * 290/365
        (BillingPeriod.annual, 12_000, date(2025, 3, 17), Decimal("9534.25")),
        # closing on the first day of a period refunds the whole period
        (BillingPeriod.monthly, 300, date(2025, 3, 1), Decimal("300.00")),
        (BillingPeriod.quarterly, 900, date(2025, 4, 1), Decimal("900.00")),
        # closing on the last day of a period refunds that one day
        (BillingPeriod.monthly, 310, date(2025, 3, 31), Decimal("10.00")),
    ],
)
def test_prorata_refund(period, prepaid, closure, expected):
    assert prorata_refund(billed(period, prepaid), closure) == expected


@pytest.mark.parametrize(
    "period", [BillingPeriod.monthly, BillingPeriod.quarterly, BillingPeriod.annual]
)
def test_no_prepaid_means_no_refund(period):
    refund = prorata_refund(billed(period, 0), date(2025, 3, 17))
    assert refund == Decimal("0.00")
    assert refund.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("period", "on", "expected"),
    [
        (BillingPeriod.monthly, date(2025, 3, 17), (date(2025, 3, 1), date(2025, 4, 1))),
        (BillingPeriod.monthly, date(2025, 1, 1), (date(2025, 1, 1), date(2025, 2, 1))),
        (BillingPeriod.quarterly, date(2025, 4, 1), (date(2025, 4, 1), date(2025, 7, 1))),
        (BillingPeriod.annual, date(2026, 6, 1), (date(2026, 1, 1), date(2027, 1, 1))),
    ],
)
def test_current_period(period, on, expected):
    assert current_period(billed(period, 0), on) == expected


@pytest.mark.parametrize(
    ("closure", "period", "expected"),
    [
        # contract started Jan 31: periods are Jan 31–Feb 27, Feb 28–Mar 30, Mar 31–Apr 29 ...
        (date(2025, 2, 14), (date(2025, 1, 31), date(2025, 2, 28)), Decimal("140.00")),
        (date(2025, 2, 28), (date(2025, 2, 28), date(2025, 3, 31)), Decimal("280.00")),
        (date(2025, 3, 1), (date(2025, 2, 28), date(2025, 3, 31)), Decimal("270.97")),
        (date(2025, 4, 15), (date(2025, 3, 31), date(2025, 4, 30)), Decimal("140.00")),
    ],
)
def test_month_end_edge_contract_started_jan_31(closure, period, expected):
    account = billed(BillingPeriod.monthly, 280, start=date(2025, 1, 31))
    assert current_period(account, closure) == period
    assert prorata_refund(account, closure) == expected


@pytest.mark.parametrize(
    ("prepaid", "closure", "expected"),
    [
        (Decimal("10.05"), date(2025, 4, 16), Decimal("5.03")),  # 5.025 rounds half up
        (100, date(2025, 4, 21), Decimal("33.33")),  # 33.333...
        (100, date(2025, 4, 11), Decimal("66.67")),  # 66.666...
        (0.01, date(2025, 4, 30), Decimal("0.00")),  # 0.000333... rounds to nothing
    ],
)
def test_refund_rounding_to_cents(prepaid, closure, expected):
    refund = prorata_refund(billed(BillingPeriod.monthly, float(prepaid)), closure)
    assert refund == expected
    assert refund.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1 + 0.2, Decimal("0.30")),
        ("2.675", Decimal("2.68")),
        (2.675, Decimal("2.68")),  # via str(), not the binary float 2.67499...
        (Decimal("-1.005"), Decimal("-1.01")),
        (7, Decimal("7.00")),
    ],
)
def test_money_rounds_half_up_to_cents(value, expected):
    assert money(value) == expected
    assert money(value).as_tuple().exponent == -2


def test_refund_never_exceeds_prepaid_when_closing_before_contract_start():
    account = billed(BillingPeriod.monthly, 300, start=date(2025, 4, 1))
    assert prorata_refund(account, date(2025, 3, 17)) == Decimal("300.00")


# --- final invoice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outstanding", "prepaid", "total", "amount_due", "refund_due", "n_lines"),
    [
        # outstanding 500 minus refund 145.16
        (500, 300, Decimal("354.84"), Decimal("354.84"), Decimal("0.00"), 2),
        # refund larger than the outstanding balance: we owe the customer
        (100, 300, Decimal("-45.16"), Decimal("0.00"), Decimal("45.16"), 2),
        # refund only
        (0, 300, Decimal("-145.16"), Decimal("0.00"), Decimal("145.16"), 1),
        # outstanding only
        (80.5, 0, Decimal("80.50"), Decimal("80.50"), Decimal("0.00"), 1),
        # nothing either way
        (0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 0),
        # exactly balanced
        (Decimal("145.16"), 300, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 2),
    ],
)
def test_final_invoice_totals(outstanding, prepaid, total, amount_due, refund_due, n_lines):
    account = billed(BillingPeriod.monthly, prepaid)
    inv = final_invoice(account, date(2025, 3, 17), outstanding_balance=float(outstanding))
    assert inv.total == total
    assert inv.amount_due == amount_due
    assert inv.refund_due == refund_due
    assert len(inv.lines) == n_lines
    assert inv.total == sum((line.amount for line in inv.lines), Decimal(0))


def test_final_invoice_lines_and_dict():
    account = billed(BillingPeriod.monthly, 300, currency="EUR")
    inv = final_invoice(account, date(2025, 3, 17), outstanding_balance=500)
    assert [(x.description, x.amount) for x in inv.lines] == [
        ("Outstanding balance", Decimal("500.00")),
        ("Pro-rata refund of prepaid period, 2025-03-17 to 2025-03-31", Decimal("-145.16")),
    ]
    assert inv.account_id == "acc-001"
    assert inv.issued_on == inv.closure_on == date(2025, 3, 17)
    assert inv.to_dict() == {
        "account_id": "acc-001",
        "currency": "EUR",
        "issued_on": "2025-03-17",
        "closure_on": "2025-03-17",
        "lines": [
            {"description": "Outstanding balance", "amount": "500.00"},
            {
                "description": "Pro-rata refund of prepaid period, 2025-03-17 to 2025-03-31",
                "amount": "-145.16",
            },
        ],
        "total": "354.84",
        "amount_due": "354.84",
        "refund_due": "0.00",
    }


@pytest.mark.parametrize(
    ("override", "refund_due", "n_lines"),
    [(50, Decimal("50.00"), 1), (0, Decimal("0.00"), 0), (99.999, Decimal("100.00"), 1)],
)
def test_final_invoice_refund_override(override, refund_due, n_lines):
    account = billed(BillingPeriod.monthly, 300)
    inv = final_invoice(account, date(2025, 3, 17), refund_override=override)
    assert inv.refund_due == refund_due
    assert len(inv.lines) == n_lines
