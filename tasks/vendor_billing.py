"""Billing at Stripe for one case, each call made once through the ledger (`call_once`).

Two steps, both replay-safe (Stripe's Idempotency-Key is our (case, step) key) and both with a
reconcile that looks for their own effect at Stripe first, so a replay after a lost worker
(even past Stripe's 24-hour key retention) never acts twice:
- `cancel_subscription` when offboarding starts (§5): `cancel_at` = the agreed closure day's
  end in the account's time zone, no prorations; never an immediate cancel. The closure
  stage asks again (a no-op when done), so a call a person released is made before billing.
- `final_refund` at final billing (§7): the invoice's `refund_due`, in the currency's minor
  units, as a Refund on the payment of the last paid invoice, or a credit note when that
  invoice is still open. Nothing when refund_due is 0.
With Stripe off (no STRIPE_API_KEY) both return None and nothing changes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from offboarding.cases.store import get_account, get_case
from offboarding.domain import Account
from offboarding.integrations import ledger
from offboarding.integrations.billing_rules import (
    RefundRoute,
    cancel_at,
    cancel_at_refusal,
    from_minor_units,
    minor_units,
    refund_route,
)
from offboarding.integrations.errors import VendorUnavailable
from offboarding.integrations.stripe_billing import (
    VENDOR,
    NotSent,
    StripeBilling,
    billing_from_settings,
)
from offboarding.storage.db import utcnow
from offboarding.storage.models import InvoiceRow
from tasks.common import db
from tasks.integrations import call_once

CANCEL_STEP = "cancel_subscription"
REFUND_STEP = "final_refund"


def schedule_cancellation(
    case_id: str, billing: StripeBilling | None = None, now: datetime | None = None
) -> dict[str, Any] | None:
    """Set the subscription's cancel_at to the agreed closure day's end (once); None when off."""
    billing = billing or billing_from_settings()
    if billing is None:
        return None
    with db() as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        closure_on = date.fromisoformat(case.plan["closure_on"])
    ends_at = cancel_at(closure_on, account.timezone)
    summary = {
        "subscription": account.external_ids.get("stripe_subscription") or "search by metadata",
        "closure_on": closure_on.isoformat(),
        "timezone": account.timezone,
        "cancel_at": ends_at,
        "proration_behavior": "none",
    }
    metadata = {"offboarding_case": case_id, "offboarding_closure_on": closure_on.isoformat()}

    def call(key: str) -> dict[str, Any]:
        refusal = cancel_at_refusal(ends_at, now or utcnow())
        if refusal:
            raise NotSent(refusal)
        sub_id = billing.find_subscription(account)
        return billing.schedule_cancellation(sub_id, ends_at, key, metadata)

    def reconcile(key: str) -> dict[str, Any] | None:
        try:
            sub = billing.subscription(billing.find_subscription(account))
        except (VendorUnavailable, NotSent):
            return None  # the call itself replays with the same key, or says why not
        if sub.get("cancel_at") != ends_at:
            return None
        return {"subscription": sub["id"], "cancel_at": ends_at, "status": sub.get("status")}

    return call_once(case_id, VENDOR, CANCEL_STEP, summary, call, reconcile=reconcile)


def refund_final_invoice(
    case_id: str, billing: StripeBilling | None = None
) -> dict[str, Any] | None:
    """Give back the final invoice's refund_due at Stripe (once); None when off."""
    billing = billing or billing_from_settings()
    if billing is None:
        return None
    with db() as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        invoice = s.get(InvoiceRow, case_id)
        if invoice is None:
            raise LookupError(f"case {case_id} has no final invoice yet")
        refund_due, currency = Decimal(invoice.refund_due), invoice.data["currency"]
        closure_on = invoice.data["closure_on"]
        cancelled = ledger.find(s, VENDOR, case_id, CANCEL_STEP)
        known_sub = (cancelled.result or {}).get("subscription") if cancelled else None
    amount = minor_units(refund_due, currency)
    if amount == 0:
        return {"route": None, "amount": 0, "currency": currency, "why": "no refund due"}
    summary = {"refund_due": str(refund_due), "currency": currency, "amount": amount}

    def target() -> tuple[dict[str, Any], RefundRoute, str | None]:
        """The invoice to refund against, how, and (for a refund) its payment intent."""
        invoice_at_stripe = billing.last_invoice(known_sub or billing.find_subscription(account))
        if invoice_at_stripe is None:
            raise NotSent(f"no paid or open invoice for {account.account_id}; refund by hand")
        route = refund_route(invoice_at_stripe.get("status"))
        if route is None:
            raise NotSent(f"invoice {invoice_at_stripe['id']} is {invoice_at_stripe['status']}")
        if str(invoice_at_stripe["currency"]).upper() != currency.upper():
            raise NotSent(
                f"invoice {invoice_at_stripe['id']} is in {invoice_at_stripe['currency']}, our "
                f"refund of {from_minor_units(amount, currency)} is in {currency}"
            )
        pi = None
        if route == RefundRoute.refund:
            pi = billing.payment_intent_of(invoice_at_stripe["id"])
            if pi is None:
                raise NotSent(f"paid invoice {invoice_at_stripe['id']} has no payment intent")
        return invoice_at_stripe, route, pi

    def call(key: str) -> dict[str, Any]:
        inv, route, pi = target()
        metadata = _metadata(case_id, account, key)
        if route == RefundRoute.refund:
            done = billing.refund(pi, amount, key, metadata)
        else:
            memo = f"Pro-rata refund of the prepaid period after closure on {closure_on}"
            done = billing.credit_note(inv["id"], amount, memo, key, metadata)
        return {"route": str(route), "invoice": inv["id"], **done}

    def reconcile(key: str) -> dict[str, Any] | None:
        try:
            inv, route, pi = target()
            if route == RefundRoute.refund:
                found = billing.find_refund(pi, key)
                return found and {"route": str(route), "invoice": inv["id"],
                                  "refund": found["id"], "amount": found["amount"]}  # fmt: skip
            found = billing.find_credit_note(inv["id"], key)
            return found and {"route": str(route), "invoice": inv["id"],
                              "credit_note": found["id"], "amount": found["amount"]}  # fmt: skip
        except (VendorUnavailable, NotSent):
            return None

    return call_once(case_id, VENDOR, REFUND_STEP, summary, call, reconcile=reconcile)


def _metadata(case_id: str, account: Account, key: str) -> dict[str, str]:
    """On the Stripe object: who it is for, and our key (how `reconcile` finds it again)."""
    return {
        "offboarding_case": case_id,
        "account_id": account.account_id,
        "offboarding_key": key,
        "reason": "pro-rata refund of prepaid period (final invoice)",
    }
