"""§7 final billing: pro-rata refund of prepaid amounts and the final invoice.

Money is Decimal, rounded half-up to cents at the end: an invoice must add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from offboarding.cases.timeline import add_months
from offboarding.domain import Account, BillingPeriod

CENT = Decimal("0.01")
_MONTHS = {BillingPeriod.monthly: 1, BillingPeriod.quarterly: 3, BillingPeriod.annual: 12}


def money(x: float | Decimal | str) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def current_period(account: Account, on: date) -> tuple[date, date]:
    """The billing period containing `on`, counted from the contract start; end exclusive."""
    months = _MONTHS[BillingPeriod(account.billing_period)]
    start = account.contract_start
    n = 0
    while add_months(account.contract_start, (n + 1) * months) <= on:
        n += 1
    start = add_months(account.contract_start, n * months)
    return start, add_months(account.contract_start, (n + 1) * months)


def prorata_refund(account: Account, closure_on: date) -> Decimal:
    """Prepaid amount for the unused days of the current period, per contract terms."""
    if account.prepaid_amount <= 0:
        return money(0)
    start, end = current_period(account, closure_on)
    total = (end - start).days
    # Never refund more than was prepaid (closure before the contract starts).
    unused = min(total, max(0, (end - closure_on).days))
    return money(Decimal(str(account.prepaid_amount)) * unused / total)


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    amount: Decimal


@dataclass(frozen=True)
class FinalInvoice:
    account_id: str
    currency: str
    issued_on: date
    closure_on: date
    lines: tuple[InvoiceLine, ...] = field(default_factory=tuple)

    @property
    def total(self) -> Decimal:
        return money(sum((line.amount for line in self.lines), Decimal(0)))

    @property
    def refund_due(self) -> Decimal:
        return money(max(Decimal(0), -self.total))

    @property
    def amount_due(self) -> Decimal:
        return money(max(Decimal(0), self.total))

    def to_dict(self) -> dict:
        return {
            "account_id": self.account_id,
            "currency": self.currency,
            "issued_on": self.issued_on.isoformat(),
            "closure_on": self.closure_on.isoformat(),
            "lines": [{"description": x.description, "amount": str(x.amount)} for x in self.lines],
            "total": str(self.total),
            "amount_due": str(self.amount_due),
            "refund_due": str(self.refund_due),
        }


def final_invoice(
    account: Account,
    closure_on: date,
    outstanding_balance: float = 0.0,
    refund_override: float | None = None,
) -> FinalInvoice:
    """The last invoice: outstanding balance collected, prepaid time refunded, nothing after."""
    start, end = current_period(account, closure_on)
    lines = []
    if outstanding_balance:
        lines.append(InvoiceLine("Outstanding balance", money(outstanding_balance)))
    refund = (
        money(refund_override)
        if refund_override is not None
        else prorata_refund(account, closure_on)
    )
    if refund:
        last = end - timedelta(days=1)
        lines.append(
            InvoiceLine(f"Pro-rata refund of prepaid period, {closure_on} to {last}", -refund)
        )
    return FinalInvoice(account.account_id, account.currency, closure_on, closure_on, tuple(lines))
